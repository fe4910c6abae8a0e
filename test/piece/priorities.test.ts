import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Bitfield, BLOCK_SIZE, type BlockRequest, PiecePicker, Priority } from "../../src/piece/index.js"
import { seeded } from "../support/seeded.js"


const all = (size: number) => {
  const bits = new Bitfield(size)
  for (let i = 0; i < size; i++) bits.set(i)
  return bits
}

const bitsOf = (size: number, pieces: Iterable<number>) => {
  const bits = new Bitfield(size)
  for (const i of pieces) bits.set(i)
  return bits
}

const deliver = (p: PiecePicker<string>, peer: string, requests: ReadonlyArray<BlockRequest>) => {
  for (const r of requests) {
    const result = p.blockReceived(peer, r.index, r.begin, r.length, 0)
    expect(result.accepted).toBe(true)
    if (result.pieceComplete) p.pieceVerified(r.index)
  }
}

const priorityArb = fc.constantFrom(Priority.skip, Priority.low, Priority.normal, Priority.high)

describe("PiecePicker priorities", () => {
  it("never requests a skipped piece, takes higher priorities first, and completes every wanted piece", () => {
    fc.assert(
      fc.property(
        fc.array(priorityArb, { minLength: 1, maxLength: 24 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 0, max: 5 }),
        fc.nat(),
        (priorities, seeds, randomFirst, seed) => {
          const pieceCount = priorities.length
          const p = new PiecePicker<string>({
            pieceCount,
            pieceLength: 2 * BLOCK_SIZE,
            totalLength: pieceCount * 2 * BLOCK_SIZE - 100,
            random: seeded(seed),
            randomFirstPieces: randomFirst,
            priorities: Uint8Array.from(priorities)
          })
          // Peers holding random subsets, and one seed so that everything wanted can complete.
          const peers = seeds.map((s, k) => [`p${k}`, bitsOf(pieceCount, priorities.flatMap((_, i) => (i + s) % 2 === 0 ? [i] : []))] as const)
          for (const [peer, bits] of peers) p.addPeer(peer, bits)
          p.addPeer("seed", all(pieceCount))
          const wanted = priorities.flatMap((priority, i) => priority === Priority.skip ? [] : [i])
          const started = new Set<number>()
          for (let round = 0; round < 10 * pieceCount && !p.isComplete(); round++) {
            for (const [peer, bits] of [...peers, ["seed", all(pieceCount)] as const]) {
              const requests = p.nextRequests(peer, bits, 3, round)
              for (const r of requests) {
                expect(priorities[r.index]).not.toBe(Priority.skip)
                if (started.has(r.index)) continue
                // A piece is started by the seed (which has every piece) only when no piece of a higher priority
                // is left to start.
                if (peer === "seed") {
                  for (let j = 0; j < pieceCount; j++) {
                    if (priorities[j]! > priorities[r.index]!) expect(started.has(j)).toBe(true)
                  }
                }
                started.add(r.index)
              }
              deliver(p, peer, requests)
              p.checkInvariants()
            }
          }
          expect(p.isComplete()).toBe(true)
          expect(p.missingBytes).toBe(0)
          for (const i of wanted) expect(p.hasPiece(i)).toBe(true)
          for (let i = 0; i < pieceCount; i++) if (priorities[i] === Priority.skip) expect(p.hasPiece(i)).toBe(false)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("starts pieces highest priority first, rarest first within a priority", () => {
    // Pieces 0-3 high, 4-7 normal, 8-11 low. Availability: piece i is held by (i % 4) + 1 peers.
    const priorities = Uint8Array.from([3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1])
    const p = new PiecePicker<string>({
      pieceCount: 12,
      pieceLength: BLOCK_SIZE,
      totalLength: 12 * BLOCK_SIZE,
      random: seeded(7),
      randomFirstPieces: 0,
      priorities
    })
    for (let k = 0; k < 4; k++) p.addPeer(`q${k}`, bitsOf(12, [...Array(12).keys()].filter((i) => i % 4 >= k)))
    const seed = all(12)
    p.addPeer("seed", seed)
    const order = p.nextRequests("seed", seed, 12, 0).map((r) => r.index)
    // Counting the seed, piece i is held by (i % 4) + 2 peers: rarest first is i % 4 = 0, 1, 2, 3 in each level.
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    p.checkInvariants()
  })

  it("in sequential mode starts pieces in index order within a priority, spreading them over the peers", () => {
    const p = new PiecePicker<string>({
      pieceCount: 10,
      pieceLength: BLOCK_SIZE,
      totalLength: 10 * BLOCK_SIZE,
      random: seeded(5),
      sequential: true,
      priorities: Uint8Array.from([2, 2, 2, 2, 2, 2, 2, 2, 3, 0])
    })
    const seed = all(10)
    const odd = bitsOf(10, [1, 3, 5, 7])
    p.addPeer("seed", seed)
    p.addPeer("odd", odd)
    // The high piece first, then in order; each peer takes the next piece it has.
    expect(p.nextRequests("seed", seed, 2, 0).map((r) => r.index)).toEqual([8, 0])
    expect(p.nextRequests("odd", odd, 2, 0).map((r) => r.index)).toEqual([1, 3])
    expect(p.nextRequests("seed", seed, 10, 0).map((r) => r.index)).toEqual([2, 4, 5, 6, 7])
    p.checkInvariants()
    // Turned off, the rest goes rarest first again; the skipped piece is never asked for.
    p.setSequential(false)
    expect(p.nextRequests("seed", seed, 10, 0)).toEqual([])
  })

  it("a selection change takes effect at the next request and completion follows the wanted pieces", () => {
    const p = new PiecePicker<string>({
      pieceCount: 4,
      pieceLength: BLOCK_SIZE,
      totalLength: 4 * BLOCK_SIZE,
      random: seeded(3),
      randomFirstPieces: 0,
      priorities: Uint8Array.from([0, 2, 0, 0])
    })
    const seed = all(4)
    p.addPeer("seed", seed)
    expect(p.missingBytes).toBe(BLOCK_SIZE)
    const first = p.nextRequests("seed", seed, 10, 0)
    expect(first.map((r) => r.index)).toEqual([1])
    deliver(p, "seed", first)
    expect(p.isComplete()).toBe(true)
    expect(p.hasAll()).toBe(false)
    expect(p.wants(0)).toBe(false)
    p.setPriorities(Uint8Array.from([0, 2, 0, 3]))
    p.checkInvariants()
    expect(p.isComplete()).toBe(false)
    expect(p.wants(3)).toBe(true)
    const second = p.nextRequests("seed", seed, 10, 0)
    expect(second.map((r) => r.index)).toEqual([3])
    // Skipping a piece in assembly: abandoned, its requests handed back for CANCEL; no skipped piece starts.
    const released = p.setPriorities(Uint8Array.from([0, 2, 0, 0]))
    p.checkInvariants()
    expect(released.requests.map((r) => r.index)).toEqual([3])
    expect(released.abandoned).toEqual([3])
    expect(p.isComplete()).toBe(true)
    expect(p.nextRequests("seed", seed, 10, 0)).toEqual([])
    // Its block, sent before the CANCEL arrived, is refused.
    expect(p.blockReceived("seed", 3, 0, second[0]!.length, 0).accepted).toBe(false)
    p.checkInvariants()
    expect(p.hasPiece(3)).toBe(false)
    p.setPriorities(Uint8Array.from([1, 1, 1, 1]))
    p.checkInvariants()
    expect(p.nextRequests("seed", seed, 10, 0).map((r) => r.index).sort()).toEqual([0, 2, 3])
  })
})
