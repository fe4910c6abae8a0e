import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  decodePacket,
  encodePacket,
  HEADER_LENGTH,
  MAX_EXTENSIONS,
  type Packet
} from "../../../src/peer/utp/packet.js"
import { packetArb } from "./arbitraries.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const fromHex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"))

const header = {
  connectionId: 0x1234,
  timestamp: 0x01020304,
  timestampDifference: 0x0a0b0c0d,
  windowSize: 0x00100000,
  seqNr: 0xfffe,
  ackNr: 0x0001
}
// type|ver, extension, connection_id, timestamp, timestamp_difference, wnd_size, seq_nr, ack_nr
const headerHex = (typeVersion: string, extension: string) =>
  `${typeVersion} ${extension} 1234 01020304 0a0b0c0d 00100000 fffe 0001`

const golden: ReadonlyArray<readonly [string, Packet]> = [
  [headerHex("01", "00") + "68656c6c6f", { type: "data", ...header, payload: fromHex("68656c6c6f") }],
  [headerHex("11", "00"), { type: "fin", ...header, payload: new Uint8Array(0) }],
  [headerHex("21", "00"), { type: "state", ...header, payload: new Uint8Array(0) }],
  [headerHex("31", "00"), { type: "reset", ...header, payload: new Uint8Array(0) }],
  [headerHex("41", "00"), { type: "syn", ...header, payload: new Uint8Array(0) }],
  [
    headerHex("21", "01") + "00 04 05000080",
    { type: "state", ...header, selectiveAck: fromHex("05000080"), payload: new Uint8Array(0) }
  ],
  [
    // A selective ACK of 8 bytes, then an unknown extension 7 with 2 bytes, then a payload.
    headerHex("01", "01") + "07 08 0100000000000000" + "00 02 abcd" + "ff",
    {
      type: "data",
      ...header,
      selectiveAck: fromHex("0100000000000000"),
      extensions: [{ type: 7, data: fromHex("abcd") }],
      payload: fromHex("ff")
    }
  ]
]

describe("uTP packet golden bytes", () => {
  it.each(golden)("%s", (bytes, packet) => {
    expect(hex(encodePacket(packet))).toBe(hex(fromHex(bytes)))
    expect(decodePacket(fromHex(bytes))).toEqual(packet)
  })

  it("decodes a packet that starts inside a larger buffer", () => {
    const [bytes, packet] = golden[6]!
    const big = new Uint8Array(7 + fromHex(bytes).length)
    big.set(fromHex(bytes), 7)
    expect(decodePacket(big.subarray(7))).toEqual(packet)
  })

  it("reads a selective ACK of a length other than 4, 8, ... (libtorrent sends 5 bytes)", () => {
    const decoded = decodePacket(fromHex(headerHex("21", "01").replace(/\s+/g, "") + "0005ffffffff03"))
    expect(decoded).toMatchObject({ selectiveAck: fromHex("ffffffff03") })
  })

  it("skips an unknown extension before the selective ACK, keeping both", () => {
    const decoded = decodePacket(fromHex(headerHex("21", "09") + "01 00" + "00 04 01020304"))
    expect(decoded).toMatchObject({ selectiveAck: fromHex("01020304"), extensions: [{ type: 9, data: new Uint8Array(0) }] })
  })
})

describe("uTP packet round trips", () => {
  it("decode(encode(p)) = p", () => {
    fc.assert(fc.property(packetArb, (packet) => {
      const bytes = encodePacket(packet)
      expect(decodePacket(bytes)).toEqual(packet)
    }))
  })

  it("every proper prefix of a packet with extensions is an error or a packet with a shorter payload", () => {
    fc.assert(fc.property(packetArb, (packet) => {
      const bytes = encodePacket(packet)
      const payloadStart = bytes.length - packet.payload.length
      for (let cut = 0; cut < bytes.length; cut++) {
        const decoded = decodePacket(bytes.subarray(0, cut))
        if (cut < payloadStart) expect(typeof decoded).toBe("string")
        else expect(decoded).toEqual({ ...packet, payload: packet.payload.subarray(0, cut - payloadStart) })
      }
    }), { numRuns: 50 })
  })

  it("garbage decodes to a packet or an error string, never a throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const decoded = decodePacket(bytes)
      expect(typeof decoded === "string" || typeof decoded === "object").toBe(true)
    }))
  })
})

describe("uTP packet errors", () => {
  const errors: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["empty", "", /shorter than the 20-byte header/],
    ["truncated header", headerHex("21", "00").replace(/\s+/g, "").slice(0, 38), /19 bytes is shorter/],
    ["version 0", headerHex("20", "00"), /version 0 is not 1/],
    ["version 2", headerHex("22", "00"), /version 2 is not 1/],
    ["type 5", headerHex("51", "00"), /unknown uTP packet type 5/],
    ["type 15", headerHex("f1", "00"), /unknown uTP packet type 15/],
    ["extension header missing", headerHex("21", "01"), /extension 1 header runs past/],
    ["extension header cut", headerHex("21", "01") + "00", /extension 1 header runs past/],
    ["extension data cut", headerHex("21", "01") + "00 04 010203", /extension 1 of 4 bytes runs past/],
    ["unknown extension runs past", headerHex("21", "09") + "00 ff 00", /extension 9 of 255 bytes runs past/],
    ["second extension missing", headerHex("21", "01") + "02 04 01020304", /extension 2 header runs past/],
    ["empty selective ACK", headerHex("21", "01") + "00 00", /selective ACK of 0 bytes/],
    ["two selective ACKs", headerHex("21", "01") + "01 04 00000000 00 04 00000000", /two selective ACKs/],
    ["a long chain", headerHex("21", "09") + "09 00".repeat(MAX_EXTENSIONS), /more than 16 uTP extensions/]
  ]
  it.each(errors)("%s", (_, bytes, message) => {
    const decoded = decodePacket(fromHex(bytes))
    expect(typeof decoded).toBe("string")
    expect(decoded).toMatch(message)
  })

  it("the header is 20 bytes", () => {
    expect(HEADER_LENGTH).toBe(20)
    expect(decodePacket(fromHex(headerHex("21", "00")))).toMatchObject({ type: "state" })
  })
})
