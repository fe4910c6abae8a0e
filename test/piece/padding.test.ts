import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Bitfield, BLOCK_SIZE, paddingBlocks, PiecePicker } from "../../src/piece/index.js"

const PIECE = 4 * BLOCK_SIZE

describe("paddingBlocks (BEP 47)", () => {
  it("lists the blocks wholly inside padding, not those it only touches", () => {
    const geometry = { pieceCount: 3, pieceLength: PIECE, totalLength: 3 * PIECE - 100 }
    // Piece 0: file data to 1.5 blocks, then padding to the piece's end: blocks 2 and 3 are padding, 1 is not.
    // Piece 1: padding of exactly its last block. Piece 2 (short): padding in its last, short block.
    const ranges = [
      { offset: 1.5 * BLOCK_SIZE, length: PIECE - 1.5 * BLOCK_SIZE },
      { offset: PIECE + 3 * BLOCK_SIZE, length: BLOCK_SIZE },
      { offset: 2 * PIECE + 3 * BLOCK_SIZE, length: BLOCK_SIZE - 100 }
    ]
    expect([...paddingBlocks(geometry, ranges)]).toEqual([[0, [2, 3]], [1, [3]], [2, [3]]])
  })

  it("keeps the blocks of a piece that is padding alone, and ignores empty padding", () => {
    const geometry = { pieceCount: 2, pieceLength: PIECE, totalLength: 2 * PIECE }
    expect([...paddingBlocks(geometry, [{ offset: PIECE, length: PIECE }, { offset: 10, length: 0 }])]).toEqual([])
  })
})

describe("PiecePicker with padding", () => {
  const geometry = { pieceCount: 3, pieceLength: PIECE, totalLength: 3 * PIECE }
  // Padding: the last 2.5 blocks of piece 0 (so blocks 2 and 3), the last block of piece 1.
  const padding = [{ offset: 1.5 * BLOCK_SIZE, length: 2.5 * BLOCK_SIZE }, { offset: PIECE + 3 * BLOCK_SIZE, length: BLOCK_SIZE }]
  const isPad = (index: number, begin: number) => (index === 0 && begin >= 2 * BLOCK_SIZE) || (index === 1 && begin === 3 * BLOCK_SIZE)

  it("never hands out a block wholly in padding, and a piece is whole once its other blocks are in", () => {
    const p = new PiecePicker<string>({ ...geometry, random: () => 0, sequential: true, padding })
    p.addPeer("a", Bitfield.full(3))
    const asked = p.nextRequests("a", Bitfield.full(3), 100, 0)
    expect(asked.filter((r) => isPad(r.index, r.begin))).toEqual([])
    expect(asked.map((r) => [r.index, r.begin / BLOCK_SIZE])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2], [2, 3]])
    p.checkInvariants()
    expect(p.blockReceived("a", 0, 0, BLOCK_SIZE, 1).pieceComplete).toBe(false)
    expect(p.blockReceived("a", 0, BLOCK_SIZE, BLOCK_SIZE, 1).pieceComplete).toBe(true)
    // A padding block sent anyway is not taken.
    expect(p.blockReceived("a", 1, 3 * BLOCK_SIZE, BLOCK_SIZE, 1).accepted).toBe(false)
    p.checkInvariants()
  })

  it("after a failed check asks again for the piece's data, never its padding; no endgame duplicates padding", () => {
    const p = new PiecePicker<string>({ ...geometry, random: () => 0, sequential: true, padding })
    p.addPeer("a", Bitfield.full(3))
    p.addPeer("b", Bitfield.full(3))
    for (const r of p.nextRequests("a", Bitfield.full(3), 100, 0)) p.blockReceived("a", r.index, r.begin, r.length, 1)
    p.pieceFailed(0)
    p.checkInvariants()
    const again = p.nextRequests("b", Bitfield.full(3), 100, 2)
    expect(again.map((r) => [r.index, r.begin / BLOCK_SIZE])).toEqual([[0, 0], [0, 1]])
    // Endgame: "a" may duplicate b's blocks, padding never.
    const duplicates = p.nextRequests("a", Bitfield.full(3), 100, 10_000)
    expect(duplicates.filter((r) => isPad(r.index, r.begin))).toEqual([])
    p.checkInvariants()
  })

  it("random padding: no request ever covers a padding block, and the torrent completes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3 * BLOCK_SIZE })), { maxLength: 6 }),
        fc.nat(),
        (pieceCount, raw, seed) => {
          const totalLength = pieceCount * PIECE - 7
          // Padding at the end of a piece, as BEP 47 lays it out (never a whole piece).
          const ranges = raw.map(([piece, length]) => {
            const index = piece % pieceCount
            const end = Math.min((index + 1) * PIECE, totalLength)
            const size = Math.min(length, end - index * PIECE - 1)
            return { offset: end - size, length: size }
          })
          const pads = paddingBlocks({ pieceCount, pieceLength: PIECE, totalLength }, ranges)
          let state = seed
          const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32)
          const p = new PiecePicker<string>({ pieceCount, pieceLength: PIECE, totalLength, random, padding: ranges })
          const peers = ["a", "b"]
          for (const peer of peers) p.addPeer(peer, Bitfield.full(pieceCount))
          for (let round = 0; round < 20 * pieceCount && !p.isComplete(); round++) {
            const peer = peers[round % 2]!
            for (const r of p.nextRequests(peer, Bitfield.full(pieceCount), 3, round)) {
              expect(pads.get(r.index)?.includes(r.begin / BLOCK_SIZE) ?? false).toBe(false)
              if (p.blockReceived(peer, r.index, r.begin, r.length, round).pieceComplete) p.pieceVerified(r.index)
            }
            p.checkInvariants()
          }
          expect(p.isComplete()).toBe(true)
        }
      ),
      { numRuns: 200 }
    )
  })
})
