import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { SocketAddress } from "node:net"
import {
  decodeCompactPeer,
  decodeCompactPeers,
  decodeExtendedHandshake,
  decodeIp,
  decodeMetadataMessage,
  decodePexMessage,
  encodeCompactPeer,
  encodeExtendedHandshake,
  encodeIp,
  encodeMetadataMessage,
  encodePexMessage,
  type ExtendedHandshake,
  MAX_METADATA_SIZE,
  METADATA_PIECE_SIZE,
  type MetadataMessage,
  OUR_EXTENSIONS,
  PexFlag,
  type PexMessage,
  WireError
} from "../../src/wire/index.js"

/** Bencode as written in the BEPs: one character per byte. */
const latin1 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"))
const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "utf8"))
const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))
const hex = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("hex")
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"))

const expectBadExtension = (result: unknown): void => {
  expect(result).toBeInstanceOf(WireError)
  expect((result as WireError).reason).toBe("BadExtension")
}

/** The IPv6 text Node itself gives for `bytes` (inet_ntop). */
const nodeIpv6 = (bytes: Uint8Array): string => {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16))
  return new SocketAddress({ address: groups.join(":"), family: "ipv6" }).address
}

/** 16 bytes, often with runs of zeros and the IPv4-mapped prefix, where IPv6 formatting has its cases. */
const ipv6Bytes: fc.Arbitrary<Uint8Array> = fc.array(
  fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })),
  { minLength: 8, maxLength: 8 }
).map((words) => {
  const bytes = Buffer.alloc(16)
  words.forEach((word, i) => bytes.writeUInt16BE(word, 2 * i))
  return new Uint8Array(bytes)
})
const ipv4Host = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((bytes) => decodeIp(bytes)!)
const ipv6Host = ipv6Bytes.map((bytes) => decodeIp(bytes)!)

describe("compact peers", () => {
  it("encodes IPv4 and IPv6 peers in 6 and 18 bytes, big-endian port", () => {
    expect(hex(encodeCompactPeer({ host: "10.0.0.1", port: 6881 }))).toBe("0a0000011ae1")
    expect(hex(encodeCompactPeer({ host: "2001:db8::1", port: 443 }))).toBe("20010db800000000000000000000000101bb")
    expect(hex(encodeCompactPeer({ host: "::ffff:1.2.3.4", port: 1 }))).toBe("00000000000000000000ffff010203040001")
    // Port 0 encodes (for an address alone, as in `yourip`).
    expect(hex(encodeCompactPeer({ host: "127.0.0.1", port: 0 }))).toBe("7f0000010000")
  })

  it("refuses hosts that are not IP literals and ports out of range", () => {
    for (const host of ["example.com", "fe80::1%eth0", "1.2.3", "01.2.3.4", ""]) {
      expect(encodeCompactPeer({ host, port: 1 })).toBeUndefined()
    }
    for (const port of [-1, 65536, 1.5, Number.NaN]) {
      expect(encodeCompactPeer({ host: "1.2.3.4", port })).toBeUndefined()
    }
  })

  it("decodes one peer of exactly 6 or 18 bytes", () => {
    expect(decodeCompactPeer(fromHex("0a0000011ae1"))).toEqual({ host: "10.0.0.1", port: 6881 })
    const v6 = fromHex("20010db800000000000000000000000101bb")
    expect(decodeCompactPeer(v6)).toEqual({ host: "2001:db8::1", port: 443 })
    for (const length of [0, 1, 2, 5, 7, 17, 19]) expect(decodeCompactPeer(new Uint8Array(length))).toBeUndefined()
  })

  it("decodes a list in order, skipping port 0; a partial entry is refused", () => {
    const list = fromHex("0a0000011ae1 0a0000020000 0a000003ffff")
    expect(decodeCompactPeers(list, "ipv4")).toEqual([
      { host: "10.0.0.1", port: 6881 },
      { host: "10.0.0.3", port: 65535 }
    ])
    expect(decodeCompactPeers(list.subarray(0, 17), "ipv4")).toBeUndefined()
    expect(decodeCompactPeers(list, "ipv6")).toEqual([{ host: "a00:1:1ae1:a00:2:0:a00:3", port: 65535 }])
    expect(decodeCompactPeers(list.subarray(0, 12), "ipv6")).toBeUndefined()
    expect(decodeCompactPeers(new Uint8Array(0), "ipv6")).toEqual([])
  })

  it("writes IPv6 addresses as Node does", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["00000000000000000000000000000000", "::"],
      ["00000000000000000000000000000001", "::1"],
      ["20010db8000000000000000000000001", "2001:db8::1"],
      ["00000000000000000000ffff01020304", "::ffff:1.2.3.4"],
      ["00000000000000000000000001020304", "::1.2.3.4"],
      ["00010000000000010000000000000001", "1:0:0:1::1"],
      ["00010000000100010001000100010001", "1:0:1:1:1:1:1:1"],
      ["fe800000000000000000000000000000", "fe80::"]
    ]
    for (const [bytes, text] of cases) {
      expect(decodeIp(fromHex(bytes))).toBe(text)
      expect(nodeIpv6(fromHex(bytes))).toBe(text)
      expect(hex(encodeIp(text))).toBe(bytes)
    }
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        const text = decodeIp(bytes)!
        expect(text).toBe(nodeIpv6(bytes))
        expect(hex(encodeIp(text))).toBe(hex(bytes))
      }),
      { numRuns: 2000 }
    )
  })

  it("reads any IPv6 spelling Node accepts", () => {
    expect(hex(encodeIp("2001:0DB8:0000::0001"))).toBe("20010db8000000000000000000000001")
    expect(hex(encodeIp("::FFFF:0102:0304"))).toBe("00000000000000000000ffff01020304")
    expect(hex(encodeIp("1::"))).toBe("00010000000000000000000000000000")
    expect(decodeIp(new Uint8Array(5))).toBeUndefined()
  })
})

