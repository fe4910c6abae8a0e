import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import fc from "fast-check"
import type { AnnounceEvent, AnnounceRequest } from "../../src/tracker/types.js"
import {
  Action,
  decodeResponse,
  encodeAnnounce,
  encodeConnect,
  encodeScrape,
  expectResponse,
  PROTOCOL_ID,
  randomTransactionId,
  type UdpResponse
} from "../../src/tracker/udp/codec.js"

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
const ascii = (text: string): string => Buffer.from(text, "latin1").toString("hex")

const decodeOk = (input: string | Uint8Array, family: "ipv4" | "ipv6" = "ipv4"): UdpResponse =>
  Either.getOrThrow(decodeResponse(typeof input === "string" ? hex(input) : input, family))

const detailOf = (input: string | Uint8Array, family: "ipv4" | "ipv6" = "ipv4"): string => {
  const result = decodeResponse(typeof input === "string" ? hex(input) : input, family)
  if (Either.isRight(result)) throw new Error(`expected a Left, got ${JSON.stringify(result.right)}`)
  return result.left
}

const CONNECTION_ID = hex("0102030405060708")
const INFO_HASH = hex("aa".repeat(20))
const PEER_ID = hex(ascii("-BT0001-") + "000102030405060708090a0b")

const announce: AnnounceRequest = {
  infoHash: INFO_HASH,
  peerId: PEER_ID,
  port: 6881,
  uploaded: 0,
  downloaded: 4_886_718_345,
  left: Number.MAX_SAFE_INTEGER,
  event: "started",
  numWant: 50,
  key: 0xcafebabe
}

