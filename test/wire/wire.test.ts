import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  allowedFastSet,
  encodeHandshake,
  encodeMessage,
  type Handshake,
  MAX_UNKNOWN_BITFIELD,
  type Message,
  OUR_RESERVED,
  reservedBytes,
  supports,
  WireDecoder,
  type WireError
} from "../../src/wire/index.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const fromHex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"))

interface Decoded {
  readonly handshakes: Array<Handshake>
  readonly messages: Array<Message>
  readonly error: WireError | undefined
}

/**
 * Feeds `chunks` to a fresh decoder (100 pieces unless told; `pieceCount: undefined` for an unknown count), copying
 * piece blocks (they are views valid only during the call).
 */
const decodeChunks = (
  chunks: ReadonlyArray<Uint8Array>,
  options: { pieceCount?: number | undefined; expectHandshake?: boolean } = {}
): Decoded => {
  const decoder = new WireDecoder({
    pieceCount: "pieceCount" in options ? options.pieceCount : 100,
    expectHandshake: options.expectHandshake ?? false
  })
  const handshakes: Array<Handshake> = []
  const messages: Array<Message> = []
  let error: WireError | undefined
  for (const chunk of chunks) {
    error = decoder.push(chunk, {
      onHandshake: (h) => handshakes.push(h),
      onMessage: (m) =>
        messages.push(
          m.type === "piece" ? { ...m, block: Uint8Array.from(m.block) } :
            m.type === "bitfield" ? { ...m, bits: Uint8Array.from(m.bits) } :
            m.type === "extended" ? { ...m, payload: Uint8Array.from(m.payload) } :
            m
        )
    })
    if (error !== undefined) break
  }
  return { handshakes, messages, error }
}

const infoHash = fromHex("0123456789abcdef0123456789abcdef01234567")
const peerId = new Uint8Array(Buffer.from("-BT0010-abcdefghijkl", "latin1"))

describe("wire golden bytes", () => {
  it("encodes the handshake with the extension-protocol and Fast extension bits", () => {
    const bytes = encodeHandshake({ reserved: OUR_RESERVED, infoHash, peerId })
    expect(hex(bytes)).toBe(
      "13" + Buffer.from("BitTorrent protocol").toString("hex") + "0000000000100004" + hex(infoHash) + hex(peerId)
    )
    expect(supports(OUR_RESERVED, "extensions")).toBe(true)
    expect(supports(OUR_RESERVED, "fast")).toBe(true)
    expect(supports(OUR_RESERVED, "dht")).toBe(false)
    expect(hex(reservedBytes(["fast", "dht"]))).toBe("0000000000000005")
  })

  const vectors: ReadonlyArray<readonly [string, Message]> = [
    ["00000000", { type: "keepAlive" }],
    ["0000000100", { type: "choke" }],
    ["0000000101", { type: "unchoke" }],
    ["0000000102", { type: "interested" }],
    ["0000000103", { type: "notInterested" }],
    ["000000050400000063", { type: "have", index: 99 }],
    ["0000000e0500000000000000000000000010", { type: "bitfield", bits: fromHex("00000000000000000000000010") }],
    ["0000000d06000000010000400000004000", { type: "request", index: 1, begin: 16384, length: 16384 }],
    ["0000000c070000000200000000aabbcc", { type: "piece", index: 2, begin: 0, block: fromHex("aabbcc") }],
    ["0000000d08000000010000400000004000", { type: "cancel", index: 1, begin: 16384, length: 16384 }],
    ["00000003091ae1", { type: "port", port: 6881 }],
    ["0000000414036465", { type: "extended", id: 3, payload: fromHex("6465") }],
    // BEP 6
    ["000000050d00000007", { type: "suggest", index: 7 }],
    ["000000010e", { type: "haveAll" }],
    ["000000010f", { type: "haveNone" }],
    ["0000000d10000000010000400000004000", { type: "reject", index: 1, begin: 16384, length: 16384 }],
    ["000000051100000063", { type: "allowedFast", index: 99 }]
  ]
  for (const [bytes, message] of vectors) {
    it(`${message.type}: encodes and decodes ${bytes}`, () => {
      expect(hex(encodeMessage(message))).toBe(bytes)
      const decoded = decodeChunks([fromHex(bytes)])
      expect(decoded.error).toBeUndefined()
      expect(decoded.messages).toEqual([message])
    })
  }

  it("skips unknown message ids", () => {
    const decoded = decodeChunks([fromHex("00000003 ff 0102 0000000101")])
    expect(decoded.error).toBeUndefined()
    expect(decoded.messages).toEqual([{ type: "unchoke" }])
  })
})

