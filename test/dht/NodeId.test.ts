import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  bitAt,
  bucketIndex,
  compareDistance,
  compareIds,
  equalIds,
  flipBit,
  isNodeId,
  nodeIdHex,
  randomIdSharing,
  randomIdWithPrefix,
  randomNodeId,
  xorDistance
} from "../../src/dht/index.js"
import { nodeId } from "./arbitraries.js"

const big = (id: Uint8Array): bigint => BigInt(`0x${nodeIdHex(id)}`)
const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, "hex"))
const ZERO = new Uint8Array(20)
/** A random source drawing from fast-check, so that properties shrink. */
const source = fc.infiniteStream(fc.integer({ min: 0, max: 255 })).map((stream) => {
  const it = stream[Symbol.iterator]()
  return (size: number) => Uint8Array.from({ length: size }, () => it.next().value as number)
})

describe("node ids", () => {
  it("measures XOR distance as an unsigned 160-bit number", () => {
    fc.assert(
      fc.property(nodeId, nodeId, nodeId, (target, a, b) => {
        expect(big(xorDistance(a, b))).toBe(big(a) ^ big(b))
        const da = big(a) ^ big(target)
        const db = big(b) ^ big(target)
        expect(Math.sign(compareDistance(target, a, b))).toBe(da < db ? -1 : da > db ? 1 : 0)
        expect(Math.sign(compareIds(a, b))).toBe(big(a) < big(b) ? -1 : big(a) > big(b) ? 1 : 0)
        expect(equalIds(a, b)).toBe(big(a) === big(b))
      })
    )
  })

  it("counts the leading bits two ids share", () => {
    expect(bucketIndex(ZERO, ZERO)).toBe(160)
    expect(bucketIndex(ZERO, fromHex("80" + "00".repeat(19)))).toBe(0)
    expect(bucketIndex(ZERO, fromHex("01" + "00".repeat(19)))).toBe(7)
    expect(bucketIndex(ZERO, fromHex("00".repeat(19) + "01"))).toBe(159)
    fc.assert(
      fc.property(nodeId, nodeId, (a, b) => {
        expect(bucketIndex(a, b)).toBe(160 - (big(a) ^ big(b)).toString(2).replace(/^0$/, "").length)
      })
    )
  })

  it("reads and flips bits from the most significant", () => {
    const id = fromHex("80" + "00".repeat(18) + "01")
    expect(bitAt(id, 0)).toBe(1)
    expect(bitAt(id, 1)).toBe(0)
    expect(bitAt(id, 159)).toBe(1)
    expect(nodeIdHex(flipBit(id, 0))).toBe("00".repeat(19) + "01")
    expect(nodeIdHex(id)).toBe("80" + "00".repeat(18) + "01")
  })

  it("draws random ids in a prefix's range and in a bucket's", () => {
    fc.assert(
      fc.property(nodeId, fc.integer({ min: 0, max: 160 }), source, (prefix, bits, random) => {
        const id = randomIdWithPrefix(prefix, bits, random)
        expect(isNodeId(id)).toBe(true)
        expect(bucketIndex(prefix, id)).toBeGreaterThanOrEqual(bits)
      })
    )
    fc.assert(
      fc.property(nodeId, fc.integer({ min: 0, max: 159 }), source, (own, shared, random) => {
        expect(bucketIndex(own, randomIdSharing(own, shared, random))).toBe(shared)
      })
    )
  })

  it("draws fresh ids from the random source it is given, or node:crypto", () => {
    expect(nodeIdHex(randomNodeId((size) => new Uint8Array(size).fill(7)))).toBe("07".repeat(20))
    const a = randomNodeId()
    expect(isNodeId(a)).toBe(true)
    expect(equalIds(a, randomNodeId())).toBe(false)
    expect(isNodeId(new Uint8Array(19))).toBe(false)
    expect(isNodeId("x".repeat(20))).toBe(false)
  })
})
