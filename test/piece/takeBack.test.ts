import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Bitfield, BLOCK_SIZE, PiecePicker, Priority } from "../../src/piece/index.js"
import { seeded } from "../support/seeded.js"

const PIECE = 2 * BLOCK_SIZE
const COUNT = 12

const bits = (pieces: ReadonlyArray<number>) => {
  const out = new Bitfield(COUNT)
  for (const i of pieces) out.set(i)
  return out
}
const everything = () => bits(Array.from({ length: COUNT }, (_, i) => i))

/** 12 two-block pieces, sequential so which piece starts next is known; peers `a` and `b` with `has` (default all). */
const picker = (has: { readonly a?: ReadonlyArray<number>; readonly b?: ReadonlyArray<number> } = {}) => {
  const p = new PiecePicker<string>({
    pieceCount: COUNT,
    pieceLength: PIECE,
    totalLength: COUNT * PIECE,
    random: seeded(5),
    sequential: true
  })
  p.addPeer("a", has.a === undefined ? everything() : bits(has.a))
  p.addPeer("b", has.b === undefined ? everything() : bits(has.b))
  return p
}

/** Every piece `normal`, those in `windows` (inclusive ranges) `deadline`, those in `skipped` `skip`. */
const priorities = (windows: ReadonlyArray<readonly [number, number]>, skipped: ReadonlyArray<number> = []) => {
  const out = new Uint8Array(COUNT).fill(Priority.normal)
  for (const i of skipped) out[i] = Priority.skip
  for (const [from, to] of windows) for (let i = from; i <= to; i++) out[i] = Priority.deadline
  return out
}

/** Moves the readers' windows as the session does: the windows, then the priorities they make. */
const windows = (p: PiecePicker<string>, ranges: ReadonlyArray<readonly [number, number]>, skipped: ReadonlyArray<number> = []) => {
  p.setWindows(ranges.map(([from, to]) => ({ from, to })))
  return p.setPriorities(priorities(ranges, skipped))
}

const keys = (requests: ReadonlyArray<{ readonly index: number; readonly begin: number; readonly peer?: string }>) =>
  requests.map((r) => `${r.peer === undefined ? "" : `${r.peer}:`}${r.index}/${r.begin / BLOCK_SIZE}`)

describe("PiecePicker takes requests back when priorities change", () => {
  it("abandons a piece in assembly that becomes skipped: its requests come back, its late blocks are refused", () => {
    const p = picker()
    assert.deepStrictEqual(keys(p.nextRequests("a", everything(), 3, 0)), ["0/0", "0/1", "1/0"])
    assert.deepStrictEqual(keys(p.nextRequests("b", everything(), 1, 0)), ["1/1"])
    assert.isTrue(p.blockReceived("a", 1, 0, BLOCK_SIZE, 1).accepted)
    p.checkInvariants()

    const released = p.setPriorities(priorities([], [1]))
    // Piece 1 (one block in, one out with b) is dropped; piece 0, still wanted, keeps its requests with a.
    assert.deepStrictEqual(keys(released.requests), ["b:1/1"])
    assert.deepStrictEqual(released.abandoned, [1])
    assert.strictEqual(p.outstanding("a"), 2)
    assert.strictEqual(p.outstanding("b"), 0)
    assert.isFalse(p.wants(1))
    p.checkInvariants()

    // b's answer comes anyway: not taken, and nobody asks for piece 1 again.
    assert.isFalse(p.blockReceived("b", 1, BLOCK_SIZE, BLOCK_SIZE, 2).accepted)
    assert.isFalse(p.nextRequests("b", everything(), 20, 2).some((r) => r.index === 1))
    p.checkInvariants()

    // Wanted again: fetched whole, from the start (the block received before was discarded).
    p.setPriorities(priorities([]))
    p.checkInvariants()
    assert.isTrue(p.wants(1))
    assert.deepStrictEqual(keys(p.nextRequests("a", everything(), 20, 3).filter((r) => r.index === 1)), ["1/0", "1/1"])
    p.checkInvariants()
  })

  it("takes nothing back from pieces still wanted, whatever their new priority", () => {
    const p = picker()
    p.nextRequests("a", everything(), 4, 0)
    p.nextRequests("b", everything(), 4, 0)
    const lower = priorities([])
    lower.fill(Priority.low, 0, 2)
    lower.fill(Priority.high, 2, 4)
    const released = p.setPriorities(lower)
    assert.deepStrictEqual(released.requests, [])
    assert.deepStrictEqual(released.abandoned, [])
    assert.strictEqual(p.outstandingTotal, 8)
    p.checkInvariants()
  })

  it("a reader that seeks takes its old window's requests back from the peers that have its new window", () => {
    const p = picker()
    windows(p, [[2, 3]])
    assert.deepStrictEqual(keys(p.nextRequests("a", everything(), 4, 0)), ["2/0", "2/1", "3/0", "3/1"])
    assert.isTrue(p.blockReceived("a", 2, 0, BLOCK_SIZE, 1).accepted)

    const released = windows(p, [[8, 9]])
    assert.deepStrictEqual(keys(released.requests), ["a:2/1", "a:3/0", "a:3/1"])
    assert.deepStrictEqual(released.abandoned, [])
    assert.strictEqual(p.outstanding("a"), 0)
    p.checkInvariants()

    // The new window first; the old pieces stay wanted (the block of piece 2 received is kept), asked after it.
    const next = keys(p.nextRequests("a", everything(), 6, 2))
    assert.deepStrictEqual(next, ["8/0", "8/1", "9/0", "9/1", "2/1", "3/0"])
    p.checkInvariants()

    // A block of the old window sent before the CANCEL arrived is kept once, not counted twice.
    assert.isTrue(p.blockReceived("a", 3, BLOCK_SIZE, BLOCK_SIZE, 3).accepted)
    assert.isFalse(p.blockReceived("a", 3, BLOCK_SIZE, BLOCK_SIZE, 3).accepted)
    p.checkInvariants()
  })

  it("takes back nothing from a peer that does not have the new window, nor when a reader just moves on", () => {
    const p = picker({ b: [2, 3] })
    windows(p, [[2, 3]])
    p.nextRequests("b", bits([2, 3]), 4, 0)
    // b lacks pieces 8 and 9: its requests for the old window stay with it.
    assert.deepStrictEqual(windows(p, [[8, 9]]).requests, [])
    assert.strictEqual(p.outstanding("b"), 4)
    p.checkInvariants()

    const q = picker()
    windows(q, [[2, 4]])
    q.nextRequests("a", everything(), 6, 0)
    for (const begin of [0, BLOCK_SIZE]) q.blockReceived("a", 2, begin, BLOCK_SIZE, 1)
    q.pieceVerified(2)
    // The reader read piece 2 and moved on: 3 and 4 stay in its window, nothing is taken back.
    assert.deepStrictEqual(windows(q, [[3, 5]]).requests, [])
    assert.strictEqual(q.outstanding("a"), 4)
    q.checkInvariants()
  })

  it("a seek seen as the old reader leaving, then a new one: the old requests come back when the new window opens", () => {
    const p = picker()
    windows(p, [[2, 3]])
    p.nextRequests("a", everything(), 4, 0)
    // No reader for a moment: nothing waits, nothing is taken back.
    assert.deepStrictEqual(windows(p, []).requests, [])
    assert.strictEqual(p.outstanding("a"), 4)
    const released = windows(p, [[8, 9]])
    assert.deepStrictEqual(keys(released.requests), ["a:2/0", "a:2/1", "a:3/0", "a:3/1"])
    p.checkInvariants()
    // Taken back once: when the window moves again, 8 and 9 come back, but the first old pieces, now ordinary ones
    // asked after the window, are left alone.
    assert.deepStrictEqual(keys(p.nextRequests("a", everything(), 8, 1)), ["8/0", "8/1", "9/0", "9/1", "2/0", "2/1", "3/0", "3/1"])
    assert.deepStrictEqual(keys(windows(p, [[10, 11]]).requests), ["a:8/0", "a:8/1", "a:9/0", "a:9/1"])
    p.checkInvariants()
  })
})

