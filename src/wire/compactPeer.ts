import { isIPv4, isIPv6 } from "node:net"

/**
 * Compact peer addresses (BEP 23 for IPv4, BEP 7 for IPv6, reused by PEX and the DHT): the address in network
 * order, then a big-endian port. Addresses are written as Node writes them (`inet_ntop`), so a peer learned here
 * compares equal to the same peer seen on a socket.
 */

export const COMPACT_IPV4_LENGTH = 6
export const COMPACT_IPV6_LENGTH = 18

export interface PeerAddress {
  readonly host: string
  readonly port: number
}

const ipv4Text = (bytes: Uint8Array, at: number): string =>
  `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`

const ipv6Text = (bytes: Uint8Array, at: number): string => {
  const words = Array.from({ length: 8 }, (_, i) => (bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]!)
  // The first longest run of two or more zero words becomes "::" (RFC 5952).
  let best = 0
  let bestLength = 0
  for (let i = 0; i < 8;) {
    let end = i
    while (end < 8 && words[end] === 0) end++
    if (end - i > bestLength) [best, bestLength] = [i, end - i]
    i = Math.max(end, i + 1)
  }
  // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted form, as inet_ntop has it.
  if (best === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff))) {
    return `::${bestLength === 5 ? "ffff:" : ""}${ipv4Text(bytes, at + 12)}`
  }
  const hex = (part: ReadonlyArray<number>) => part.map((word) => word.toString(16)).join(":")
  if (bestLength < 2) return hex(words)
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLength))}`
}

/** The 16 bytes of an IPv6 literal that `isIPv6` accepted (no zone). */
const ipv6Bytes = (text: string): Uint8Array => {
  const wordsOf = (part: string): Array<number> =>
    part === "" ? [] : part.split(":").flatMap((group) => {
      if (!group.includes(".")) return [parseInt(group, 16)]
      const [a, b, c, d] = group.split(".").map(Number) as [number, number, number, number]
      return [(a << 8) | b, (c << 8) | d]
    })
  const [head, tail] = text.split("::") as [string, string | undefined]
  const left = wordsOf(head)
  const right = tail === undefined ? [] : wordsOf(tail)
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  const out = Buffer.alloc(16)
  words.forEach((word, i) => out.writeUInt16BE(word, 2 * i))
  return out
}

/**
 * The 4 or 16 bytes of an IPv4 or IPv6 literal (an IPv4-mapped IPv6 literal stays 16 bytes); `undefined` for
 * anything else, including a DNS name and an IPv6 address with a zone (`fe80::1%eth0` means nothing elsewhere).
 */
export const encodeIp = (host: string): Uint8Array | undefined => {
  if (isIPv4(host)) return Uint8Array.from(host.split("."), Number)
  if (isIPv6(host) && !host.includes("%")) return ipv6Bytes(host)
  return undefined
}

/** An address of 4 or 16 bytes as text; `undefined` for any other length. */
export const decodeIp = (bytes: Uint8Array): string | undefined =>
  bytes.length === 4 ? ipv4Text(bytes, 0) : bytes.length === 16 ? ipv6Text(bytes, 0) : undefined

/**
 * A peer in compact form: 6 bytes for an IPv4 host, 18 for IPv6. `undefined` unless the host is an IP literal (see
 * `encodeIp`) and the port an integer in 0..65535 (0 serves when only the address matters, as for `yourip`).
 */
export const encodeCompactPeer = (peer: PeerAddress): Uint8Array | undefined => {
  const ip = encodeIp(peer.host)
  if (ip === undefined || !Number.isInteger(peer.port) || peer.port < 0 || peer.port > 0xffff) return undefined
  const out = new Uint8Array(ip.length + 2)
  out.set(ip)
  out[ip.length] = peer.port >> 8
  out[ip.length + 1] = peer.port & 0xff
  return out
}

/** One compact peer of exactly 6 or 18 bytes (its port may be 0); `undefined` for any other length. */
export const decodeCompactPeer = (entry: Uint8Array): PeerAddress | undefined => {
  // 4 or 16 address bytes: exactly the two compact lengths.
  const host = decodeIp(entry.subarray(0, Math.max(0, entry.length - 2)))
  if (host === undefined) return undefined
  return { host, port: (entry[entry.length - 2]! << 8) | entry[entry.length - 1]! }
}

/**
 * Appends the peers of a compact list of `size`-byte entries to `out`, skipping port 0 (no peer listens there),
 * until `out` holds `max`; says whether peers were left out. `make` gets each entry's index in the list (PEX flags
 * are matched by it). The list's length must be a multiple of `size`.
 */
export const readCompactPeers = <P>(
  list: Uint8Array,
  size: typeof COMPACT_IPV4_LENGTH | typeof COMPACT_IPV6_LENGTH,
  max: number,
  out: Array<P>,
  make: (host: string, port: number, index: number) => P
): boolean => {
  for (let at = 0; at + size <= list.length; at += size) {
    const port = (list[at + size - 2]! << 8) | list[at + size - 1]!
    if (port === 0) continue
    if (out.length >= max) return true
    out.push(make(size === COMPACT_IPV4_LENGTH ? ipv4Text(list, at) : ipv6Text(list, at), port, at / size))
  }
  return false
}

/**
 * A compact peer list (as in a tracker's `peers`/`peers6`, PEX's `added`, the DHT's `values`), in order, port 0
 * skipped; `undefined` when its length is not a whole number of entries.
 */
export const decodeCompactPeers = (bytes: Uint8Array, family: "ipv4" | "ipv6"): Array<PeerAddress> | undefined => {
  const size = family === "ipv4" ? COMPACT_IPV4_LENGTH : COMPACT_IPV6_LENGTH
  if (bytes.length % size !== 0) return undefined
  const peers: Array<PeerAddress> = []
  readCompactPeers(bytes, size, Infinity, peers, (host, port) => ({ host, port }))
  return peers
}
