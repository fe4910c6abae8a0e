/** Fuzzing the peer-wire decoder: message streams (random, valid and mutated) cut into random chunks. */
import fc from "fast-check"
import { describe } from "vitest"
import {
  encodeHandshake,
  encodeMessage,
  MAX_BLOCK,
  type Message,
  OUR_RESERVED,
  WireDecoder,
  WireError
} from "../../src/wire/index.js"
import { ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

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
  pieceCount: fc.oneof(fc.constant(PIECES), fc.integer({ min: 1, max: 2000 })),
  expectHandshake: fc.boolean(),
  maxExtendedLength: fc.option(fc.integer({ min: 0, max: 4096 }), { nil: undefined })
})

/** The chunks of `stream` between the sorted cut points. */
const chunksOf = (stream: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const point of [...points, stream.length]) {
    chunks.push(stream.subarray(from, point))
    from = point
  }
  return chunks
}


describe("fuzz: wire", () => {
  fuzzTarget("wire decoder (random chunks)", cases, ({ cuts, expectHandshake, maxExtendedLength, pieceCount, stream }) => {
    const decoder = new WireDecoder({
      pieceCount,
      expectHandshake,
      ...(maxExtendedLength === undefined ? {} : { maxExtendedLength })
    })
    // The most a decoder may hold for one message: a block, a bitfield, an extended message (plus a prefix).
    const limit = Math.max(9 + MAX_BLOCK, 1 + Math.ceil(pieceCount / 8), 2 + (maxExtendedLength ?? 1024 * 1024))
    let handshakes = 0
    const sink = {
      onHandshake: () => {
        handshakes++
      },
      onMessage: (m: Message) => {
        // Only what the rest of the client may rely on gets out.
        switch (m.type) {
          case "have":
            return ensure(m.index < pieceCount, "no have past the end")
          case "bitfield":
            return ensure(m.bits.length === Math.ceil(pieceCount / 8), "no bitfield of the wrong size")
          case "request":
          case "cancel":
            return ensure(m.index < pieceCount, "no request past the end")
          case "piece":
            return ensure(m.index < pieceCount && m.block.length <= MAX_BLOCK, "no block past the end or too long")
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
})