describe("extended handshake (BEP 10)", () => {
  it("encodes the BEP 10 example", () => {
    const bytes = encodeExtendedHandshake({
      m: new Map([["ut_metadata", 1], ["ut_pex", 2]]),
      p: 6881,
      v: "µTorrent 1.2"
    })
    expect(hex(bytes)).toBe(
      hex(concat(latin1("d1:md11:ut_metadatai1e6:ut_pexi2ee1:pi6881e1:v13:"), utf8("µTorrent 1.2"), latin1("e")))
    )
  })

  it("encodes every field, keys sorted", () => {
    const bytes = encodeExtendedHandshake({
      m: new Map([["ut_pex", OUR_EXTENSIONS.ut_pex], ["ut_metadata", OUR_EXTENSIONS.ut_metadata]]),
      v: "bt",
      p: 51413,
      reqq: 500,
      yourip: new Uint8Array([127, 0, 0, 1]),
      metadataSize: 31235
    })
    expect(Buffer.from(bytes).toString("latin1")).toBe(
      "d1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi51413e4:reqqi500e1:v2:bt6:yourip4:\x7f\x00\x00\x01e"
    )
  })

  it("decodes a handshake as peers send it: unsorted keys, a disabled extension, unknown keys", () => {
    const payload = concat(
      latin1("d1:v13:"),
      utf8("µTorrent 1.2"),
      latin1("1:md6:ut_pexi0e11:ut_metadatai3e11:lt_donthavei7ee13:metadata_sizei31235e1:pi6881e"),
      latin1("6:yourip16:"),
      fromHex("20010db8000000000000000000000001"),
      latin1("4:reqqi255e1:ei1e12:complete_agoi-1ee")
    )
    expect(decodeExtendedHandshake(payload)).toEqual({
      m: new Map([["ut_pex", 0], ["ut_metadata", 3], ["lt_donthave", 7]]),
      v: "µTorrent 1.2",
      p: 6881,
      reqq: 255,
      yourip: fromHex("20010db8000000000000000000000001"),
      metadataSize: 31235
    })
  })

  it("ignores m entries that are not ids in 0..255", () => {
    const payload = latin1("d1:md1:ai-1e1:bi256e1:c1:x1:dle1:ei0e1:fi255e1:gdeee")
    expect(decodeExtendedHandshake(payload)).toEqual({ m: new Map([["e", 0], ["f", 255]]) })
  })

  it("reads a missing m as no extensions", () => {
    expect(decodeExtendedHandshake(latin1("d1:pi6881ee"))).toEqual({ m: new Map(), p: 6881 })
    expect(decodeExtendedHandshake(latin1("de"))).toEqual({ m: new Map() })
  })

  it("drops fields of the wrong type or out of range, keeping the rest", () => {
    const bad = [
      "1:pi0e",
      "1:pi65536e",
      "1:pi-1e",
      "1:p4:6881",
      "4:reqqi0e",
      "4:reqqi-5e",
      "4:reqqi2147483648e",
      "4:reqq3:500",
      `13:metadata_sizei0e`,
      `13:metadata_sizei${MAX_METADATA_SIZE + 1}e`,
      "13:metadata_sizei-1e",
      "13:metadata_size1:1",
      "1:vi1e",
      "1:vle",
      "6:yourip5:12345",
      "6:yourip0:",
      "6:youripi1e"
    ]
    for (const field of bad) {
      expect(decodeExtendedHandshake(latin1(`d1:md6:ut_pexi2ee${field}e`))).toEqual({ m: new Map([["ut_pex", 2]]) })
    }
    expect(decodeExtendedHandshake(latin1(`d13:metadata_sizei${MAX_METADATA_SIZE}e4:reqqi2147483647ee`))).toEqual({
      m: new Map(),
      reqq: 2147483647,
      metadataSize: MAX_METADATA_SIZE
    })
  })

  it("refuses what is not a dictionary, and an m that is not one", () => {
    for (const payload of ["", "x", "d1:m", "le", "i1e", "4:spam", "d1:mi1ee", "d1:mlee", "d1:m2:abe", "dei1e"]) {
      expectBadExtension(decodeExtendedHandshake(latin1(payload)))
    }
  })

  it("keeps nothing that refers to the payload", () => {
    const payload = Buffer.from("d6:yourip4:\x0a\x00\x00\x01e", "latin1")
    const handshake = decodeExtendedHandshake(payload) as ExtendedHandshake
    payload.fill(0)
    expect(hex(handshake.yourip)).toBe("0a000001")
  })

  it("round-trips", () => {
    const name = fc.string({ unit: fc.constantFrom(..."abcdefgh_.T"), minLength: 1, maxLength: 12 })
    const handshake: fc.Arbitrary<ExtendedHandshake> = fc.record(
      {
        m: fc.array(fc.tuple(name, fc.integer({ min: 0, max: 255 }))).map((entries) => new Map(entries)),
        v: fc.string({ unit: "grapheme", maxLength: 20 }),
        p: fc.integer({ min: 1, max: 65535 }),
        reqq: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        yourip: fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), ipv6Bytes),
        metadataSize: fc.integer({ min: 1, max: MAX_METADATA_SIZE })
      },
      { requiredKeys: ["m"] }
    )
    fc.assert(
      fc.property(handshake, (h) => {
        expect(decodeExtendedHandshake(encodeExtendedHandshake(h))).toEqual(h)
      }),
      { numRuns: 500 }
    )
  })
})