describe("UDP tracker requests, golden bytes", () => {
  it("connect", () => {
    expect(toHex(encodeConnect(0x12345678))).toBe("0000041727101980" + "00000000" + "12345678")
    expect(PROTOCOL_ID).toBe(0x41727101980n)
  })

  it("announce, every field", () => {
    expect(toHex(encodeAnnounce(CONNECTION_ID, 0xdeadbeef, announce))).toBe(
      "0102030405060708" + // connection id
        "00000001" + // action: announce
        "deadbeef" + // transaction id
        "aa".repeat(20) + // info hash
        "2d4254303030312d000102030405060708090a0b" + // peer id
        "0000000123456789" + // downloaded
        "001fffffffffffff" + // left
        "0000000000000000" + // uploaded
        "00000002" + // event: started
        "00000000" + // IP address: default
        "cafebabe" + // key
        "00000032" + // num_want: 50
        "1ae1" // port 6881
    )
  })

  const events: ReadonlyArray<readonly [AnnounceEvent | undefined, string]> = [
    [undefined, "00000000"],
    ["completed", "00000001"],
    ["started", "00000002"],
    ["stopped", "00000003"]
  ]
  for (const [event, code] of events) {
    it(`announce, event ${event ?? "none"} is ${code}`, () => {
      const bytes = encodeAnnounce(CONNECTION_ID, 1, { ...announce, event })
      expect(bytes.length).toBe(98)
      expect(toHex(bytes.subarray(80, 84))).toBe(code)
    })
  }

  it("announce, num_want: negative means default, large values clamp to int32", () => {
    const numWant = (n: number) => toHex(encodeAnnounce(CONNECTION_ID, 1, { ...announce, numWant: n }).subarray(92, 96))
    expect(numWant(-1)).toBe("ffffffff")
    expect(numWant(-200)).toBe("ffffffff")
    expect(numWant(0)).toBe("00000000")
    expect(numWant(2 ** 31 - 1)).toBe("7fffffff")
    expect(numWant(2 ** 40)).toBe("7fffffff")
  })

  it("announce, key is written as a uint32 whatever its sign", () => {
    const key = (n: number) => toHex(encodeAnnounce(CONNECTION_ID, 1, { ...announce, key: n }).subarray(88, 92))
    expect(key(-1)).toBe("ffffffff")
    expect(key(0x80000000)).toBe("80000000")
    expect(key(-0x80000000)).toBe("80000000")
  })

  it("scrape", () => {
    const hashes = [hex("11".repeat(20)), hex("22".repeat(20))]
    expect(toHex(encodeScrape(CONNECTION_ID, 0x0badf00d, hashes))).toBe(
      "0102030405060708" + "00000002" + "0badf00d" + "11".repeat(20) + "22".repeat(20)
    )
    expect(encodeScrape(CONNECTION_ID, 1, Array.from({ length: 74 }, () => INFO_HASH)).length).toBe(16 + 74 * 20)
  })

  it("refuses what cannot be encoded with a RangeError", () => {
    expect(() => encodeScrape(CONNECTION_ID, 1, Array.from({ length: 75 }, () => INFO_HASH))).toThrow(RangeError)
    expect(() => encodeScrape(CONNECTION_ID, 1, [])).toThrow(RangeError)
    expect(() => encodeScrape(CONNECTION_ID, 1, [INFO_HASH, new Uint8Array(19)])).toThrow(RangeError)
    expect(() => encodeScrape(new Uint8Array(7), 1, [INFO_HASH])).toThrow(RangeError)
    expect(() => encodeConnect(-1)).toThrow(RangeError)
    expect(() => encodeConnect(2 ** 32)).toThrow(RangeError)
    expect(() => encodeConnect(1.5)).toThrow(RangeError)
    expect(() => encodeAnnounce(new Uint8Array(9), 1, announce)).toThrow(RangeError)
    expect(() => encodeAnnounce(CONNECTION_ID, 1, { ...announce, infoHash: new Uint8Array(32) })).toThrow(RangeError)
    expect(() => encodeAnnounce(CONNECTION_ID, 1, { ...announce, peerId: new Uint8Array(19) })).toThrow(RangeError)
    expect(() => encodeAnnounce(CONNECTION_ID, 1, { ...announce, port: 65536 })).toThrow(RangeError)
    expect(() => encodeAnnounce(CONNECTION_ID, 1, { ...announce, left: -1 })).toThrow(RangeError)
    expect(() => encodeAnnounce(CONNECTION_ID, 1, { ...announce, uploaded: 0.5 })).toThrow(RangeError)
    expect(() => encodeAnnounce(CONNECTION_ID, 1, { ...announce, downloaded: 2 ** 53 })).toThrow(RangeError)
  })
})

// Valid responses, written out by hand; each is also cut at every length below.
const CONNECT_RESPONSE = "00000000 12345678 0102030405060708"
const ANNOUNCE_V4_RESPONSE =
  "00000001 12345678 00000708 00000005 0000000a" + // interval 1800, 5 leechers, 10 seeders
  "7f000001 1ae1  0a000002 0000  7f000001 1ae1  c0a80101 c8d5" // a duplicate and a port-0 entry
const ANNOUNCE_V6_RESPONSE =
  "00000001 12345678 00000000 00000000 00000001" + // interval 0 (the client clamps)
  "00000000000000000000000000000001 1ae1" +
  "20010db8000000000000000000020001 0000" +
  "20010db8000000000000000000020001 1ae2"
const SCRAPE_RESPONSE = "00000002 12345678  00000001 00000002 00000003  0000000a 00000000 7fffffff"
const ERROR_RESPONSE = "00000003 12345678" + ascii("Torrent not registered\r\n")

