import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { crc32c, isExemptAddress, isSecureNodeId, secureNodeId } from "../../src/dht/bep42.js"

/** The BEP's own table: IP, rand, the node id it gives (middle bytes free). */
const VECTORS = [
  ["124.31.75.21", 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"],
  ["21.75.31.124", 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"],
  ["65.23.51.170", 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616"],
  ["84.124.73.14", 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41"],
  ["43.213.53.83", 90, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a"]
] as const

describe("BEP 42 node ids", () => {
  it("CRC-32C matches the standard check value", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283)
  })

  it("the BEP's vectors: the ids given are secure for their address, and ours have the same 21-bit prefix", () => {
    for (const [ip, rand, hex] of VECTORS) {
      const given = Uint8Array.from(Buffer.from(hex, "hex"))
      expect(isSecureNodeId(given, ip)).toBe(true)
      const ours = secureNodeId(ip, (n) => {
        const bytes = new Uint8Array(n)
        bytes[19] = rand
        return bytes
      })!
      expect(Buffer.from(ours.subarray(0, 2)).toString("hex")).toBe(hex.slice(0, 4))
      expect(ours[2]! & 0xf8).toBe(given[2]! & 0xf8)
      expect(ours[19]).toBe(rand)
      // Another address does not pass with the same id.
      expect(isSecureNodeId(given, "8.8.8.8")).toBe(false)
    }
  })

  it("ids made for any public IPv4 or IPv6 address check out; changing the prefix breaks them", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.uint8Array({ minLength: 20, maxLength: 20 }), (ip, seed) => {
        const id = secureNodeId(ip, () => Uint8Array.from(seed))
        if (id === undefined) return // an IPv6 form with an embedded IPv4 part
        expect(isSecureNodeId(id, ip)).toBe(true)
        if (!isExemptAddress(ip)) {
          id[0] = id[0]! ^ 0x80
          expect(isSecureNodeId(id, ip)).toBe(false)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("local addresses are exempt", () => {
    for (const ip of ["10.1.2.3", "127.0.0.1", "172.20.0.1", "192.168.1.1", "169.254.0.1", "::1", "fd00::1", "fe80::1"]) {
      expect(isExemptAddress(ip)).toBe(true)
      expect(isSecureNodeId(new Uint8Array(20), ip)).toBe(true)
    }
    for (const ip of ["8.8.8.8", "172.32.0.1", "2001:db8::1"]) expect(isExemptAddress(ip)).toBe(false)
  })
})
