import type { PeerAddress } from "./types.js"

/** Bytes per peer in the compact formats (BEP 23 for IPv4, BEP 7 for IPv6): address, then a big-endian port. */
export const COMPACT_IPV4 = 6
export const COMPACT_IPV6 = 18

const ipv6 = (bytes: Uint8Array, at: number): string => {
  const groups: Array<string> = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[at + i]! << 8) | bytes[at + i + 1]!).toString(16))
  // Shorten the first longest run of two or more zero groups (RFC 5952), so equal addresses print equally.
  let start = 0
  let length = 0
  for (let i = 0, run = 0; i < 8; i++) {
    run = groups[i] === "0" ? run + 1 : 0
    if (run > length) [start, length] = [i - run + 1, run]
  }
  if (length < 2) return groups.join(":")
  return `${groups.slice(0, start).join(":")}::${groups.slice(start + length).join(":")}`
}

/**
 * Decodes a compact peer list. Entries with port 0 are skipped (no peer listens there) and duplicates are
 * dropped; a trailing partial entry is ignored. Never throws.
 */
export const decodeCompactPeers = (bytes: Uint8Array, family: "ipv4" | "ipv6"): Array<PeerAddress> => {
  const size = family === "ipv4" ? COMPACT_IPV4 : COMPACT_IPV6
  const seen = new Set<string>()
  const peers: Array<PeerAddress> = []
  for (let at = 0; at + size <= bytes.length; at += size) {
    const port = (bytes[at + size - 2]! << 8) | bytes[at + size - 1]!
    if (port === 0) continue
    const host = family === "ipv4"
      ? `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`
      : ipv6(bytes, at)
    const key = `${host}|${port}`
    if (seen.has(key)) continue
    seen.add(key)
    peers.push({ host, port })
  }
  return peers
}
