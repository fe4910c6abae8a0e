/**
 * The uTP packet (BEP 29): a 20-byte header, a chain of extensions, then the payload. Pure: no I/O.
 *
 *   0       4       8               16              24              32
 *   | type  | ver   | extension     | connection_id                 |
 *   | timestamp_microseconds                                        |
 *   | timestamp_difference_microseconds                             |
 *   | wnd_size                                                      |
 *   | seq_nr                        | ack_nr                        |
 *
 * All fields big-endian. Each extension is `<next extension type, 1 byte><len, 1 byte><len bytes>`; the header's
 * `extension` byte names the first, 0 ends the chain. Extension 1 is the selective ACK: a bitmask of at least 4
 * bytes, a multiple of 4 (we read any length: libtorrent sends others), whose bit i (least significant bit of byte 0 first) acknowledges ack_nr + 2 + i.
 * `decodePacket` answers a packet or a string saying what is wrong; it never throws.
 */

export const VERSION = 1
export const HEADER_LENGTH = 20

/** Packet types and their numbers on the wire. */
export const PacketTypeNumber = { data: 0, fin: 1, state: 2, reset: 3, syn: 4 } as const
export type PacketType = keyof typeof PacketTypeNumber
const TYPE_NAMES: ReadonlyArray<PacketType> = ["data", "fin", "state", "reset", "syn"]

export const EXTENSION_SELECTIVE_ACK = 1

/** An extension we do not know, kept as it came (its type is never 0 or EXTENSION_SELECTIVE_ACK). */
export interface UnknownExtension {
  readonly type: number
  readonly data: Uint8Array
}

export interface Packet {
  readonly type: PacketType
  /** 16 bits. */
  readonly connectionId: number
  /** 32 bits, microseconds: the sender's clock when it sent the packet. */
  readonly timestamp: number
  /** 32 bits, microseconds: the last one-way delay the sender measured from us (0 before it has one). */
  readonly timestampDifference: number
  /** 32 bits, bytes: room left in the sender's receive buffer. */
  readonly windowSize: number
  /** 16 bits each. */
  readonly seqNr: number
  readonly ackNr: number
  /** The selective ACK bitmask, if any: we send at least 4 bytes, a multiple of 4; any length is read. */
  readonly selectiveAck?: Uint8Array
  /** Other extensions, in the order they came; encoded after the selective ACK. */
  readonly extensions?: ReadonlyArray<UnknownExtension>
  readonly payload: Uint8Array
}

/** The longest bitmask an extension's 1-byte length can carry in whole 4-byte words. */
export const MAX_SACK_LENGTH = 252
/** More extensions than this in one packet is not a peer we want to talk to. */
export const MAX_EXTENSIONS = 16

/** Extensions as they go on the wire: selective ACK first, then the others. */
const extensionsOf = (packet: Packet): Array<UnknownExtension> => [
  ...(packet.selectiveAck === undefined ? [] : [{ type: EXTENSION_SELECTIVE_ACK, data: packet.selectiveAck }]),
  ...(packet.extensions ?? [])
]

/**
 * The packet's bytes. Numbers are taken modulo their field's width; a selective ACK or extension longer than 255
 * bytes is a defect of the caller (thrown as a RangeError).
 */
export const encodePacket = (packet: Packet): Uint8Array => {
  const extensions = extensionsOf(packet)
  let length = HEADER_LENGTH + packet.payload.length
  for (const extension of extensions) {
    if (extension.data.length > 255) throw new RangeError(`uTP extension ${extension.type} longer than 255 bytes`)
    length += 2 + extension.data.length
  }
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  out[0] = (PacketTypeNumber[packet.type] << 4) | VERSION
  out[1] = extensions[0]?.type ?? 0
  view.setUint16(2, packet.connectionId & 0xffff)
  view.setUint32(4, packet.timestamp >>> 0)
  view.setUint32(8, packet.timestampDifference >>> 0)
  view.setUint32(12, packet.windowSize >>> 0)
  view.setUint16(16, packet.seqNr & 0xffff)
  view.setUint16(18, packet.ackNr & 0xffff)
  let at = HEADER_LENGTH
  extensions.forEach((extension, i) => {
    out[at] = extensions[i + 1]?.type ?? 0
    out[at + 1] = extension.data.length
    out.set(extension.data, at + 2)
    at += 2 + extension.data.length
  })
  out.set(packet.payload, at)
  return out
}

/** The packet in `bytes`, or what is wrong with it. The payload and extension data are views into `bytes`. */
export const decodePacket = (bytes: Uint8Array): Packet | string => {
  if (bytes.length < HEADER_LENGTH) return `uTP packet of ${bytes.length} bytes is shorter than the 20-byte header`
  const version = bytes[0]! & 0x0f
  if (version !== VERSION) return `uTP version ${version} is not 1`
  const type = TYPE_NAMES[bytes[0]! >> 4]
  if (type === undefined) return `unknown uTP packet type ${bytes[0]! >> 4}`
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let selectiveAck: Uint8Array | undefined
  const extensions: Array<UnknownExtension> = []
  let next = bytes[1]!
  let at = HEADER_LENGTH
  for (let count = 0; next !== 0; count++) {
    if (count === MAX_EXTENSIONS) return `more than ${MAX_EXTENSIONS} uTP extensions`
    if (at + 2 > bytes.length) return `uTP extension ${next} header runs past the packet`
    const length = bytes[at + 1]!
    if (at + 2 + length > bytes.length) return `uTP extension ${next} of ${length} bytes runs past the packet`
    const data = bytes.subarray(at + 2, at + 2 + length)
    if (next === EXTENSION_SELECTIVE_ACK) {
      if (selectiveAck !== undefined) return "uTP packet with two selective ACKs"
      // BEP 29 asks for a multiple of 4 bytes; libtorrent sends other lengths too (5 was seen): any length is read.
      if (length === 0) return "uTP selective ACK of 0 bytes"
      selectiveAck = data
    } else {
      extensions.push({ type: next, data })
    }
    next = bytes[at]!
    at += 2 + length
  }
  return {
    type,
    connectionId: view.getUint16(2),
    timestamp: view.getUint32(4),
    timestampDifference: view.getUint32(8),
    windowSize: view.getUint32(12),
    seqNr: view.getUint16(16),
    ackNr: view.getUint16(18),
    ...(selectiveAck === undefined ? {} : { selectiveAck }),
    ...(extensions.length === 0 ? {} : { extensions }),
    payload: bytes.subarray(at)
  }
}
