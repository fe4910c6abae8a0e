import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  checkResponse,
  decodeKrpc,
  encodeKrpc,
  KrpcDecodeError,
  type KrpcDecodeErrorReason,
  type KrpcMessage,
  type KrpcResponse,
  MAX_KRPC_PACKET,
  MAX_VALUES
} from "../../src/dht/index.js"
import { krpcMessage } from "./arbitraries.js"

/** Bencode as the BEP writes it: one character per byte. */
const latin1 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"))
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1")

const decoded = (input: string | Uint8Array): KrpcMessage => {
  const result = decodeKrpc(typeof input === "string" ? latin1(input) : input)
  if (result instanceof KrpcDecodeError) throw new Error(`expected a message, got ${result.detail}`)
  return result
}

const refused = (input: string | Uint8Array): KrpcDecodeError => {
  const result = decodeKrpc(typeof input === "string" ? latin1(input) : input)
  if (!(result instanceof KrpcDecodeError)) throw new Error(`expected an error, got ${JSON.stringify(result)}`)
  return result
}

const aa = latin1("aa")
const ABC = latin1("abcdefghij0123456789")
const MNO = latin1("mnopqrstuvwxyz123456")

const announce: KrpcMessage = {
  kind: "query",
  method: "announce_peer",
  transactionId: aa,
  id: ABC,
  infoHash: MNO,
  port: 6881,
  token: latin1("aoeusnth")
}

/** BEP 5's example packets, verbatim, with the message each stands for. */
const golden: ReadonlyArray<readonly [string, string, KrpcMessage]> = [
  [
    "ping query",
    "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
    { kind: "query", method: "ping", transactionId: aa, id: ABC }
  ],
  [
    "ping (and announce_peer) response",
    "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re",
    { kind: "response", transactionId: aa, id: MNO }
  ],
  [
    "generic error",
    "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee",
    { kind: "error", transactionId: aa, code: 201, message: "A Generic Error Ocurred" }
  ],
  [
    "find_node query",
    "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe",
    { kind: "query", method: "find_node", transactionId: aa, id: ABC, target: MNO }
  ],
  [
    "get_peers query",
    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe",
    { kind: "query", method: "get_peers", transactionId: aa, id: ABC, infoHash: MNO }
  ],
  [
    "get_peers response with peers",
    "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re",
    {
      kind: "response",
      transactionId: aa,
      id: ABC,
      token: latin1("aoeusnth"),
      // "axje.u" and "idhtnm" read as compact peers.
      values: [{ host: "97.120.106.101", port: 0x2e75 }, { host: "105.100.104.116", port: 0x6e6d }]
    }
  ],
  [
    // The BEP's dictionary for this example has "implied_port": 1, but its bencoded line (used here) has not.
    "announce_peer query",
    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe" +
    "1:q13:announce_peer1:t2:aa1:y1:qe",
    announce
  ],
  [
    "announce_peer query with implied_port (the BEP's dictionary)",
    "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e" +
    "5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
    { ...announce, impliedPort: true }
  ]
]