describe("wire decoder limits", () => {
  const cases: ReadonlyArray<readonly [string, string, number, string]> = [
    ["a gigabyte length prefix", "4000000007", 100, "TooLong"],
    ["a piece block over 16 KiB", `0000400a 07 00000000 00000000`, 100, "TooLong"],
    ["a bitfield over its size, before it is buffered", "0000100005", 100, "BadBitfield"],
    ["a have of the wrong length", "0000000404000000", 100, "BadLength"],
    ["a have past the end", "000000050400000064", 100, "BadIndex"],
    ["a request past the end", "0000000d06000000640000000000004000", 100, "BadIndex"],
    ["a reject past the end", "0000000d10000000640000000000004000", 100, "BadIndex"],
    ["a have all with a payload", "000000020e00", 100, "BadLength"],
    ["a piece past the end", "0000000a0700000064000000000a", 100, "BadIndex"],
    ["a bitfield too short", "000000020500", 100, "BadBitfield"],
    ["a bitfield too long", "00000004050000ff", 9, "BadBitfield"],
    ["a bitfield with spare bits set", "0000000305ff81", 9, "BadBitfield"],
    ["a choke with a payload", "000000020000", 100, "BadLength"],
    ["an empty extended message", "0000000114", 100, "BadLength"]
  ]
  for (const [name, bytes, pieceCount, reason] of cases) {
    it(`drops ${name}`, () => {
      const decoded = decodeChunks([fromHex(bytes)], { pieceCount })
      expect(decoded.error?.reason).toBe(reason)
      expect(decoded.messages).toEqual([])
    })
  }

  it("refuses a length prefix beyond the limit before buffering anything", () => {
    const decoder = new WireDecoder({ pieceCount: 100, expectHandshake: false })
    const error = decoder.push(fromHex("7fffffff07"), { onHandshake: () => {}, onMessage: () => {} })
    expect(error?.reason).toBe("TooLong")
    expect(decoder.buffered).toBe(0)
  })

  it("checks the length against the id even when the id arrives in the next chunk", () => {
    const decoded = decodeChunks([fromHex("0000400a"), fromHex("07")])
    expect(decoded.error?.reason).toBe("TooLong")
    const decoder = new WireDecoder({ pieceCount: 100, expectHandshake: false })
    const sink = { onHandshake: () => {}, onMessage: () => {} }
    expect(decoder.push(fromHex("00004009"), sink)).toBeUndefined()
    expect(decoder.push(fromHex("07"), sink)).toBeUndefined()
    expect(decoder.buffered).toBe(1)
  })

  it("stays failed after an error", () => {
    const decoder = new WireDecoder({ pieceCount: 100, expectHandshake: false })
    const sink = { onHandshake: () => {}, onMessage: () => { throw new Error("no message after a failure") } }
    expect(decoder.push(fromHex("4000000007"), sink)?.reason).toBe("TooLong")
    expect(decoder.push(fromHex("0000000101"), sink)?.reason).toBe("TooLong")
  })

  it("rejects a handshake with the wrong protocol string", () => {
    const bytes = encodeHandshake({ reserved: OUR_RESERVED, infoHash, peerId })
    bytes[5] = 0x20
    expect(decodeChunks([bytes], { expectHandshake: true }).error?.reason).toBe("BadHandshake")
    expect(decodeChunks([fromHex("00".repeat(68))], { expectHandshake: true }).error?.reason).toBe("BadHandshake")
  })
})