describe("PiecePicker takes back only what is no longer wanted (random steps)", () => {
  it("after any mix of requests, blocks and priority changes: invariants hold, and each request taken back was out, for a piece now skipped or one that left a window", () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("next" as const), peer: fc.constantFrom("a", "b"), max: fc.integer({ min: 1, max: 6 }) }),
            fc.record({ op: fc.constant("deliver" as const), pick: fc.nat() }),
            fc.record({
              op: fc.constant("priorities" as const),
              skipped: fc.array(fc.nat(COUNT - 1), { maxLength: 4 }),
              window: fc.option(fc.tuple(fc.nat(COUNT - 1), fc.nat(2)), { nil: undefined })
            })
          ),
          { maxLength: 60 }
        ),
        (seed, ops) => {
          const p = new PiecePicker<string>({ pieceCount: COUNT, pieceLength: PIECE, totalLength: COUNT * PIECE, random: seeded(seed) })
          p.addPeer("a", everything())
          p.addPeer("b", bits([0, 2, 4, 6, 8, 10]))
          const out = new Map<string, Array<{ readonly index: number; readonly begin: number }>>([["a", []], ["b", []]])
          const everDeadline = new Set<number>()
          for (const step of ops) {
            if (step.op === "next") {
              const peerBits = step.peer === "a" ? everything() : bits([0, 2, 4, 6, 8, 10])
              out.get(step.peer)!.push(...p.nextRequests(step.peer, peerBits, step.max, 0))
            } else if (step.op === "deliver") {
              const all = [...out].flatMap(([peer, list]) => list.map((r) => ({ peer, r })))
              if (all.length === 0) continue
              const { peer, r } = all[step.pick % all.length]!
              const list = out.get(peer)!
              list.splice(list.indexOf(r), 1)
              const got = p.blockReceived(peer, r.index, r.begin, BLOCK_SIZE, 0)
              for (const c of got.cancel) out.set(c.peer, out.get(c.peer)!.filter((x) => x.index !== c.index || x.begin !== c.begin))
              if (got.pieceComplete) p.pieceVerified(r.index)
            } else {
              const ranges = step.window === undefined ? [] : [[step.window[0], Math.min(COUNT - 1, step.window[0] + step.window[1])] as const]
              const released = windows(p, ranges, step.skipped)
              for (const r of released.requests) {
                const list = out.get(r.peer)!
                const at = list.findIndex((x) => x.index === r.index && x.begin === r.begin)
                assert.isAtLeast(at, 0, `${r.peer}:${r.index}/${r.begin} taken back but not outstanding`)
                list.splice(at, 1)
                const now = p.priorityOf(r.index)
                assert.isTrue(now === Priority.skip || (now !== Priority.deadline && everDeadline.has(r.index)), `${r.index} still wanted`)
              }
              for (const index of released.abandoned) assert.strictEqual(p.priorityOf(index), Priority.skip)
              for (const [from, to] of ranges) for (let i = from; i <= to; i++) everDeadline.add(i)
            }
            p.checkInvariants()
            for (const [peer, list] of out) assert.strictEqual(p.outstanding(peer), list.length)
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})