describe("ut_metadata (BEP 9)", () => {
  const piece = (length: number, seed = 1): Uint8Array => new Uint8Array(length).map((_, i) => (i * 7 + seed) & 0xff)

  it("encodes and decodes the BEP 9 examples", () => {
    const request = latin1("d8:msg_typei0e5:piecei0ee")
    expect(hex(encodeMetadataMessage({ type: "request", piece: 0 }))).toBe(hex(request))
    expect(decodeMetadataMessage(request)).toEqual({ type: "request", piece: 0 })

    const reject = latin1("d8:msg_typei2e5:piecei0ee")
    expect(hex(encodeMetadataMessage({ type: "reject", piece: 0 }))).toBe(hex(reject))
    expect(decodeMetadataMessage(reject)).toEqual({ type: "reject", piece: 0 })

    // 34256 bytes of metadata: pieces 0 and 1 of 16 KiB, piece 2 of 1488 bytes.
    const first = piece(METADATA_PIECE_SIZE)
    const data = concat(latin1("d8:msg_typei1e5:piecei0e10:total_sizei34256ee"), first)
    expect(hex(encodeMetadataMessage({ type: "data", piece: 0, totalSize: 34256, data: first }))).toBe(hex(data))
    expect(decodeMetadataMessage(data)).toEqual({ type: "data", piece: 0, totalSize: 34256, data: first })

    const last = piece(1488, 5)
    const lastData = concat(latin1("d8:msg_typei1e5:piecei2e10:total_sizei34256ee"), last)
    expect(decodeMetadataMessage(lastData)).toEqual({ type: "data", piece: 2, totalSize: 34256, data: last })
  })

  it("gives the data as a view into the payload", () => {
    const header = latin1("d8:msg_typei1e5:piecei0e10:total_sizei3ee")
    const payload = concat(header, fromHex("aabbcc"))
    const message = decodeMetadataMessage(payload) as Extract<MetadataMessage, { type: "data" }>
    expect(message.data.buffer).toBe(payload.buffer)
    expect(message.data.byteOffset).toBe(payload.byteOffset + header.length)
    expect(hex(message.data)).toBe("aabbcc")
  })

  it("accepts the edges: one byte of metadata, the largest, unsorted keys, unknown keys", () => {
    expect(decodeMetadataMessage(latin1("d8:msg_typei1e5:piecei0e10:total_sizei1eex"))).toMatchObject({
      type: "data",
      piece: 0,
      totalSize: 1
    })
    const lastPiece = MAX_METADATA_SIZE / METADATA_PIECE_SIZE - 1
    const largest = concat(
      latin1(`d8:msg_typei1e5:piecei${lastPiece}e10:total_sizei${MAX_METADATA_SIZE}ee`),
      piece(METADATA_PIECE_SIZE)
    )
    expect(decodeMetadataMessage(largest)).toMatchObject({ type: "data", piece: lastPiece })
    expect(decodeMetadataMessage(latin1("d5:piecei4e8:msg_typei0e4:junkli1eee"))).toEqual({ type: "request", piece: 4 })
  })

  it("ignores bytes after the dictionary of a request or reject", () => {
    expect(decodeMetadataMessage(latin1("d8:msg_typei0e5:piecei1eejunk"))).toEqual({ type: "request", piece: 1 })
    expect(decodeMetadataMessage(latin1("d8:msg_typei2e5:piecei1eejunk"))).toEqual({ type: "reject", piece: 1 })
  })

  const dataMessage = (pieceIndex: number | string, totalSize: number | string, length: number) =>
    concat(latin1(`d8:msg_typei1e5:piecei${pieceIndex}e10:total_sizei${totalSize}ee`), piece(length))

  const refused: ReadonlyArray<readonly [string, Uint8Array]> = [
    ["an empty payload", latin1("")],
    ["bencode garbage", latin1("x")],
    ["a dictionary cut short", latin1("d8:msg_typei0e5:piece")],
    ["a list", latin1("li0ei0ee")],
    ["an integer", latin1("i0e")],
    ["no msg_type", latin1("d5:piecei0ee")],
    ["an unknown msg_type", latin1("d8:msg_typei3e5:piecei0ee")],
    ["a negative msg_type", latin1("d8:msg_typei-1e5:piecei0ee")],
    ["a msg_type that is a string", latin1("d8:msg_type1:05:piecei0ee")],
    ["no piece", latin1("d8:msg_typei0ee")],
    ["a negative piece", latin1("d8:msg_typei0e5:piecei-1ee")],
    ["a piece that is a string", latin1("d8:msg_typei0e5:piece1:0e")],
    ["a piece past any metadata we accept", latin1(`d8:msg_typei2e5:piecei${MAX_METADATA_SIZE / 16384}ee`)],
    ["an absurd piece", latin1("d8:msg_typei0e5:piecei9007199254740991ee")],
    ["data without total_size", concat(latin1("d8:msg_typei1e5:piecei0ee"), piece(10))],
    ["data of total_size 0", dataMessage(0, 0, 0)],
    ["data of a negative total_size", dataMessage(0, -1, 1)],
    ["data of a total_size over the limit", dataMessage(0, MAX_METADATA_SIZE + 1, METADATA_PIECE_SIZE)],
    ["data with a piece past the end", dataMessage(3, 34256, 1)],
    ["data with a piece just past the end", dataMessage(2, 2 * METADATA_PIECE_SIZE, 0)],
    ["a full piece one byte short", dataMessage(0, 34256, METADATA_PIECE_SIZE - 1)],
    ["a full piece one byte long", dataMessage(1, 34256, METADATA_PIECE_SIZE + 1)],
    ["a last piece one byte short", dataMessage(2, 34256, 1487)],
    ["a last piece one byte long", dataMessage(2, 34256, 1489)],
    ["a piece without data", dataMessage(0, 34256, 0)],
    ["a one-byte metadata piece of two bytes", dataMessage(0, 1, 2)]
  ]
  for (const [name, payload] of refused) {
    it(`refuses ${name}`, () => expectBadExtension(decodeMetadataMessage(payload)))
  }

  it("round-trips", () => {
    const message: fc.Arbitrary<MetadataMessage> = fc.oneof(
      fc.tuple(fc.constantFrom("request" as const, "reject" as const), fc.integer({ min: 0, max: 1023 })).map((
        [type, index]
      ): MetadataMessage => ({ type, piece: index })),
      fc.oneof(fc.integer({ min: 1, max: 3 * METADATA_PIECE_SIZE }), fc.integer({ min: 1, max: MAX_METADATA_SIZE }))
        .chain((totalSize) =>
          fc.integer({ min: 0, max: Math.ceil(totalSize / METADATA_PIECE_SIZE) - 1 }).map((index): MetadataMessage => ({
            type: "data",
            piece: index,
            totalSize,
            data: piece(Math.min(METADATA_PIECE_SIZE, totalSize - index * METADATA_PIECE_SIZE), index)
          }))
        )
    )
    fc.assert(
      fc.property(message, (m) => {
        // Data compared as hex: a deep compare of 16 KiB arrays is slow.
        const withHex = (x: MetadataMessage | WireError) =>
          x instanceof WireError || x.type !== "data" ? x : { ...x, data: hex(x.data) }
        expect(withHex(decodeMetadataMessage(encodeMetadataMessage(m)))).toEqual(withHex(m))
      }),
      { numRuns: 300 }
    )
  })
})

