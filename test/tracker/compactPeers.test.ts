import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { isIPv6 } from "node:net"
import { decodeCompactPeers } from "../../src/tracker/compactPeers.js"

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"))

/** One IPv6 entry: 8 groups of 4 hex digits, then port 6881 (0x1ae1). */
const v6Host = (groups: string): string => {
  const peers = decodeCompactPeers(hex(`${groups} 1ae1`), "ipv6")
  expect(peers.length).toBe(1)
  expect(peers[0]!.port).toBe(6881)
  return peers[0]!.host
}

describe("decodeCompactPeers, IPv4", () => {
  it("decodes addresses and big-endian ports", () => {
    expect(decodeCompactPeers(hex("7f000001 1ae1  0a000002 ffff  c0a80101 0001"), "ipv4")).toEqual([
      { host: "127.0.0.1", port: 6881 },
      { host: "10.0.0.2", port: 65535 },
      { host: "192.168.1.1", port: 1 }
    ])
  })

  it("decodes nothing from nothing", () => {
    expect(decodeCompactPeers(new Uint8Array(0), "ipv4")).toEqual([])
  })

  it("skips port 0", () => {
    expect(decodeCompactPeers(hex("7f000001 0000  7f000002 1ae1"), "ipv4")).toEqual([
      { host: "127.0.0.2", port: 6881 }
    ])
  })

  it("drops duplicates but keeps the same host on another port", () => {
    expect(decodeCompactPeers(hex("7f000001 1ae1  7f000001 1ae1  7f000001 1ae2"), "ipv4")).toEqual([
      { host: "127.0.0.1", port: 6881 },
      { host: "127.0.0.1", port: 6882 }
    ])
  })

  it("ignores a trailing partial entry", () => {
    expect(decodeCompactPeers(hex("7f000001 1ae1  7f0000"), "ipv4")).toEqual([{ host: "127.0.0.1", port: 6881 }])
    expect(decodeCompactPeers(hex("7f000001 1a"), "ipv4")).toEqual([])
  })
})

describe("decodeCompactPeers, IPv6 formatting (RFC 5952)", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["0000 0000 0000 0000 0000 0000 0000 0001", "::1"],
    ["2001 0db8 0000 0000 0000 0000 0002 0001", "2001:db8::2:1"],
    ["fe80 0000 0000 0000 0000 0000 0000 0000", "fe80::"],
    ["0000 0000 0000 0000 0000 0000 0000 0000", "::"],
    ["2001 0db8 0001 0002 0003 0004 0005 0006", "2001:db8:1:2:3:4:5:6"],
    ["ABCD EF01 2345 6789 abcd ef01 2345 6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"],
    // A single zero group stays as it is.
    ["2001 0db8 0000 0001 0001 0001 0001 0001", "2001:db8:0:1:1:1:1:1"],
    ["0000 0001 0002 0003 0004 0005 0006 0007", "0:1:2:3:4:5:6:7"],
    ["0001 0002 0003 0004 0005 0006 0007 0000", "1:2:3:4:5:6:7:0"],
    // Ties between runs of equal length: the first one is shortened.
    ["2001 0db8 0000 0000 0001 0000 0000 0001", "2001:db8::1:0:0:1"],
    ["0000 0000 0001 0000 0000 0001 0001 0001", "::1:0:0:1:1:1"],
    ["0001 0000 0000 0001 0001 0001 0000 0000", "1::1:1:1:0:0"],
    // The longest run wins wherever it is.
    ["2001 0000 0000 0001 0000 0000 0000 0001", "2001:0:0:1::1"],
    ["0000 0000 0001 0000 0000 0000 0001 0001", "0:0:1::1:1"],
    ["0001 0000 0000 0001 0000 0000 0000 0000", "1:0:0:1::"]
  ]
  for (const [groups, expected] of cases) {
    it(`${groups} → ${expected}`, () => {
      expect(v6Host(groups)).toBe(expected)
    })
  }

  it("skips port 0, drops duplicates and ignores a trailing partial entry", () => {
    const one = "2001 0db8 0000 0000 0000 0000 0002 0001"
    const bytes = hex(`${one} 0000  ${one} 1ae1  ${one} 1ae1  ${one} 1a`)
    expect(decodeCompactPeers(bytes, "ipv6")).toEqual([{ host: "2001:db8::2:1", port: 6881 }])
  })

  it("prints any address as a valid, canonical IPv6 literal that round-trips through the URL parser", () => {
    // Bias towards zero groups so that runs, ties and single zeros all come up.
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const bytes = new Uint8Array(18)
        groups.forEach((value, i) => {
          bytes[2 * i] = value >> 8
          bytes[2 * i + 1] = value & 0xff
        })
        bytes[17] = 1
        const host = decodeCompactPeers(bytes, "ipv6")[0]!.host
        expect(isIPv6(host)).toBe(true)
        // WHATWG URL serialization of IPv6 hosts follows RFC 5952 (without the IPv4-in-IPv6 forms).
        expect(new URL(`http://[${host}]/`).hostname).toBe(`[${host}]`)
      })
    )
  })
})
