import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { generateKeyPair, KEY_LENGTH, keyPairFrom, PRIME, sharedSecret } from "../../../src/peer/mse/dh.js"
import golden from "./golden.json" with { type: "json" }

const P = BigInt(`0x${PRIME.toString("hex")}`)
const toBig = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`)
const toBytes = (value: bigint) => new Uint8Array(Buffer.from(value.toString(16).padStart(2 * KEY_LENGTH, "0"), "hex"))
const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"))

/** The oracle: square-and-multiply on BigInts. */
const modpow = (base: bigint, exponent: bigint): bigint => {
  let result = 1n
  let b = base % P
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P
    b = (b * b) % P
  }
  return result
}

describe("MSE Diffie-Hellman", () => {
  it("uses the spec's 768-bit prime", () => {
    expect(PRIME.length).toBe(96)
    expect(P.toString(2).length).toBe(768)
    expect(PRIME.toString("hex").endsWith("a63a36210000000000090563")).toBe(true)
  })

  it("makes 160-bit private keys and 96-byte public keys G^x mod P", () => {
    for (let i = 0; i < 20; i++) {
      const { privateKey, publicKey } = generateKeyPair()
      expect(privateKey.length).toBe(20)
      expect(publicKey.length).toBe(KEY_LENGTH)
      expect(toBig(publicKey)).toBe(modpow(2n, toBig(privateKey)))
    }
  })

  it("zero-pads a public key that is shorter than P", () => {
    // About one key in 256 has a leading zero byte; find one deterministically.
    let found = 0
    for (let i = 1; found === 0; i++) {
      const privateKey = new Uint8Array(20)
      new DataView(privateKey.buffer).setUint32(16, i)
      const { publicKey } = keyPairFrom(privateKey)
      if (publicKey[0] !== 0) continue
      found = i
      expect(publicKey.length).toBe(KEY_LENGTH)
      expect(publicKey).toEqual(toBytes(modpow(2n, BigInt(i))))
    }
  })

  it("agrees on S from both sides, as the oracle computes it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), (xa, xb) => {
        fc.pre(xa.some((b) => b !== 0) && xb.some((b) => b !== 0))
        const a = keyPairFrom(xa)
        const b = keyPairFrom(xb)
        const s1 = sharedSecret(a.privateKey, b.publicKey)
        const s2 = sharedSecret(b.privateKey, a.publicKey)
        expect(s1).toEqual(s2)
        expect(s1).toEqual(toBytes(modpow(2n, toBig(xa) * toBig(xb))))
      }),
      { numRuns: 50 }
    )
  })

  it("matches the golden vectors", () => {
    for (const vector of golden) {
      const a = keyPairFrom(fromHex(vector.xa))
      const b = keyPairFrom(fromHex(vector.xb))
      expect(Buffer.from(a.publicKey).toString("hex")).toBe(vector.step1.slice(0, 192))
      expect(Buffer.from(b.publicKey).toString("hex")).toBe(vector.step2.slice(0, 192))
      expect(sharedSecret(a.privateKey, b.publicKey)).toEqual(fromHex(vector.secret))
    }
  })

  it("rejects public keys 0, 1, P-1 and above, and of the wrong length, without throwing", () => {
    const { privateKey } = generateKeyPair()
    for (const bad of [0n, 1n, P - 1n, P, 2n ** 768n - 1n]) {
      expect(sharedSecret(privateKey, toBytes(bad))).toMatch(/out of range/)
    }
    expect(sharedSecret(privateKey, new Uint8Array(95).fill(7))).toMatch(/95 bytes/)
    expect(sharedSecret(privateKey, new Uint8Array(97).fill(7))).toMatch(/97 bytes/)
    for (const good of [2n, P - 2n]) {
      expect(sharedSecret(privateKey, toBytes(good))).toEqual(toBytes(modpow(good, toBig(privateKey))))
    }
  })
})
