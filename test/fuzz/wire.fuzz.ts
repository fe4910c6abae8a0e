/**
 * Fuzzing the peer-wire decoder (message streams, random, valid and mutated, cut into random chunks) and the BEP 10
 * extension codecs (extended handshake, ut_metadata, ut_pex).
 */
import fc from "fast-check"
import { isIP } from "node:net"
import { describe } from "vitest"
import {
  decodeExtendedHandshake,
  decodeMetadataMessage,
  decodePexMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataMessage,
  encodePexMessage,
  type ExtendedHandshake,
  MAX_BLOCK,
  MAX_METADATA_SIZE,
  MAX_UNKNOWN_BITFIELD,
  type Message,
  METADATA_PIECE_SIZE,
  type MetadataMessage,
  OUR_RESERVED,
  type PexMessage,
  WireDecoder,
  WireError
} from "../../src/wire/index.js"
import { chunksOf, ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

const PIECES = 77

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.constantFrom<Message>(
    { type: "keepAlive" },
    { type: "choke" },
    { type: "unchoke" },
    { type: "interested" },
    { type: "notInterested" }
  ),
  fc.integer({ min: 0, max: PIECES - 1 }).map((index): Message => ({ type: "have", index })),
  fc.constant<Message>({ type: "bitfield", bits: new Uint8Array(Math.ceil(PIECES / 8)) }),
  fc.tuple(fc.integer({ min: 0, max: PIECES - 1 }), fc.nat(), fc.integer({ min: 1, max: MAX_BLOCK })).chain((
    [index, begin, length]
  ) => fc.constantFrom<Message>({ type: "request", index, begin, length }, { type: "cancel", index, begin, length })),
  fc.tuple(fc.integer({ min: 0, max: PIECES - 1 }), fc.nat(), fc.uint8Array({ maxLength: 64 })).map((
    [index, begin, block]
  ): Message => ({ type: "piece", index, begin, block })),
  fc.integer({ min: 0, max: 65535 }).map((port): Message => ({ type: "port", port })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 32 })).map((
    [id, payload]
  ): Message => ({ type: "extended", id, payload }))
)

const handshake = encodeHandshake({
  reserved: OUR_RESERVED,
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2)
})

/** A handshake (or not) followed by up to 12 messages, sometimes with a message of an unknown id. */
const validStreams: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.boolean(),
  fc.array(message, { maxLength: 12 }),
  fc.option(fc.tuple(fc.integer({ min: 21, max: 255 }), fc.uint8Array({ maxLength: 16 })), { nil: undefined })
).map(([withHandshake, messages, unknown]) => {
  const parts = [...(withHandshake ? [handshake] : []), ...messages.map(encodeMessage)]
  if (unknown !== undefined) {
    const [id, payload] = unknown
    const frame = Buffer.alloc(5 + payload.length)
    frame.writeUInt32BE(1 + payload.length, 0)
    frame[4] = id
    frame.set(payload, 5)
    parts.splice(parts.length >> 1, 0, frame)
  }
  return new Uint8Array(Buffer.concat(parts))
})

const cases = fc.record({
  stream: fuzzInputs(validStreams),
  cuts: fc.array(fc.nat({ max: 4096 }), { maxLength: 8 }),
  pieceCount: fc.oneof(fc.constant(PIECES), fc.integer({ min: 1, max: 2000 }), fc.constant(undefined)),
  expectHandshake: fc.boolean(),
  maxExtendedLength: fc.option(fc.integer({ min: 0, max: 4096 }), { nil: undefined })
})

/** A decoder's answer is its value or a BadExtension WireError. */
const isError = (result: unknown): result is WireError => {
  if (!(result instanceof WireError)) return false
  ensure(result.reason === "BadExtension", "a malformed extension message is BadExtension")
  return true
}

const port = fc.integer({ min: 0, max: 65535 })
const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom("example.com", "::ffff:1.2.3.4", "fe80::1%eth0"))

const validHandshakes: fc.Arbitrary<Uint8Array> = fc.record(
  {
    m: fc.array(fc.tuple(fc.constantFrom("ut_metadata", "ut_pex", "lt_donthave", "x"), fc.integer({ max: 255 })))
      .map((entries) => new Map(entries)),
    v: fc.string({ maxLength: 16 }),
    p: port,
    reqq: fc.integer({ min: 1, max: 1000 }),
    yourip: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    metadataSize: fc.integer({ min: 1, max: MAX_METADATA_SIZE })
  },
  { requiredKeys: ["m"] }
).map((handshake: ExtendedHandshake) => encodeExtendedHandshake(handshake))

/** Metadata messages, data pieces kept small (a metadata of at most 3 pieces, the last one short). */
const validMetadata: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(fc.constantFrom("request" as const, "reject" as const), fc.integer({ min: 0, max: 1100 })).map((
    [type, piece]
  ): MetadataMessage => ({ type, piece })),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 600 })).map(([piece, last]): MetadataMessage => {
    const totalSize = piece * METADATA_PIECE_SIZE + last
    return { type: "data", piece, totalSize, data: new Uint8Array(last) }
  })
).map(encodeMetadataMessage)

