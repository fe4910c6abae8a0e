import { describe, expect, it } from "@effect/vitest"
import { PieceBuffers, PieceCache } from "../../src/session/PieceCache.js"

const piece = (byte: number, size = 4) => new Uint8Array(size).fill(byte)

describe("PieceCache", () => {
  it("drops the least recently used pieces past its size, and recycles those never handed out", () => {
    const recycled: Array<Uint8Array> = []
    const cache = new PieceCache(8, (data) => recycled.push(data))
    const [a, b, c] = [piece(1), piece(2), piece(3)]
    cache.set(0, a)
    cache.set(1, b)
    expect(cache.get(0)).toBe(a) // a is now the most recently used, and lent
    cache.set(2, c) // drops b, never handed out
    expect(recycled).toEqual([b])
    expect(cache.get(1)).toBeUndefined()
    cache.set(3, piece(4)) // drops a, which was handed out: it may still be in a send queue
    expect(recycled).toEqual([b])
    expect(cache.get(0)).toBeUndefined()
    expect(cache.size).toBe(8)
  })

  it("keeps the newest piece even when it alone is over the size", () => {
    const recycled: Array<Uint8Array> = []
    const cache = new PieceCache(0, (data) => recycled.push(data))
    const [a, b] = [piece(1), piece(2)]
    cache.set(0, a)
    cache.set(1, b)
    expect(cache.get(1)).toBe(b)
    expect(recycled).toEqual([a])
  })

  it("recycles a piece replaced under the same index, unless handed out", () => {
    const recycled: Array<Uint8Array> = []
    const cache = new PieceCache(100, (data) => recycled.push(data))
    const [a, b, c] = [piece(1), piece(2), piece(3)]
    cache.set(0, a)
    cache.set(0, b)
    expect(recycled).toEqual([a])
    cache.get(0)
    cache.set(0, c)
    expect(recycled).toEqual([a])
    expect(cache.size).toBe(4)
  })
})

describe("PieceBuffers", () => {
  it("hands back given buffers of the piece length, keeping at most `keep` of them", () => {
    const buffers = new PieceBuffers(4, 2)
    const [a, b, c] = [piece(1), piece(2), piece(3)]
    buffers.give(a)
    buffers.give(b)
    buffers.give(c) // over `keep`: left to the garbage collector
    buffers.give(piece(9, 3)) // not a whole piece's size
    expect(buffers.spare).toBe(2)
    expect(buffers.take(4)).toBe(b)
    expect(buffers.take(4)).toBe(a)
    const fresh = buffers.take(4)
    expect(fresh).not.toBe(c)
    expect(fresh).toEqual(new Uint8Array(4))
  })

  it("allocates the short last piece anew, leaving the spares for whole pieces", () => {
    const buffers = new PieceBuffers(4, 2)
    buffers.give(piece(1))
    expect(buffers.take(3)).toEqual(new Uint8Array(3))
    expect(buffers.spare).toBe(1)
  })
})
