import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { seqAdd, seqDiff, seqLess, seqLessOrEqual } from "../../../src/peer/utp/seq.js"

const seq = fc.integer({ min: 0, max: 0xffff })
/** Numbers near the wrap, where the bugs are. */
const nearWrap = fc.oneof(seq, fc.integer({ min: 0xff00, max: 0xffff }), fc.integer({ min: 0, max: 0xff }))
const step = fc.integer({ min: -0x8000, max: 0x7fff })

describe("uTP sequence numbers", () => {
  it("wrap at 16 bits", () => {
    expect(seqAdd(0xffff, 1)).toBe(0)
    expect(seqAdd(0, -1)).toBe(0xffff)
    expect(seqAdd(0xfff0, 0x20)).toBe(0x10)
    expect(seqDiff(0, 0xffff)).toBe(1)
    expect(seqDiff(0xffff, 0)).toBe(-1)
    expect(seqDiff(5, 5)).toBe(0)
    expect(seqDiff(0x8000, 0)).toBe(-0x8000)
    expect(seqDiff(0x7fff, 0)).toBe(0x7fff)
    expect(seqLess(0xfffe, 2)).toBe(true)
    expect(seqLess(2, 0xfffe)).toBe(false)
    expect(seqLess(7, 7)).toBe(false)
    expect(seqLessOrEqual(7, 7)).toBe(true)
  })

  it("seqAdd stays in 16 bits and seqDiff undoes it", () => {
    fc.assert(fc.property(nearWrap, step, (a, n) => {
      const b = seqAdd(a, n)
      expect(b).toBeGreaterThanOrEqual(0)
      expect(b).toBeLessThanOrEqual(0xffff)
      expect(seqDiff(b, a)).toBe(n)
      expect(seqAdd(a, seqDiff(b, a))).toBe(b)
    }))
  })

  it("seqDiff is antisymmetric except at half the circle", () => {
    fc.assert(fc.property(nearWrap, nearWrap, (a, b) => {
      const d = seqDiff(a, b)
      expect(d).toBeGreaterThanOrEqual(-0x8000)
      expect(d).toBeLessThanOrEqual(0x7fff)
      if (d !== -0x8000) expect(seqDiff(b, a) + d).toBe(0) // (not toBe(-d): -0 is not 0 to Object.is)
    }))
  })

  it("seqLess orders a window of less than half the circle, across the wrap", () => {
    fc.assert(fc.property(nearWrap, fc.integer({ min: 0, max: 0x7fff }), fc.integer({ min: 0, max: 0x7fff }), (
      base,
      i,
      j
    ) => {
      const a = seqAdd(base, i)
      const b = seqAdd(base, j)
      expect(seqLess(a, b)).toBe(i < j)
      expect(seqLessOrEqual(a, b)).toBe(i <= j)
    }))
  })
})