describe("KRPC golden packets (BEP 5)", () => {
  for (const [name, bytes, message] of golden) {
    it(`${name}: decodes and encodes to the same bytes`, () => {
      expect(decoded(bytes)).toEqual(message)
      expect(text(encodeKrpc(message))).toBe(bytes)
    })
  }

  it("reads the BEP's placeholder node list \"def456...\" (9 bytes, no whole 26-byte entry) as no nodes", () => {
    expect(decoded("d1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re")).toEqual({
      kind: "response",
      transactionId: aa,
      id: latin1("0123456789abcdefghij"),
      nodes: []
    })
    expect(decoded("d1:rd2:id20:abcdefghij01234567895:nodes9:def456...5:token8:aoeusnthe1:t2:aa1:y1:re")).toEqual({
      kind: "response",
      transactionId: aa,
      id: ABC,
      nodes: [],
      token: latin1("aoeusnth")
    })
  })

  it("writes nodes as 26-byte and nodes6 as 38-byte entries", () => {
    const response: KrpcResponse = {
      kind: "response",
      transactionId: aa,
      id: ABC,
      nodes: [{ id: MNO, host: "10.0.0.1", port: 6881 }],
      nodes6: [{ id: ABC, host: "2001:db8::1", port: 443 }]
    }
    const expected = Buffer.concat([
      latin1("d1:rd2:id20:abcdefghij01234567895:nodes26:mnopqrstuvwxyz123456"),
      Buffer.from("0a0000011ae1", "hex"),
      latin1("6:nodes638:abcdefghij0123456789"),
      Buffer.from("20010db800000000000000000000000101bb", "hex"),
      latin1("e1:t2:aa1:y1:re")
    ])
    expect(text(encodeKrpc(response))).toBe(text(expected))
    expect(decoded(expected)).toEqual(response)
  })

  it("writes and reads v, ro, want and ip", () => {
    const query: KrpcMessage = {
      kind: "query",
      method: "find_node",
      transactionId: aa,
      version: latin1("BT01"),
      id: ABC,
      target: MNO,
      readOnly: true,
      want: ["n4", "n6"]
    }
    const bytes = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n42:n6ee" +
      "1:q9:find_node2:roi1e1:t2:aa1:v4:BT011:y1:qe"
    expect(text(encodeKrpc(query))).toBe(bytes)
    expect(decoded(bytes)).toEqual(query)
    const response = decoded(
      Buffer.concat([
        latin1("d2:ip6:"),
        Buffer.from("7f0000011ae1", "hex"),
        latin1("1:rd2:id20:abcdefghij0123456789e1:t0:1:y1:re")
      ])
    )
    expect(response).toMatchObject({ kind: "response", ip: { host: "127.0.0.1", port: 6881 } })
  })
})

describe("decodeKrpc: round trips", () => {
  it("decodes whatever encodeKrpc writes to the same message, and re-encodes it to the same bytes", () => {
    fc.assert(
      fc.property(krpcMessage, (message) => {
        const bytes = encodeKrpc(message)
        expect(bytes.length).toBeLessThanOrEqual(MAX_KRPC_PACKET)
        const back = decoded(bytes)
        expect(back).toEqual(message)
        expect(text(encodeKrpc(back))).toBe(text(bytes))
      }),
      { numRuns: 500 }
    )
  })

  it("refuses every proper prefix of a valid message as bencode", () => {
    fc.assert(
      fc.property(krpcMessage, fc.nat(), (message, cut) => {
        const bytes = encodeKrpc(message)
        expect(refused(bytes.subarray(0, cut % bytes.length)).reason).toBe("Bencode")
      }),
      { numRuns: 300 }
    )
  })

  it("keeps nothing that refers to the packet", () => {
    const bytes = Buffer.from(golden[5]![1], "latin1")
    const message = decoded(bytes)
    bytes.fill(0x30)
    expect(message).toEqual(golden[5]![2])
  })
})

