/**
 * BEP 11, ut_pex: peers tell each other of the peers they connected to (`added`, with a flags byte each in
 * `added.f`) and dropped, in compact form, IPv4 and IPv6 in separate keys. Pure codecs, no I/O.
 */
import { encode, isBytes } from "../bencode/index.js"
import {
  COMPACT_IPV4_LENGTH,
  COMPACT_IPV6_LENGTH,
  encodeCompactPeer,
  type PeerAddress,
  readCompactPeers
} from "./compactPeer.js"
import { badExtension, decodeDict } from "./extensionDict.js"
import { WireError } from "./WireError.js"

export interface PexPeer {
  readonly host: string
  readonly port: number
  /** `PexFlag` bits. */
  readonly flags: number
}

export interface PexMessage {
  /** From `added` + `added.f`, then `added6` + `added6.f`. */
  readonly added: ReadonlyArray<PexPeer>
  /** From `dropped`, then `dropped6`. */
  readonly dropped: ReadonlyArray<PeerAddress>
}

/** BEP 11 flags. */
export const PexFlag = { encryption: 0x01, seed: 0x02, utp: 0x04, holepunch: 0x08, outgoing: 0x10 } as const

interface CompactLists {
  readonly v4: Array<Uint8Array>
  readonly v6: Array<Uint8Array>
  readonly flags4: Array<number>
  readonly flags6: Array<number>
}

/** Sorts peers into IPv4 and IPv6 lists by the host's form, leaving out hosts that are not IP literals and port 0. */
const compactLists = (peers: ReadonlyArray<PeerAddress & { readonly flags?: number }>): CompactLists => {
  const lists: CompactLists = { v4: [], v6: [], flags4: [], flags6: [] }
  for (const peer of peers) {
    const compact = peer.port === 0 ? undefined : encodeCompactPeer(peer)
    if (compact === undefined) continue
    const v4 = compact.length === COMPACT_IPV4_LENGTH
    ;(v4 ? lists.v4 : lists.v6).push(compact)
    ;(v4 ? lists.flags4 : lists.flags6).push((peer.flags ?? 0) & 0xff)
  }
  return lists
}

/** Leaves an empty list's key out. */
const ifAny = (bytes: Uint8Array): Uint8Array | undefined => (bytes.length > 0 ? bytes : undefined)

/**
 * The payload of a ut_pex message. `added`, `added.f` and `dropped` are always written; the IPv6 keys only when
 * they have peers.
 */
export const encodePexMessage = (message: PexMessage): Uint8Array => {
  const added = compactLists(message.added)
  const dropped = compactLists(message.dropped)
  return encode({
    added: Buffer.concat(added.v4),
    "added.f": Uint8Array.from(added.flags4),
    added6: ifAny(Buffer.concat(added.v6)),
    "added6.f": ifAny(Uint8Array.from(added.flags6)),
    dropped: Buffer.concat(dropped.v4),
    dropped6: ifAny(Buffer.concat(dropped.v6))
  })
}

const EMPTY = new Uint8Array(0)

/**
 * Decodes a ut_pex message. At most `maxPeers` of `added` and of `dropped` are kept (the rest ignored, `truncated`
 * set); peers with port 0 are skipped; a flag missing from a short `added.f` reads as 0. A key of the wrong type,
 * or a compact list that is not a whole number of entries, is an error. Nothing in the result refers to `payload`.
 */
export const decodePexMessage = (
  payload: Uint8Array,
  maxPeers: number
): (PexMessage & { readonly truncated: boolean }) | WireError => {
  const dict = decodeDict(payload, "PEX message")
  if (dict instanceof WireError) return dict
  let error: WireError | undefined
  /** A byte-string key (empty when absent), checked to hold whole entries of `entry` bytes. */
  const list = (key: string, entry: number): Uint8Array => {
    const value = dict.get(key)
    if (value === undefined) return EMPTY
    if (!isBytes(value)) error ??= badExtension(`PEX message: ${key} is not a byte string`)
    else if (value.length % entry !== 0) {
      error ??= badExtension(`PEX message: ${key} of ${value.length} bytes is not a list of ${entry}-byte entries`)
    } else return value
    return EMPTY
  }
  const added4 = list("added", COMPACT_IPV4_LENGTH)
  const flags4 = list("added.f", 1)
  const added6 = list("added6", COMPACT_IPV6_LENGTH)
  const flags6 = list("added6.f", 1)
  const dropped4 = list("dropped", COMPACT_IPV4_LENGTH)
  const dropped6 = list("dropped6", COMPACT_IPV6_LENGTH)
  if (error !== undefined) return error

  const added: Array<PexPeer> = []
  const dropped: Array<PeerAddress> = []
  const withFlags = (flags: Uint8Array) => (host: string, port: number, index: number): PexPeer => ({
    host,
    port,
    flags: flags[index] ?? 0
  })
  const address = (host: string, port: number): PeerAddress => ({ host, port })
  const truncated = [
    readCompactPeers(added4, COMPACT_IPV4_LENGTH, maxPeers, added, withFlags(flags4)),
    readCompactPeers(added6, COMPACT_IPV6_LENGTH, maxPeers, added, withFlags(flags6)),
    readCompactPeers(dropped4, COMPACT_IPV4_LENGTH, maxPeers, dropped, address),
    readCompactPeers(dropped6, COMPACT_IPV6_LENGTH, maxPeers, dropped, address)
  ].some(Boolean)
  return { added, dropped, truncated }
}