describe("UDP tracker responses, golden bytes", () => {
  it("connect", () => {
    const input = hex(CONNECT_RESPONSE)
    const response = decodeOk(input)
    expect(response).toEqual({ action: "connect", transactionId: 0x12345678, connectionId: CONNECTION_ID })
    // The connection id outlives the datagram: it is a copy, not a view.
    input[8] = 0xff
    expect(response.action === "connect" && response.connectionId[0]).toBe(1)
  })

  it("announce over IPv4: port 0 skipped, duplicates dropped", () => {
    expect(decodeOk(ANNOUNCE_V4_RESPONSE)).toEqual({
      action: "announce",
      transactionId: 0x12345678,
      interval: 1800,
      leechers: 5,
      seeders: 10,
      peers: [
        { host: "127.0.0.1", port: 6881 },
        { host: "192.168.1.1", port: 51413 }
      ]
    })
  })

  it("announce over IPv6: 18-byte peers", () => {
    expect(decodeOk(ANNOUNCE_V6_RESPONSE, "ipv6")).toEqual({
      action: "announce",
      transactionId: 0x12345678,
      interval: 0,
      leechers: 0,
      seeders: 1,
      peers: [
        { host: "::1", port: 6881 },
        { host: "2001:db8::2:1", port: 6882 }
      ]
    })
  })

  it("announce: the socket's family decides the peer format", () => {
    const response = decodeOk("00000001 00000001 00000708 00000000 00000000" + "7f000001 1ae1 7f000002 1ae1 7f000003 1ae1")
    expect(response.action === "announce" && response.peers.length).toBe(3)
    const asV6 = decodeOk("00000001 00000001 00000708 00000000 00000000" + "7f000001 1ae1 7f000002 1ae1 7f000003 1ae1", "ipv6")
    expect(asV6.action === "announce" && asV6.peers).toEqual([{ host: "7f00:1:1ae1:7f00:2:1ae1:7f00:3", port: 6881 }])
  })

  it("announce with no peers", () => {
    expect(decodeOk("00000001 00000009 0000003c 00000000 00000000")).toEqual({
      action: "announce",
      transactionId: 9,
      interval: 60,
      leechers: 0,
      seeders: 0,
      peers: []
    })
  })

  it("announce: negative counts are rejected", () => {
    expect(detailOf("00000001 00000001 ffffffff 00000000 00000000")).toBe("negative interval")
    expect(detailOf("00000001 00000001 80000000 00000000 00000000")).toBe("negative interval")
    expect(detailOf("00000001 00000001 00000708 ffffffff 00000000")).toBe("negative leechers")
    expect(detailOf("00000001 00000001 00000708 00000000 ffffffff")).toBe("negative seeders")
  })

  it("scrape", () => {
    expect(decodeOk(SCRAPE_RESPONSE)).toEqual({
      action: "scrape",
      transactionId: 0x12345678,
      entries: [
        { complete: 1, downloaded: 2, incomplete: 3 },
        { complete: 10, downloaded: 0, incomplete: 2 ** 31 - 1 }
      ]
    })
    expect(detailOf("00000002 00000001  00000001 00000002 00000003  00000001 ffffffff 00000003")).toBe(
      "negative count in scrape entry 2"
    )
  })

  it("error: the message as UTF-8, trimmed", () => {
    expect(decodeOk(ERROR_RESPONSE)).toEqual({
      action: "error",
      transactionId: 0x12345678,
      message: "Torrent not registered"
    })
    expect(decodeOk("00000003 00000001" + Buffer.from("  Ungültiger Torrent ☃ ").toString("hex"))).toMatchObject({
      message: "Ungültiger Torrent ☃"
    })
  })

  it("error: an empty message", () => {
    expect(decodeOk("00000003 00000001")).toEqual({ action: "error", transactionId: 1, message: "" })
  })

  it("error: control characters and escape sequences cannot reach a terminal", () => {
    const raw = "\x1b[31mbad\x1b[0m\nrequest\x00\x07\x9b"
    const response = decodeOk("00000003 00000001" + Buffer.from(raw, "utf8").toString("hex"))
    expect(response).toMatchObject({ message: "[31mbad [0m request" })
  })

  it("error: invalid UTF-8 becomes U+FFFD", () => {
    expect(decodeOk("00000003 00000001 6f6b ff fe 21")).toMatchObject({ message: "ok\ufffd\ufffd!" })
  })

  it("error: capped at 200 characters, never splitting a surrogate pair", () => {
    const long = decodeOk("00000003 00000001" + ascii("x".repeat(500)))
    expect(long.action === "error" && long.message).toBe("x".repeat(200))
    const emoji = decodeOk("00000003 00000001" + Buffer.from("😀".repeat(300)).toString("hex"))
    expect(emoji.action === "error" && emoji.message).toBe("😀".repeat(200))
  })

  it("unknown actions and short packets", () => {
    expect(detailOf("00000007 00000001")).toBe("unknown action 7")
    expect(detailOf("00000004 00000001 00000000")).toBe("unknown action 4")
    expect(detailOf("ffffffff 00000001")).toBe("unknown action 4294967295")
    expect(detailOf("")).toBe("response of 0 bytes is too short")
    expect(detailOf("00000000 123456")).toBe("response of 7 bytes is too short")
    expect(detailOf("00000001 12345678 00000708 0a")).toBe("announce response of 13 bytes is too short")
    expect(detailOf("00000000 12345678 01020304050607")).toBe("connect response of 15 bytes is too short")
    expect(detailOf("00000002 12345678")).toBe("scrape response of 8 bytes is too short")
  })

  it("reads a view that does not start at its buffer's start", () => {
    const backing = hex("ffffffff" + ANNOUNCE_V4_RESPONSE + "ff")
    const view = backing.subarray(4, backing.length - 1)
    expect(decodeResponse(view, "ipv4")).toEqual(decodeResponse(hex(ANNOUNCE_V4_RESPONSE), "ipv4"))
  })
})