describe("wire decoder before the piece count is known", () => {
  const unknown = { pieceCount: undefined }
  const sink = { onHandshake: () => {}, onMessage: () => {} }

  it("takes a bitfield of any size, spare bits and all", () => {
    for (const bits of [new Uint8Array(0), fromHex("ff"), new Uint8Array(1000).fill(0xa5)]) {
      const decoded = decodeChunks([encodeMessage({ type: "bitfield", bits })], unknown)
      expect(decoded.error).toBeUndefined()
      expect(decoded.messages).toEqual([{ type: "bitfield", bits }])
    }
  })

  it("takes a bitfield of MAX_UNKNOWN_BITFIELD bytes, and refuses a longer one before buffering it", () => {
    const largest = new Uint8Array(MAX_UNKNOWN_BITFIELD).fill(0xff)
    const decoded = decodeChunks([encodeMessage({ type: "bitfield", bits: largest })], unknown)
    expect(decoded.error).toBeUndefined()
    expect(decoded.messages).toHaveLength(1)

    const decoder = new WireDecoder({ pieceCount: undefined, expectHandshake: false })
    const prefix = Buffer.alloc(5)
    prefix.writeUInt32BE(2 + MAX_UNKNOWN_BITFIELD, 0)
    prefix[4] = 5
    expect(decoder.push(prefix, sink)?.reason).toBe("BadBitfield")
    expect(decoder.buffered).toBe(0)
  })

  it("does not bound piece indexes", () => {
    const messages: ReadonlyArray<Message> = [
      { type: "have", index: 0xffffffff },
      { type: "request", index: 1_000_000, begin: 0, length: 16384 },
      { type: "cancel", index: 1_000_000, begin: 0, length: 16384 },
      { type: "piece", index: 0xfffffffe, begin: 0, block: fromHex("01") }
    ]
    const decoded = decodeChunks([Buffer.concat(messages.map(encodeMessage))], unknown)
    expect(decoded.error).toBeUndefined()
    expect(decoded.messages).toEqual(messages)
  })

  it("checks sizes and indexes once setPieceCount has told it the count", () => {
    const decoder = new WireDecoder({ pieceCount: undefined, expectHandshake: false })
    expect(decoder.push(encodeMessage({ type: "have", index: 500 }), sink)).toBeUndefined()
    decoder.setPieceCount(9)
    expect(decoder.push(encodeMessage({ type: "have", index: 8 }), sink)).toBeUndefined()
    expect(decoder.push(encodeMessage({ type: "have", index: 9 }), sink)?.reason).toBe("BadIndex")

    const bitfields = new WireDecoder({ pieceCount: undefined, expectHandshake: false })
    bitfields.setPieceCount(9)
    expect(bitfields.push(encodeMessage({ type: "bitfield", bits: fromHex("ff") }), sink)?.reason).toBe("BadBitfield")
    const spare = new WireDecoder({ pieceCount: undefined, expectHandshake: false })
    spare.setPieceCount(9)
    expect(spare.push(encodeMessage({ type: "bitfield", bits: fromHex("ff81") }), sink)?.reason).toBe("BadBitfield")
  })

  it("still bounds lengths and other kinds", () => {
    expect(decodeChunks([fromHex("4000000007")], unknown).error?.reason).toBe("TooLong")
    expect(decodeChunks([fromHex("0000400a 07 00000000 00000000")], unknown).error?.reason).toBe("TooLong")
    expect(decodeChunks([fromHex("0000000404000000")], unknown).error?.reason).toBe("BadLength")
  })

  it("gives the same messages at every split point", () => {
    const stream = Buffer.concat([
      encodeHandshake({ reserved: OUR_RESERVED, infoHash, peerId }),
      encodeMessage({ type: "bitfield", bits: new Uint8Array(37).fill(0xff) }),
      encodeMessage({ type: "have", index: 123456 }),
      encodeMessage({ type: "extended", id: 1, payload: fromHex("6465") })
    ])
    const options = { pieceCount: undefined, expectHandshake: true }
    const whole = decodeChunks([stream], options)
    expect(whole.error).toBeUndefined()
    expect(whole.messages.map((m) => m.type)).toEqual(["bitfield", "have", "extended"])
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(decodeChunks([stream.subarray(0, cut), stream.subarray(cut)], options)).toEqual(whole)
    }
  })
})

