/** The BitTorrent handshake (BEP 3): `<19>"BitTorrent protocol"<8 reserved><20 info-hash><20 peer id>`. */
import { copyBytes } from "./bytes.js"

export const PROTOCOL = "BitTorrent protocol"
export const HANDSHAKE_LENGTH = 68

export interface Handshake {
  /** 8 bytes of capability bits. */
  readonly reserved: Uint8Array
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
}

/** Capability bits in the reserved bytes: `[byte index, mask]`. */
export const Capability = {
  /** BEP 10 extension protocol. */
  extensions: [5, 0x10],
  /** BEP 6 Fast extension. */
  fast: [7, 0x04],
  /** BEP 5 DHT (`port` message). */
  dht: [7, 0x01],
  /**
   * BEP 52: the torrent has v2 data and we speak the hash messages. Set only for a v2 or hybrid torrent: libtorrent
   * drops a peer that sets it on a v1-only one.
   */
  v2: [7, 0x10]
} as const satisfies Record<string, readonly [number, number]>

export type CapabilityName = keyof typeof Capability

export const reservedBytes = (capabilities: ReadonlyArray<CapabilityName>): Uint8Array => {
  const reserved = new Uint8Array(8)
  for (const name of capabilities) {
    const [byte, mask] = Capability[name]
    reserved[byte]! |= mask
  }
  return reserved
}

export const supports = (reserved: Uint8Array, name: CapabilityName): boolean => {
  const [byte, mask] = Capability[name]
  return ((reserved[byte] ?? 0) & mask) !== 0
}

/** What we announce: the extension protocol (BEP 10) and the Fast extension (BEP 6). */
export const OUR_RESERVED = reservedBytes(["extensions", "fast"])
/** The same, when we run a DHT node (BEP 5): peers then tell us their DHT port, and we tell them ours. */
export const OUR_RESERVED_DHT = reservedBytes(["extensions", "fast", "dht"])

/** What we announce for a torrent: the v2 bit added when it has v2 data (BEP 52). */
export const ourReserved = (dht: boolean, v2: boolean): Uint8Array =>
  v2 ? reservedBytes(["extensions", "fast", ...(dht ? ["dht" as const] : []), "v2"]) : dht ? OUR_RESERVED_DHT : OUR_RESERVED

export const encodeHandshake = (handshake: Handshake): Uint8Array => {
  const out = Buffer.alloc(HANDSHAKE_LENGTH)
  out[0] = PROTOCOL.length
  out.write(PROTOCOL, 1, "latin1")
  out.set(handshake.reserved.subarray(0, 8), 20)
  out.set(handshake.infoHash.subarray(0, 20), 28)
  out.set(handshake.peerId.subarray(0, 20), 48)
  return out
}

/** Checks the protocol string of a complete 68-byte handshake and splits it, or says what is wrong. */
export const decodeHandshake = (bytes: Uint8Array): Handshake | string => {
  if (bytes.length < HANDSHAKE_LENGTH) return "handshake too short"
  if (bytes[0] !== PROTOCOL.length) return `not a BitTorrent handshake (protocol length ${bytes[0]})`
  for (let i = 0; i < PROTOCOL.length; i++) {
    if (bytes[1 + i] !== PROTOCOL.charCodeAt(i)) return "not a BitTorrent handshake (wrong protocol string)"
  }
  return {
    reserved: copyBytes(bytes, 20, 28),
    infoHash: copyBytes(bytes, 28, 48),
    peerId: copyBytes(bytes, 48, 68)
  }
}