describe("UDP tracker responses, every truncation", () => {
  // Below its minimum size a response is a Left; from there on, cutting the peer or entry list short decodes as
  // fewer peers or entries (a datagram cannot say how many were meant: the caller counts scrape entries).
  const samples: ReadonlyArray<readonly [string, string, "ipv4" | "ipv6", number]> = [
    ["connect", CONNECT_RESPONSE, "ipv4", 16],
    ["announce v4", ANNOUNCE_V4_RESPONSE, "ipv4", 20],
    ["announce v6", ANNOUNCE_V6_RESPONSE, "ipv6", 20],
    ["scrape", SCRAPE_RESPONSE, "ipv4", 20],
    ["error", ERROR_RESPONSE, "ipv4", 8]
  ]
  for (const [name, text, family, minimum] of samples) {
    it(name, () => {
      const full = hex(text)
      const whole = Either.getOrThrow(decodeResponse(full, family))
      for (let length = 0; length < full.length; length++) {
        const result = decodeResponse(full.subarray(0, length), family)
        if (length < minimum) {
          expect(Either.isLeft(result), `prefix of ${length} bytes`).toBe(true)
          continue
        }
        const part = Either.getOrThrow(result)
        expect(part.action).toBe(whole.action)
        if (part.action === "announce" && whole.action === "announce") {
          expect(whole.peers.slice(0, part.peers.length)).toEqual(part.peers)
        }
        if (part.action === "scrape" && whole.action === "scrape") {
          expect(part.entries.length).toBe(Math.floor((length - 8) / 12))
          expect(whole.entries.slice(0, part.entries.length)).toEqual(part.entries)
        }
      }
    })
  }
})

describe("expectResponse", () => {
  it("accepts the expected action with our transaction id", () => {
    const result = expectResponse(hex(CONNECT_RESPONSE), "ipv4", 0x12345678, "connect")
    expect(Either.getOrThrow(result).action).toBe("connect")
  })

  it("passes an error response through, for the caller to turn into a rejection", () => {
    const result = expectResponse(hex(ERROR_RESPONSE), "ipv4", 0x12345678, "announce")
    expect(Either.getOrThrow(result)).toMatchObject({ action: "error", message: "Torrent not registered" })
  })

  it("rejects another transaction id", () => {
    expect(expectResponse(hex(CONNECT_RESPONSE), "ipv4", 0x12345679, "connect")).toEqual(
      Either.left("transaction id mismatch")
    )
    expect(expectResponse(hex(ERROR_RESPONSE), "ipv4", 1, "scrape")).toEqual(Either.left("transaction id mismatch"))
  })

  it("rejects another action", () => {
    expect(expectResponse(hex(SCRAPE_RESPONSE), "ipv4", 0x12345678, "announce")).toEqual(
      Either.left("expected announce response, got scrape")
    )
  })

  it("passes decoding failures through", () => {
    expect(expectResponse(hex("00000009 12345678"), "ipv4", 0x12345678, "connect")).toEqual(
      Either.left("unknown action 9")
    )
  })
})