describe("decodeKrpc: what it refuses", () => {
  const ping = (args: string, rest = "") => `d1:ad${args}e1:q4:ping${rest}1:t2:aa1:y1:qe`
  const id = "2:id20:abcdefghij0123456789"
  const announce = (args: string) =>
    `d1:ad${id}9:info_hash20:mnopqrstuvwxyz123456${args}e1:q13:announce_peer1:t2:aa1:y1:qe`
  const response = (values: string, top = "") => `d${top}1:rd${id}${values}e1:t2:aa1:y1:re`

  const cases: ReadonlyArray<readonly [KrpcDecodeErrorReason, string, string]> = [
    ["Bencode", "truncated", "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q"],
    ["Bencode", "trailing bytes", `${ping(id)}x`],
    ["Bencode", "a duplicate key", "d1:t2:aa1:t2:bb1:y1:qe"],
    ["Bencode", "empty", ""],
    ["NotADictionary", "a list", "l1:t2:aae"],
    ["NotADictionary", "an integer", "i42e"],
    ["MissingKey", "no t", "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe"],
    ["MissingKey", "no y", "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aae"],
    ["MissingKey", "a query without q", "d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe"],
    ["MissingKey", "a query without a", "d1:q4:ping1:t2:aa1:y1:qe"],
    ["MissingKey", "arguments without id", ping("")],
    ["MissingKey", "find_node without target", `d1:ad${id}e1:q9:find_node1:t2:aa1:y1:qe`],
    ["MissingKey", "get_peers without info_hash", `d1:ad${id}e1:q9:get_peers1:t2:aa1:y1:qe`],
    ["MissingKey", "announce_peer without token", announce("4:porti1e")],
    ["MissingKey", "announce_peer without port or implied_port", announce("5:token1:x")],
    ["MissingKey", "a response without r", "d1:t2:aa1:y1:re"],
    ["MissingKey", "a response without id", response("").replace(id, "")],
    ["MissingKey", "an error without e", "d1:t2:aa1:y1:ee"],
    ["MissingKey", "an error with an empty list", "d1:ele1:t2:aa1:y1:ee"],
    ["WrongType", "t an integer", "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:ti1e1:y1:qe"],
    ["WrongType", "y a list", "d1:t2:aa1:yl1:qee"],
    ["WrongType", "v an integer", ping(id, "").replace("1:y1:qe", "1:vi1e1:y1:qe")],
    ["WrongType", "q an integer", "d1:ad2:id20:abcdefghij0123456789e1:qi1e1:t2:aa1:y1:qe"],
    ["WrongType", "a a list", "d1:ale1:q4:ping1:t2:aa1:y1:qe"],
    ["WrongType", "ro a string", ping(id, "2:ro1:1")],
    ["WrongType", "id an integer", ping("2:idi1e")],
    ["WrongType", "want a string", `d1:ad${id}6:target20:mnopqrstuvwxyz1234564:want2:n4e1:q9:find_node1:t2:aa1:y1:qe`],
    ["WrongType", "port a string", announce("4:port4:68815:token1:x")],
    ["WrongType", "implied_port a string", announce("12:implied_port1:14:porti1e5:token1:x")],
    ["WrongType", "token an integer", announce("4:porti1e5:tokeni1e")],
    ["WrongType", "r a list", "d1:rle1:t2:aa1:y1:re"],
    ["WrongType", "nodes an integer", response("5:nodesi1e")],
    ["WrongType", "nodes6 a list", response("6:nodes6le")],
    ["WrongType", "values a string", response("6:values6:abcdef")],
    ["WrongType", "a response token a list", response("5:tokenle")],
    ["WrongType", "e a dictionary", "d1:ede1:t2:aa1:y1:ee"],
    ["WrongType", "an error code a string", "d1:el3:2013:bade1:t2:aa1:y1:ee"],
    ["WrongType", "an error message an integer", "d1:eli201ei1ee1:t2:aa1:y1:ee"],
    ["BadLength", "a 19-byte id", ping("2:id19:abcdefghij012345678")],
    ["BadLength", "a 21-byte target", `d1:ad${id}6:target21:mnopqrstuvwxyz1234567e1:q9:find_node1:t2:aa1:y1:qe`],
    ["BadLength", "an empty info_hash", `d1:ad${id}9:info_hash0:e1:q9:get_peers1:t2:aa1:y1:qe`],
    ["BadLength", "a 40-character hex response id", "d1:rd2:id40:" + "ab".repeat(20) + "e1:t2:aa1:y1:re"],
    ["BadValue", "an unknown y", "d1:t2:aa1:y1:xe"],
    ["BadValue", "a two-letter y", "d1:t2:aa1:y2:qqe"],
    ["BadValue", "port 65536", announce("4:porti65536e5:token1:x")],
    ["BadValue", "port -1", announce("4:porti-1e5:token1:x")],
    ["BadValue", "port 0 without implied_port", announce("4:porti0e5:token1:x")],
    ["UnknownMethod", "an unknown method", "d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:aa1:y1:qe"],
    ["UnknownMethod", "a BEP 44 get", `d1:ad${id}6:target20:mnopqrstuvwxyz123456e1:q3:get1:t2:aa1:y1:qe`]
  ]

  for (const [reason, name, input] of cases) {
    it(`${reason}: ${name}`, () => {
      const error = refused(input)
      expect(error.reason).toBe(reason)
      expect(error.message).toMatch(/^bad KRPC message: ./)
    })
  }

  it("TooLarge: a packet over MAX_KRPC_PACKET bytes, unread", () => {
    const padding = "x".repeat(MAX_KRPC_PACKET)
    const big = `d1:ad2:id20:abcdefghij01234567895:extra${padding.length}:${padding}e1:q4:ping1:t2:aa1:y1:qe`
    expect(refused(big).reason).toBe("TooLarge")
    expect(refused(new Uint8Array(MAX_KRPC_PACKET + 1)).reason).toBe("TooLarge")
  })

  it("keeps t and the message type when they were readable, so that a node can answer with an error", () => {
    const unknown = refused("d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:xy1:y1:qe")
    expect(unknown.transactionId).toEqual(latin1("xy"))
    expect(unknown.messageType).toBe("query")
    const badId = refused("d1:rd2:id3:abce1:t2:zz1:y1:re")
    expect(badId).toMatchObject({ reason: "BadLength", transactionId: latin1("zz"), messageType: "response" })
    const noT = refused("d1:y1:qe")
    expect(noT.transactionId).toBeUndefined()
    expect(noT.messageType).toBe("query")
    expect(refused("le").transactionId).toBeUndefined()
  })

  it("shows an unknown method printably", () => {
    expect(refused("d1:ad2:id20:abcdefghij0123456789e1:q3:\x00\x1b!1:t2:aa1:y1:qe").detail).toBe('unknown method "??!"')
  })
})

