import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { encodeSack, MAX_SACK_BITS, sackedSeqs } from "../../../src/peer/utp/sack.js"
import { seqAdd } from "../../../src/peer/utp/seq.js"

const hex = (bytes: Uint8Array | undefined) => bytes === undefined ? undefined : Buffer.from(bytes).toString("hex")

describe("uTP selective ACK mask", () => {
  it("matches BEP 29's layout: bit 0 of byte 0 is ack_nr + 2, bit 7 is ack_nr + 9", () => {
    const held = new Set([12, 19, 20, 43])
    const mask = encodeSack(10, held)
    // 12 -> bit 0; 19 -> bit 7; 20 -> byte 1 bit 0; 43 -> bit 31 (byte 3 bit 7)
    expect(hex(mask)).toBe("81010080")
    expect(sackedSeqs(10, mask!)).toEqual([12, 19, 20, 43])
  })

  it("grows by whole 4-byte words and says nothing when nothing is held", () => {
    expect(hex(encodeSack(0, [34]))).toBe("0000000001000000")
    expect(encodeSack(0, [])).toBeUndefined()
    const all = Array.from({ length: 3000 }, (_, i) => i)
    expect(encodeSack(0, all)?.length).toBe(MAX_SACK_BITS / 8)
    // What the mask cannot name (ack_nr + 1 and before, or past its reach) is left out.
    expect(encodeSack(0, [0, 1, 0xffff, 2 + MAX_SACK_BITS])).toBeUndefined()
  })

  it("works across the wrap", () => {
    const mask = encodeSack(0xfffe, [3, 0])
    expect(sackedSeqs(0xfffe, mask!)).toEqual([0, 3])
  })

  it("sackedSeqs undoes encodeSack", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.uniqueArray(fc.integer({ min: 0, max: MAX_SACK_BITS - 1 }), { maxLength: 40 }),
      (ackNr, offsets) => {
        const held = new Set(offsets.map((i) => seqAdd(ackNr, 2 + i)))
        const mask = encodeSack(ackNr, held)
        if (offsets.length === 0) {
          expect(mask).toBeUndefined()
        } else {
          expect(mask!.length % 4).toBe(0)
          expect(new Set(sackedSeqs(ackNr, mask!))).toEqual(held)
        }
      }
    ))
  })
})