describe("UDP tracker codec properties", () => {
  const family = fc.constantFrom("ipv4" as const, "ipv6" as const)
  // Random bytes, some of them behind a plausible action so that every branch gets garbage.
  const packet = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 200 })).map(([action, rest]) => {
      const bytes = new Uint8Array(4 + rest.length)
      new DataView(bytes.buffer).setUint32(0, action)
      bytes.set(rest, 4)
      return bytes
    })
  )

  it("decodes any bytes to an Either, never throwing", () => {
    fc.assert(
      fc.property(packet, family, fc.integer({ min: 0, max: 0xffffffff }), (bytes, family, transactionId) => {
        expect(Either.isEither(decodeResponse(bytes, family))).toBe(true)
        expect(Either.isEither(expectResponse(bytes, family, transactionId, "announce"))).toBe(true)
      })
    )
  })

  it("an announce request carries every field it was given", () => {
    const request = fc.record({
      infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      peerId: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      port: fc.integer({ min: 1, max: 65535 }),
      uploaded: fc.maxSafeNat(),
      downloaded: fc.maxSafeNat(),
      left: fc.maxSafeNat(),
      event: fc.constantFrom<AnnounceEvent | undefined>(undefined, "started", "completed", "stopped"),
      numWant: fc.oneof(fc.integer({ min: -1, max: 200 }), fc.integer()),
      key: fc.integer({ min: 0, max: 0xffffffff })
    })
    const connectionId = fc.uint8Array({ minLength: 8, maxLength: 8 })
    fc.assert(
      fc.property(connectionId, fc.integer({ min: 0, max: 0xffffffff }), request, (connectionId, txid, request) => {
        const bytes = encodeAnnounce(connectionId, txid, request)
        expect(bytes.length).toBe(98)
        // Decoded by hand from the BEP 15 table, independently of the encoder.
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        const codes: ReadonlyArray<AnnounceEvent | undefined> = [undefined, "completed", "started", "stopped"]
        expect([...bytes.subarray(0, 8)]).toEqual([...connectionId])
        expect(view.getInt32(8)).toBe(Action.announce)
        expect(view.getUint32(12)).toBe(txid)
        expect([...bytes.subarray(16, 36)]).toEqual([...request.infoHash])
        expect([...bytes.subarray(36, 56)]).toEqual([...request.peerId])
        expect(view.getBigInt64(56)).toBe(BigInt(request.downloaded))
        expect(view.getBigInt64(64)).toBe(BigInt(request.left))
        expect(view.getBigInt64(72)).toBe(BigInt(request.uploaded))
        expect(codes[view.getInt32(80)]).toBe(request.event)
        expect(view.getUint32(84)).toBe(0)
        expect(view.getUint32(88)).toBe(request.key)
        expect(view.getInt32(92)).toBe(request.numWant < 0 ? -1 : Math.min(request.numWant, 2 ** 31 - 1))
        expect(view.getUint16(96)).toBe(request.port)
      })
    )
  })
})

describe("randomTransactionId", () => {
  it("draws uint32 values", () => {
    const ids = Array.from({ length: 100 }, randomTransactionId)
    for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id <= 0xffffffff).toBe(true)
    expect(new Set(ids).size).toBeGreaterThan(95)
  })
})