describe("decodeKrpc: what it tolerates", () => {
  const id = "2:id20:abcdefghij0123456789"
  const response = (values: string, top = "") => latin1(`d${top}1:rd${id}${values}e1:t2:aa1:y1:re`)
  const node = (host: string, port: string) => `mnopqrstuvwxyz123456${host}${port}`

  it("keeps the whole entries of a node list with a trailing partial one, and skips port 0", () => {
    const list = node("\x0a\x00\x00\x01", "\x1a\xe1") + node("\x0a\x00\x00\x02", "\x00\x00") + "partial"
    const message = decoded(response(`5:nodes${list.length}:${list}`))
    expect(message).toMatchObject({ nodes: [{ host: "10.0.0.1", port: 6881 }] })
  })

  it("skips values of the wrong length or type and port 0, and keeps at most MAX_VALUES", () => {
    const v4 = "6:\x01\x02\x03\x04"
    const message = decoded(response(`6:valuesl5:abcde${v4}\x00\x00i7e${v4}\x00\x01le7:abcdefge`))
    expect(message).toMatchObject({ values: [{ host: "1.2.3.4", port: 1 }] })
    const many = Array.from({ length: MAX_VALUES + 20 }, (_, i) => `${v4}\x00${String.fromCharCode(i + 1)}`)
    const capped = decoded(response(`6:valuesl${many.join("")}e`))
    expect((capped as KrpcResponse).values).toHaveLength(MAX_VALUES)
  })

  it("reads a mixed IPv4 and IPv6 values list (BEP 32)", () => {
    const v6 = "\x20\x01\x0d\xb8" + "\x00".repeat(11) + "\x01\x01\xbb"
    const message = decoded(response(`6:valuesl6:\x01\x02\x03\x04\x00\x0118:${v6}e`))
    expect(message).toMatchObject({ values: [{ host: "1.2.3.4", port: 1 }, { host: "2001:db8::1", port: 443 }] })
  })

  it("ignores a malformed ip, unknown want strings, unknown keys and unsorted keys", () => {
    expect(decoded(response("", "2:ip3:abc"))).not.toHaveProperty("ip")
    expect(decoded(response("", "2:ipi1e"))).not.toHaveProperty("ip")
    const want = decoded(`d1:ad${id}6:target20:mnopqrstuvwxyz1234564:wantl2:n52:n6i1eee1:q9:find_node1:t2:aa1:y1:qe`)
    expect(want).toMatchObject({ want: ["n6"] })
    const unsorted = decoded("d1:y1:q1:t2:aa1:q4:ping5:extrali1ee1:ad2:id20:abcdefghij0123456789ee")
    expect(unsorted).toEqual(golden[0]![2])
  })

  it("takes implied_port without a port (port 0), and implied_port 0 as absent", () => {
    const announce = (args: string) => `d1:ad${id}${args}e1:q13:announce_peer1:t2:aa1:y1:qe`
    const hash = "9:info_hash20:mnopqrstuvwxyz123456"
    expect(decoded(announce(`12:implied_porti1e${hash}5:token1:x`))).toMatchObject({ port: 0, impliedPort: true })
    expect(decoded(announce(`12:implied_porti0e${hash}4:porti9e5:token1:x`))).not.toHaveProperty("impliedPort")
  })

  it("reads an error with no message, and ignores extra list items", () => {
    expect(decoded("d1:eli203ee1:t2:aa1:y1:ee")).toMatchObject({ code: 203, message: "" })
    expect(decoded("d1:eli202e4:oops3:etce1:t2:aa1:y1:ee")).toMatchObject({ code: 202, message: "oops" })
  })
})

