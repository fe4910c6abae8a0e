import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { type RandomBytes, TOKEN_LENGTH, TOKEN_ROTATION_MS, Tokens } from "../../src/dht/index.js"

const MINUTE = 60_000

/** Secrets 0x01 x 16, 0x02 x 16, ... in the order they are drawn. */
const counting = (): RandomBytes => {
  let n = 0
  return (size) => new Uint8Array(size).fill(++n)
}

describe("announce tokens", () => {
  it("are the first 8 bytes of SHA-1(compact IP + secret)", () => {
    const tokens = new Tokens(0, { random: counting() })
    const secret = new Uint8Array(16).fill(1) // the current secret is drawn first
    const expected = createHash("sha1").update(Uint8Array.from([10, 0, 0, 1])).update(secret).digest()
    const token = tokens.issue("10.0.0.1", 0)
    expect(token).toHaveLength(TOKEN_LENGTH)
    expect(Buffer.from(token).toString("hex")).toBe(expected.subarray(0, TOKEN_LENGTH).toString("hex"))
  })

  it("are accepted only from the IP they were issued to, unaltered", () => {
    const tokens = new Tokens(0)
    const token = tokens.issue("10.0.0.1", 0)
    expect(tokens.check("10.0.0.1", token, 1)).toBe(true)
    expect(tokens.check("10.0.0.2", token, 1)).toBe(false)
    const altered = Uint8Array.from(token)
    altered[7] = altered[7]! ^ 1
    expect(tokens.check("10.0.0.1", altered, 1)).toBe(false)
    expect(tokens.check("10.0.0.1", token.subarray(0, 7), 1)).toBe(false)
    expect(tokens.check("10.0.0.1", new Uint8Array(0), 1)).toBe(false)
    const v6 = tokens.issue("2001:db8::1", 0)
    expect(tokens.check("2001:db8::1", v6, 1)).toBe(true)
    expect(tokens.check("2001:db8::2", v6, 1)).toBe(false)
  })

  it("stay valid under the current and the previous secret: 5 to 10 minutes", () => {
    const tokens = new Tokens(0)
    const early = tokens.issue("10.0.0.1", 0)
    const late = tokens.issue("10.0.0.1", TOKEN_ROTATION_MS - 1)
    expect(late).toEqual(early) // one secret for the whole period
    expect(tokens.check("10.0.0.1", early, TOKEN_ROTATION_MS)).toBe(true)
    expect(tokens.check("10.0.0.1", early, 2 * TOKEN_ROTATION_MS - 1)).toBe(true)
    expect(tokens.check("10.0.0.1", early, 2 * TOKEN_ROTATION_MS)).toBe(false)
    const next = tokens.issue("10.0.0.1", 2 * TOKEN_ROTATION_MS)
    expect(next).not.toEqual(early)
    expect(tokens.check("10.0.0.1", next, 3 * TOKEN_ROTATION_MS + 1)).toBe(true)
  })

  it("are all refused after a long silence: both secrets are new", () => {
    const tokens = new Tokens(0)
    const token = tokens.issue("10.0.0.1", 4 * MINUTE)
    expect(tokens.check("10.0.0.1", token, 60 * MINUTE)).toBe(false)
    // And the rotation stays on the 5-minute grid.
    const fresh = tokens.issue("10.0.0.1", 60 * MINUTE + 1)
    expect(tokens.check("10.0.0.1", fresh, 70 * MINUTE - 1)).toBe(true)
    expect(tokens.check("10.0.0.1", fresh, 70 * MINUTE)).toBe(false)
  })

  it("take a clock that steps back in their stride", () => {
    const tokens = new Tokens(10 * MINUTE)
    const token = tokens.issue("10.0.0.1", 10 * MINUTE)
    expect(tokens.check("10.0.0.1", token, 9 * MINUTE)).toBe(true)
  })
})
