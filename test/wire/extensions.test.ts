import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { SocketAddress } from "node:net"
import {
  decodeCompactPeer,
  decodeCompactPeers,
  decodeIp,
  encodeCompactPeer,
  encodeIp
} from "../../src/wire/index.js"

const hex = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("hex")
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"))

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