const validPex: fc.Arbitrary<Uint8Array> = fc.record({
  added: fc.array(fc.record({ host, port, flags: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }),
  dropped: fc.array(fc.record({ host, port }), { maxLength: 12 })
}).map((message: PexMessage) => encodePexMessage(message))

describe("fuzz: wire", () => {
  fuzzTarget("wire decoder (random chunks)", cases, ({ cuts, expectHandshake, maxExtendedLength, pieceCount, stream }) => {
    const decoder = new WireDecoder({
      pieceCount,
      expectHandshake,
      ...(maxExtendedLength === undefined ? {} : { maxExtendedLength })
    })
    // The most a decoder may hold for one message: a block, a bitfield, an extended message (plus a prefix).
    const bitfield = pieceCount === undefined ? MAX_UNKNOWN_BITFIELD : Math.ceil(pieceCount / 8)
    const limit = Math.max(9 + MAX_BLOCK, 1 + bitfield, 2 + (maxExtendedLength ?? 1024 * 1024))
    const inRange = (index: number) => pieceCount === undefined || index < pieceCount
    let handshakes = 0
    const sink = {
      onHandshake: () => {
        handshakes++
      },
      onMessage: (m: Message) => {
        // Only what the rest of the client may rely on gets out.
        switch (m.type) {
          case "have":
            return ensure(inRange(m.index), "no have past the end")
          case "bitfield":
            return ensure(
              pieceCount === undefined ? m.bits.length <= bitfield : m.bits.length === bitfield,
              "no bitfield of the wrong size"
            )
          case "request":
          case "cancel":
            return ensure(inRange(m.index), "no request past the end")
          case "piece":
            return ensure(inRange(m.index) && m.block.length <= MAX_BLOCK, "no block past the end or too long")
          case "extended":
            return ensure(m.payload.length <= (maxExtendedLength ?? 1024 * 1024), "no extended message too long")
          default:
            return
        }
      }
    }
    let error: WireError | undefined
    for (const chunk of chunksOf(stream, cuts)) {
      const result = decoder.push(chunk, sink)
      if (result !== undefined) {
        ensure(result instanceof WireError, "the error is a WireError")
        ensure(error === undefined || result === error, "the same error after the first")
        error = result
      }
      ensure(decoder.buffered <= limit, "it holds at most one message")
    }
    ensure(handshakes <= (expectHandshake ? 1 : 0), "one handshake at most, where expected")
    if (error !== undefined) {
      // A failed decoder refuses everything after, and holds nothing.
      ensure(decoder.push(new Uint8Array([0, 0, 0, 0]), sink) === error, "it refuses input after an error")
      ensure(decoder.buffered === 0, "it holds nothing after an error")
      return false
    }
    return true
  })

  fuzzTarget("extended handshake", fuzzInputs(validHandshakes), (payload) => {
    const result = decodeExtendedHandshake(payload)
    if (isError(result)) return false
    ensure([...result.m.values()].every((id) => Number.isInteger(id) && id >= 0 && id <= 255), "m ids in 0..255")
    ensure(result.p === undefined || (result.p >= 1 && result.p <= 65535), "p is a port")
    ensure(result.reqq === undefined || result.reqq >= 1, "reqq is positive")
    ensure(result.yourip === undefined || [4, 16].includes(result.yourip.length), "yourip is an address")
    ensure(
      result.metadataSize === undefined || (result.metadataSize >= 1 && result.metadataSize <= MAX_METADATA_SIZE),
      "metadata_size in range"
    )
    return true
  })

  fuzzTarget("ut_metadata message", fuzzInputs(validMetadata, 1024), (payload) => {
    const result = decodeMetadataMessage(payload)
    if (isError(result)) return false
    if (result.type === "data") {
      const expected = Math.min(METADATA_PIECE_SIZE, result.totalSize - result.piece * METADATA_PIECE_SIZE)
      ensure(result.totalSize >= 1 && result.totalSize <= MAX_METADATA_SIZE, "total_size in range")
      ensure(expected >= 1 && result.data.length === expected, "data of its piece's length")
    }
    return true
  })

  fuzzTarget("ut_pex message", fc.tuple(fuzzInputs(validPex), fc.integer({ min: 0, max: 60 })), ([payload, max]) => {
    const result = decodePexMessage(payload, max)
    if (isError(result)) return false
    ensure(result.added.length <= max && result.dropped.length <= max, "at most maxPeers")
    for (const peer of [...result.added, ...result.dropped]) {
      ensure(isIP(peer.host) !== 0 && peer.port >= 1 && peer.port <= 65535, "an address and a port")
    }
    ensure(result.added.every((peer) => peer.flags >= 0 && peer.flags <= 255), "flags are a byte")
    return true
  })
})