describe("wire decoder at every split point", () => {
  const stream = Buffer.concat([
    encodeHandshake({ reserved: OUR_RESERVED, infoHash, peerId }),
    encodeMessage({ type: "bitfield", bits: fromHex("ffffffffffffffffffffffff f0") }),
    encodeMessage({ type: "unchoke" }),
    encodeMessage({ type: "keepAlive" }),
    encodeMessage({ type: "piece", index: 7, begin: 16384, block: new Uint8Array(300).map((_, i) => i) }),
    encodeMessage({ type: "have", index: 99 }),
    // A second block, other bytes: split too, it is assembled where the first was (see WireDecoder.assembly).
    encodeMessage({ type: "piece", index: 8, begin: 0, block: new Uint8Array(200).map((_, i) => 255 - i) }),
    encodeMessage({ type: "extended", id: 0, payload: new Uint8Array([100, 101]) })
  ])
  const whole = decodeChunks([stream], { expectHandshake: true })

  it("decodes the whole stream", () => {
    expect(whole.error).toBeUndefined()
    expect(whole.handshakes).toHaveLength(1)
    expect(hex(whole.handshakes[0]!.infoHash)).toBe(hex(infoHash))
    expect(whole.messages.map((m) => m.type)).toEqual(["bitfield", "unchoke", "keepAlive", "piece", "have", "piece", "extended"])
  })

  it("gives the same messages for every single split and for byte-at-a-time input", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(decodeChunks([stream.subarray(0, cut), stream.subarray(cut)], { expectHandshake: true })).toEqual(whole)
    }
    const bytes = Array.from(stream, (b) => new Uint8Array([b]))
    expect(decodeChunks(bytes, { expectHandshake: true })).toEqual(whole)
  })

  it("gives the same messages for random chunkings", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 20 }), (cuts) => {
        const points = [0, ...[...cuts].sort((a, b) => a - b), stream.length]
        const chunks = points.slice(1).map((end, i) => stream.subarray(points[i]!, end))
        expect(decodeChunks(chunks, { expectHandshake: true })).toEqual(whole)
      }),
      { numRuns: 300 }
    )
  })
})

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.constant<Message>({ type: "keepAlive" }),
  fc.constantFrom<Message>({ type: "choke" }, { type: "unchoke" }, { type: "interested" }, { type: "notInterested" }),
  fc.integer({ min: 0, max: 99 }).map((index): Message => ({ type: "have", index })),
  fc.tuple(fc.integer({ min: 0, max: 99 }), fc.nat(), fc.integer({ min: 1, max: 16384 })).chain(([index, begin, length]) =>
    fc.constantFrom<Message>({ type: "request", index, begin, length }, { type: "cancel", index, begin, length })
  ),
  fc.tuple(fc.integer({ min: 0, max: 99 }), fc.nat(), fc.uint8Array({ maxLength: 16384 })).map(
    ([index, begin, block]): Message => ({ type: "piece", index, begin, block })
  ),
  fc.integer({ min: 1, max: 65535 }).map((port): Message => ({ type: "port", port })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 })).map(
    ([id, payload]): Message => ({ type: "extended", id, payload })
  )
)

describe("wire properties", () => {
  it("round-trips random message sequences", () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 20 }), (messages) => {
        const bytes = Buffer.concat(messages.map(encodeMessage))
        const decoded = decodeChunks([bytes])
        expect(decoded.error).toBeUndefined()
        expect(decoded.messages).toEqual(messages)
      }),
      { numRuns: 200 }
    )
  })

  it("random bytes give messages or a typed error, never a throw, with bounded buffering", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), fc.boolean(), (chunks, handshake) => {
        const decoder = new WireDecoder({ pieceCount: 100, expectHandshake: handshake })
        for (const chunk of chunks) {
          const error = decoder.push(chunk, { onHandshake: () => {}, onMessage: () => {} })
          if (error !== undefined) {
            expect(error._tag).toBe("WireError")
            return
          }
          expect(decoder.buffered).toBeLessThanOrEqual(1024 * 1024 + 2)
        }
      }),
      { numRuns: 2000 }
    )
  })
})

describe("BEP 6 hints past the end", () => {
  it("drops an allowed fast or a suggest for a piece past the end, keeping the connection", () => {
    const decoded = decodeChunks([fromHex("000000051100000064 000000050d000000ff 0000000101")])
    expect(decoded.error).toBeUndefined()
    expect(decoded.messages).toEqual([{ type: "unchoke" }])
  })
})

describe("allowedFastSet (BEP 6)", () => {
  // The BEP's worked example: 1313 pieces, peer 80.4.4.200, an info-hash of twenty 0xaa bytes.
  const aa = new Uint8Array(20).fill(0xaa)
  it("gives the BEP's 7-piece and 9-piece sets", () => {
    expect(allowedFastSet("80.4.4.200", aa, 1313, 7)).toEqual([1059, 431, 808, 1217, 287, 376, 1188])
    expect(allowedFastSet("80.4.4.200", aa, 1313, 9)).toEqual([1059, 431, 808, 1217, 287, 376, 1188, 353, 508])
  })
  it("depends only on the /24 network, and is empty for IPv6", () => {
    expect(allowedFastSet("80.4.4.1", aa, 1313, 7)).toEqual(allowedFastSet("80.4.4.200", aa, 1313, 7))
    expect(allowedFastSet("::1", aa, 1313, 7)).toEqual([])
  })
  it("never asks for more pieces than there are, all distinct", () => {
    const set = allowedFastSet("10.0.0.1", aa, 3, 10)
    expect([...set].sort()).toEqual([0, 1, 2])
  })
})
