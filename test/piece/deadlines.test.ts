import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { Bitfield, BLOCK_SIZE, DEADLINE_LATE_MS, PiecePicker, Priority } from "../../src/piece/index.js"
import { seeded } from "../support/seeded.js"

const PIECE = 2 * BLOCK_SIZE
const COUNT = 12

const all = () => {
  const bits = new Bitfield(COUNT)
  for (let i = 0; i < COUNT; i++) bits.set(i)
  return bits
}

/** A picker of 12 two-block pieces, `skip` for those in `skipped`, `deadline` for those in `deadline`. */
const picker = (deadline: ReadonlyArray<number>, skipped: ReadonlyArray<number> = []) => {
  const priorities = new Uint8Array(COUNT).fill(Priority.normal)
  for (const i of skipped) priorities[i] = Priority.skip
  for (const i of deadline) priorities[i] = Priority.deadline
  const p = new PiecePicker<string>({ pieceCount: COUNT, pieceLength: PIECE, totalLength: COUNT * PIECE, random: seeded(3), priorities })
  p.addPeer("a", all())
  p.addPeer("b", all())
  return p
}

describe("PiecePicker deadlines", () => {
  it("requests a reader's pieces first, in order, even in skipped files, each window in turn", () => {
    const p = picker([3, 4, 5, 9, 10], [3, 4, 5, 9, 10])
    p.setWindows([{ from: 3, to: 5 }, { from: 9, to: 10 }])
    const asked = p.nextRequests("a", all(), 10, 0).map((r) => r.index)
    // Each window's next piece before either window's second: 3, 9, 4, 10, 5 (two blocks each).
    assert.deepStrictEqual(asked, [3, 3, 9, 9, 4, 4, 10, 10, 5, 5])
  })

  it.effect("asks a second peer for a reader's block that is late with the first (TestClock)", () =>
    Effect.gen(function*() {
      const p = picker([7])
      p.setWindows([{ from: 7, to: 7 }])
      const first = p.nextRequests("a", all(), 2, yield* Clock.currentTimeMillis)
      assert.deepStrictEqual(first.map((r) => r.index), [7, 7])

      // Not late yet: b gets other pieces.
      yield* TestClock.adjust(DEADLINE_LATE_MS / 2)
      const early = p.nextRequests("b", all(), 2, yield* Clock.currentTimeMillis)
      assert.isFalse(early.some((r) => r.index === 7))

      // Late: b is asked for both blocks of piece 7 as well.
      yield* TestClock.adjust(DEADLINE_LATE_MS)
      const late = p.nextRequests("b", all(), 4, yield* Clock.currentTimeMillis)
      assert.deepStrictEqual(late.filter((r) => r.index === 7).map((r) => r.begin), [0, BLOCK_SIZE])

      // b answers first: a is told to cancel, and a's late answer is not taken twice.
      const now = yield* Clock.currentTimeMillis
      const got = p.blockReceived("b", 7, 0, BLOCK_SIZE, now)
      assert.isTrue(got.accepted)
      assert.deepStrictEqual(got.cancel.map((c) => [c.peer, c.index, c.begin]), [["a", 7, 0]])
      assert.isFalse(p.blockReceived("a", 7, 0, BLOCK_SIZE, now).accepted)
      p.checkInvariants()
    }))

  it("an ordinary piece is never duplicated outside endgame however late", () => {
    const p = picker([])
    const first = p.nextRequests("a", all(), 2, 0)
    const later = p.nextRequests("b", all(), 2, 10 * DEADLINE_LATE_MS)
    assert.isFalse(later.some((r) => r.index === first[0]!.index))
  })
})
