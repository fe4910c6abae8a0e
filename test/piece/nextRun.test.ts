import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Bitfield, BLOCK_SIZE, PiecePicker } from "../../src/piece/index.js"

const PIECE = 2 * BLOCK_SIZE

const picker = (pieceCount: number, random = () => 0) =>
  new PiecePicker<string>({ pieceCount, pieceLength: PIECE, totalLength: pieceCount * PIECE - 100, random, randomFirstPieces: 0 })

const offsets = (requests: ReadonlyArray<{ index: number; begin: number }>) => requests.map((r) => r.index * PIECE + r.begin)

describe("PiecePicker.nextRun (web seeds)", () => {
  it("hands out adjacent blocks: a piece, then the pieces after it while they are candidates", () => {
    const p = new PiecePicker<string>({ pieceCount: 10, pieceLength: PIECE, totalLength: 10 * PIECE, random: () => 0, sequential: true })
    p.addPeer("web", Bitfield.full(10))
    p.addPeer("peer", Bitfield.full(10))
    // Another peer started piece 5 (and holds its first block); the web seed may take pieces 2 to 7.
    const five = new Bitfield(10)
    five.set(5)
    expect(p.nextRequests("peer", five, 1, 0)).toEqual([{ index: 5, begin: 0, length: BLOCK_SIZE }])
    const some = new Bitfield(10)
    for (let i = 2; i <= 7; i++) some.set(i)
    // Pieces 2, 3 and 4, adjacent, stopping before the peer's piece; then 6 and 7; then the rest of piece 5.
    expect(offsets(p.nextRun("web", some, 100, 0))).toEqual([4, 5, 6, 7, 8, 9].map((b) => b * BLOCK_SIZE))
    expect(offsets(p.nextRun("web", some, 100, 0))).toEqual([12, 13, 14, 15].map((b) => b * BLOCK_SIZE))
    expect(p.nextRun("web", some, 100, 0)).toEqual([{ index: 5, begin: BLOCK_SIZE, length: BLOCK_SIZE }])
    p.checkInvariants()
  })

  it("with whole pieces asked, every run is adjacent, no block goes out twice, and the runs cover the torrent", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5 }), fc.nat(), (pieceCount, pieces, seed) => {
        const max = pieces * 2
        let state = seed
        const p = picker(pieceCount, () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32))
        p.addPeer("web", Bitfield.full(pieceCount))
        const seen = new Set<number>()
        for (let round = 0; round < 4 * pieceCount && !p.inEndgame(); round++) {
          const run = p.nextRun("web", Bitfield.full(pieceCount), max, 0)
          expect(run.length).toBeGreaterThan(0)
          expect(run.length).toBeLessThanOrEqual(max)
          const at = offsets(run)
          expect(at).toEqual(at.map((_, i) => at[0]! + i * BLOCK_SIZE))
          for (const offset of at) {
            expect(seen.has(offset)).toBe(false)
            seen.add(offset)
          }
          p.checkInvariants()
        }
        expect(p.inEndgame()).toBe(true)
        expect(seen.size).toBe(Math.ceil((pieceCount * PIECE - 100) / BLOCK_SIZE))
      })
    )
  })

  it("with no new piece to start, gives what nextRequests would: the free blocks of partial pieces", () => {
    const p = picker(2)
    p.addPeer("peer", Bitfield.full(2))
    p.addPeer("web", Bitfield.full(2))
    const first = p.nextRequests("peer", Bitfield.full(2), 4, 0)
    expect(first.length).toBe(4)
    p.requestRejected("peer", 1, 0)
    expect(p.nextRun("web", Bitfield.full(2), 10, 0)).toEqual([{ index: 1, begin: 0, length: BLOCK_SIZE }])
    p.checkInvariants()
  })
})
