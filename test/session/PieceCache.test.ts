import { describe, expect, it } from "@effect/vitest"
import { PieceBuffers, PieceCache } from "../../src/session/PieceCache.js"

const piece = (byte: number, size = 4) => new Uint8Array(size).fill(byte)

describe("PieceCache", () => {
  it("drops the least recently used pieces past its size, recycling each once no view of it is being sent", () => {
    const recycled: Array<Uint8Array> = []
    const cache = new PieceCache(8, (data) => recycled.push(data))
    const [a, b, c] = [piece(1), piece(2), piece(3)]
    cache.set(0, a)
    cache.set(1, b)
    const cachedA = cache.get(0)! // a is now the most recently used
    expect(cachedA.data).toBe(a)
    const sentA = cachedA.lend() // a block of a is queued on a socket
    cache.set(2, c) // drops b, never lent
    expect(recycled).toEqual([b])
    expect(cache.get(1)).toBeUndefined()
    cache.set(3, piece(4)) // drops a, which is still being sent: not yet
    expect(recycled).toEqual([b])
    expect(cache.get(0)).toBeUndefined()
    sentA() // the socket is done with it
    expect(recycled).toEqual([b, a])
    expect(cache.size).toBe(8)
  })

  it("recycles a piece lent several times only when the last view is sent, and never one still cached", () => {
    const recycled: Array<Uint8Array> = []
    const cache = new PieceCache(4, (data) => recycled.push(data))
    const a = piece(1)
    cache.set(0, a)
    const cached = cache.get(0)!
    const [first, second] = [cached.lend(), cached.lend()]
    first()
    second()
    expect(recycled).toEqual([]) // sent, but still in the cache
    const third = cached.lend()
    cache.set(1, piece(2)) // drops a while a view is out
    expect(recycled).toEqual([])
    third()
    expect(recycled).toEqual([a])
  })

  it("never recycles a piece whose view a transport never reports sent", () => {
    const recycled: Array<Uint8Array> = []
    const cache = new PieceCache(4, (data) => recycled.push(data))
    cache.set(0, piece(1))
    cache.get(0)!.lend() // its connection closed with the block still queued: never reported sent
    cache.set(1, piece(2))
    cache.set(2, piece(3))
    expect(recycled).toHaveLength(1) // piece(2), never lent
    expect(recycled[0]![0]).toBe(2)
  })

  it("keeps the newest piece even when it alone is over the size", () => {
    const recycled: Array<Uint8Array> = []
    const cache = new PieceCache(0, (data) => recycled.push(data))
    const [a, b] = [piece(1), piece(2)]
    cache.set(0, a)
    cache.set(1, b)
    expect(cache.get(1)?.data).toBe(b)
    expect(recycled).toEqual([a])
  })

  it("recycles a piece replaced under the same index once it is not being sent, and keeps one set again", () => {
    const recycled: Array<Uint8Array> = []
    const cache = new PieceCache(100, (data) => recycled.push(data))
    const [a, b, c] = [piece(1), piece(2), piece(3)]
    cache.set(0, a)
    cache.set(0, b)
    expect(recycled).toEqual([a])
    const sent = cache.get(0)!.lend()
    cache.set(0, b) // the same buffer: nothing dropped, the loan still counted
    cache.set(0, c)
    expect(recycled).toEqual([a])
    sent()
    expect(recycled).toEqual([a, b])
    expect(cache.has(0)).toBe(true)
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