describe("encodeKrpc: what it refuses to write", () => {
  const base = { transactionId: aa, id: ABC }
  it("throws RangeError for bad ids, ports, node families and hosts", () => {
    expect(() => encodeKrpc({ ...base, kind: "query", method: "ping", id: ABC.subarray(1) })).toThrow(RangeError)
    const findNode = { ...base, kind: "query", method: "find_node", target: new Uint8Array(21) } as const
    expect(() => encodeKrpc(findNode)).toThrow(RangeError)
    const announce = { ...base, kind: "query", method: "announce_peer", infoHash: MNO, token: aa } as const
    expect(() => encodeKrpc({ ...announce, port: 70_000 })).toThrow(RangeError)
    expect(() => encodeKrpc({ ...announce, port: 1.5 })).toThrow(RangeError)
    const response = { ...base, kind: "response" } as const
    expect(() => encodeKrpc({ ...response, nodes: [{ id: MNO, host: "::1", port: 1 }] })).toThrow(RangeError)
    expect(() => encodeKrpc({ ...response, nodes6: [{ id: MNO, host: "1.2.3.4", port: 1 }] })).toThrow(RangeError)
    expect(() => encodeKrpc({ ...response, nodes: [{ id: MNO, host: "1.2.3.4", port: 0 }] })).toThrow(RangeError)
    expect(() => encodeKrpc({ ...response, values: [{ host: "example.com", port: 1 }] })).toThrow(RangeError)
    expect(() => encodeKrpc({ ...response, ip: { host: "example.com", port: 1 } })).toThrow(RangeError)
  })
})

describe("checkResponse", () => {
  const bare: KrpcResponse = { kind: "response", transactionId: aa, id: ABC }
  it("wants nodes from find_node, and values or nodes from get_peers; nothing more from ping and announce_peer", () => {
    expect(checkResponse("ping", bare)).toBeUndefined()
    expect(checkResponse("announce_peer", bare)).toBeUndefined()
    expect(checkResponse("find_node", bare)).toMatchObject({ reason: "MissingKey", transactionId: aa })
    expect(checkResponse("get_peers", bare)?.reason).toBe("MissingKey")
    expect(checkResponse("find_node", { ...bare, nodes6: [] })).toBeUndefined()
    expect(checkResponse("find_node", { ...bare, values: [] })?.reason).toBe("MissingKey")
    expect(checkResponse("get_peers", { ...bare, values: [] })).toBeUndefined()
    expect(checkResponse("get_peers", { ...bare, nodes: [] })).toBeUndefined()
  })
})