describe("ut_pex (BEP 11)", () => {
  it("encodes IPv4 peers with their flags, and the empty IPv6 keys not at all", () => {
    const bytes = encodePexMessage({
      added: [{ host: "10.0.0.1", port: 6881, flags: PexFlag.seed | PexFlag.encryption }],
      dropped: [{ host: "192.168.1.2", port: 51413 }]
    })
    expect(Buffer.from(bytes).toString("latin1")).toBe(
      "d5:added6:\x0a\x00\x00\x01\x1a\xe17:added.f1:\x037:dropped6:\xc0\xa8\x01\x02\xc8\xd5e"
    )
    expect(Buffer.from(encodePexMessage({ added: [], dropped: [] })).toString("latin1")).toBe(
      "d5:added0:7:added.f0:7:dropped0:e"
    )
  })

  it("encodes IPv6 peers in their own keys", () => {
    const bytes = encodePexMessage({
      added: [
        { host: "2001:db8::1", port: 6881, flags: PexFlag.utp | PexFlag.outgoing },
        { host: "10.0.0.1", port: 6881, flags: PexFlag.holepunch }
      ],
      dropped: [{ host: "::1", port: 1 }]
    })
    expect(hex(bytes)).toBe(hex(concat(
      latin1("d5:added6:"),
      fromHex("0a0000011ae1"),
      latin1("7:added.f1:\x08"),
      latin1("6:added618:"),
      fromHex("20010db8000000000000000000000001 1ae1"),
      latin1("8:added6.f1:\x14"),
      latin1("7:dropped0:"),
      latin1("8:dropped618:"),
      fromHex("00000000000000000000000000000001 0001"),
      latin1("e")
    )))
  })

  it("leaves out hosts that are not IP literals and port 0 when encoding", () => {
    const bytes = encodePexMessage({
      added: [
        { host: "example.com", port: 1, flags: 1 },
        { host: "10.0.0.1", port: 0, flags: 2 },
        { host: "10.0.0.2", port: 2, flags: 0x1ff }
      ],
      dropped: [{ host: "fe80::1%eth0", port: 1 }]
    })
    expect(decodePexMessage(bytes, 50)).toEqual({
      added: [{ host: "10.0.0.2", port: 2, flags: 0xff }],
      dropped: [],
      truncated: false
    })
  })

  it("decodes IPv4 before IPv6 whatever the key order, IPv4-mapped hosts as written", () => {
    const payload = concat(
      latin1("d8:dropped618:"),
      fromHex("00000000000000000000ffff0102030400 50"),
      latin1("6:added618:"),
      fromHex("20010db8000000000000000000000001 1ae1"),
      latin1("8:added6.f1:\x02"),
      latin1("5:added6:"),
      fromHex("0a0000011ae1"),
      latin1("7:dropped6:"),
      fromHex("c0a80102c8d5"),
      latin1("e")
    )
    expect(decodePexMessage(payload, 50)).toEqual({
      added: [
        { host: "10.0.0.1", port: 6881, flags: 0 },
        { host: "2001:db8::1", port: 6881, flags: PexFlag.seed }
      ],
      dropped: [{ host: "192.168.1.2", port: 51413 }, { host: "::ffff:1.2.3.4", port: 80 }],
      truncated: false
    })
  })

  it("reads flags missing from a short added.f as 0, and skips port 0 keeping flags in step", () => {
    const added = fromHex("0a0000010001 0a0000020000 0a0000030003 0a0000040004")
    const payload = concat(latin1("d5:added24:"), added, latin1("7:added.f3:\x01\x02\x03e"))
    expect(decodePexMessage(payload, 50)).toEqual({
      added: [
        { host: "10.0.0.1", port: 1, flags: 1 },
        { host: "10.0.0.3", port: 3, flags: 3 },
        { host: "10.0.0.4", port: 4, flags: 0 }
      ],
      dropped: [],
      truncated: false
    })
    const withoutFlags = concat(latin1("d5:added6:"), fromHex("0a0000010001"), latin1("e"))
    expect(decodePexMessage(withoutFlags, 50)).toEqual({
      added: [{ host: "10.0.0.1", port: 1, flags: 0 }],
      dropped: [],
      truncated: false
    })
  })

  it("keeps at most maxPeers added and maxPeers dropped", () => {
    const v4 = (n: number) => Array.from({ length: n }, (_, i) => ({ host: `10.0.0.${i}`, port: 1000 + i }))
    const v6 = (n: number) => Array.from({ length: n }, (_, i) => ({ host: `2001:db8::${i + 1}`, port: 2000 + i }))
    const message = {
      added: [...v4(40), ...v6(20)].map((peer) => ({ ...peer, flags: PexFlag.seed })),
      dropped: [...v4(3), ...v6(2)]
    }
    const decoded = decodePexMessage(encodePexMessage(message), 50)
    expect(decoded).toEqual({ added: message.added.slice(0, 50), dropped: message.dropped, truncated: true })

    const dropping = decodePexMessage(encodePexMessage({ added: [], dropped: [...v4(30), ...v6(30)] }), 50)
    expect(dropping).toMatchObject({ added: [], truncated: true })
    expect((dropping as PexMessage).dropped).toHaveLength(50)

    const exactly = decodePexMessage(encodePexMessage({ added: message.added.slice(0, 50), dropped: [] }), 50)
    expect(exactly).toMatchObject({ truncated: false })
    expect((exactly as PexMessage).added).toHaveLength(50)

    expect(decodePexMessage(encodePexMessage(message), 0)).toEqual({ added: [], dropped: [], truncated: true })
    expect(decodePexMessage(encodePexMessage({ added: [], dropped: [] }), 0)).toEqual({
      added: [],
      dropped: [],
      truncated: false
    })
  })

  it("does not count port-0 peers past the limit as left out", () => {
    const payload = concat(latin1("d5:added12:"), fromHex("0a0000010001 0a0000020000"), latin1("e"))
    expect(decodePexMessage(payload, 1)).toMatchObject({ truncated: false })
  })

  const refused: ReadonlyArray<readonly [string, Uint8Array]> = [
    ["an empty payload", latin1("")],
    ["bencode garbage", latin1("d5:added")],
    ["a list", latin1("le")],
    ["added of 5 bytes", latin1("d5:added5:12345e")],
    ["added of 7 bytes", latin1("d5:added7:1234567e")],
    ["added6 of 17 bytes", latin1(`d6:added617:${"x".repeat(17)}e`)],
    ["dropped of 13 bytes", latin1(`d7:dropped13:${"x".repeat(13)}e`)],
    ["dropped6 of 19 bytes", latin1(`d8:dropped619:${"x".repeat(19)}e`)],
    ["added that is an integer", latin1("d5:addedi6ee")],
    ["added.f that is a list", latin1("d5:added0:7:added.fle")],
    ["added6.f that is an integer", latin1("d8:added6.fi0ee")],
    ["dropped that is a dictionary", latin1("d7:droppeddee")]
  ]
  for (const [name, payload] of refused) {
    it(`refuses ${name}`, () => expectBadExtension(decodePexMessage(payload, 50)))
  }

  it("ignores unknown keys", () => {
    const decoded = decodePexMessage(latin1("d1:ai1e5:added0:4:zzzzlee"), 50)
    expect(decoded).toEqual({ added: [], dropped: [], truncated: false })
  })

  it("round-trips IPv4 and IPv6 peers with flags, IPv4 first", () => {
    const port = fc.integer({ min: 1, max: 65535 })
    const peer = (host: fc.Arbitrary<string>) => fc.record({ host, port, flags: fc.integer({ min: 0, max: 255 }) })
    const address = (host: fc.Arbitrary<string>) => fc.record({ host, port })
    const message = fc.record({
      added: fc.array(fc.oneof(peer(ipv4Host), peer(ipv6Host)), { maxLength: 30 }),
      dropped: fc.array(fc.oneof(address(ipv4Host), address(ipv6Host)), { maxLength: 30 })
    })
    const isV4 = (p: { readonly host: string }) => !p.host.includes(":")
    const v4First = <P extends { readonly host: string }>(peers: ReadonlyArray<P>) => [
      ...peers.filter(isV4),
      ...peers.filter((p) => !isV4(p))
    ]
    fc.assert(
      fc.property(message, (m) => {
        expect(decodePexMessage(encodePexMessage(m), 30)).toEqual({
          added: v4First(m.added),
          dropped: v4First(m.dropped),
          truncated: false
        })
      }),
      { numRuns: 500 }
    )
  })
})
