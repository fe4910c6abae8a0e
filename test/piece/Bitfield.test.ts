import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Bitfield } from "../../src/piece/index.js"

describe("Bitfield", () => {
  it("puts piece 0 in the high bit of the first byte (BEP 3)", () => {
    const bits = new Bitfield(10)
    bits.set(0)
    bits.set(9)
    expect([...bits.toBytes()]).toEqual([0x80, 0x40])
    bits.set(7)
    bits.set(8)
    expect([...bits.toBytes()]).toEqual([0x81, 0xc0])
  })

  it("maintains count through repeated sets and clears", () => {
    const bits = new Bitfield(20)
    bits.set(3)
    bits.set(3)
    bits.set(19)
    expect(bits.count).toBe(2)
    bits.clear(3)
    bits.clear(3)
    bits.clear(4)
    expect(bits.count).toBe(1)
    expect(bits.has(3)).toBe(false)
    expect(bits.has(19)).toBe(true)
  })

  it("answers false for indexes out of range and throws when setting them", () => {
    const bits = Bitfield.full(9)
    expect(bits.has(-1)).toBe(false)
    expect(bits.has(9)).toBe(false)
    expect(bits.has(1.5)).toBe(false)
    expect(() => bits.set(9)).toThrow(RangeError)
    expect(() => bits.clear(-1)).toThrow(RangeError)
    expect(() => new Bitfield(-1)).toThrow(RangeError)
  })

  it("is complete when every piece is set, including the empty bitfield", () => {
    expect(new Bitfield(0).isComplete()).toBe(true)
    expect(new Bitfield(0).toBytes().length).toBe(0)
    const bits = new Bitfield(3)
    bits.set(0)
    bits.set(1)
    expect(bits.isComplete()).toBe(false)
    bits.set(2)
    expect(bits.isComplete()).toBe(true)
  })

  it("full sets exactly size bits and keeps the spare bits zero", () => {
    const bits = Bitfield.full(11)
    expect(bits.count).toBe(11)
    expect([...bits.toBytes()]).toEqual([0xff, 0xe0])
  })

  it("fromBytes copies, and masks spare bits and extra bytes", () => {
    const wire = new Uint8Array([0xff, 0xff, 0xff])
    const bits = Bitfield.fromBytes(wire, 12)
    wire[0] = 0
    expect(bits.count).toBe(12)
    expect([...bits.toBytes()]).toEqual([0xff, 0xf0])
    expect(bits.has(12)).toBe(false)
  })

  it("toBytes is a copy", () => {
    const bits = new Bitfield(8)
    bits.toBytes()[0] = 0xff
    expect(bits.count).toBe(0)
    expect(bits.has(0)).toBe(false)
  })

  it("round-trips through the wire form, with count and forEachSet agreeing", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 70 }), (flags) => {
        const bits = new Bitfield(flags.length)
        flags.forEach((flag, index) => flag && bits.set(index))
        const expected = flags.flatMap((flag, index) => (flag ? [index] : []))
        const copy = Bitfield.fromBytes(bits.toBytes(), flags.length)
        const seen: Array<number> = []
        copy.forEachSet((index) => seen.push(index))
        expect(seen).toEqual(expected)
        expect(copy.count).toBe(expected.length)
        expect(bits.count).toBe(expected.length)
        expect(copy.toBytes().length).toBe(Math.ceil(flags.length / 8))
        flags.forEach((flag, index) => expect(copy.copy().has(index)).toBe(flag))
      })
    )
  })
})
