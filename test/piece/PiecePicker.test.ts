import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  Bitfield,
  BLOCK_SIZE,
  type BlockRequest,
  ENDGAME_DEPTH,
  ENDGAME_MANY_PEERS,
  ENDGAME_MAX_HOLDERS,
  ENDGAME_WAIT_MS,
  MIN_FAIR_SHARE,
  MAX_REQUEST_DEPTH,
  MIN_REQUEST_DEPTH,
  PiecePicker,
  type PiecePickerOptions,
  requestDepth
} from "../../src/piece/index.js"
import { seeded } from "../support/seeded.js"


const geometry = (pieceLength: number, totalLength: number) => ({
  pieceLength,
  totalLength,
  pieceCount: Math.ceil(totalLength / pieceLength)
})

const picker = (
  pieceLength: number,
  totalLength: number,
  options: Partial<PiecePickerOptions> = {}
): PiecePicker<string> =>
  new PiecePicker<string>({ ...geometry(pieceLength, totalLength), random: seeded(1), ...options })

const bitsOf = (size: number, pieces: Iterable<number>): Bitfield => {
  const bits = new Bitfield(size)
  for (const index of pieces) bits.set(index)
  return bits
}

const range = (from: number, to: number): Array<number> => Array.from({ length: to - from }, (_, i) => from + i)

/** Delivers every request (honest, instant); verifies completed pieces. */
const deliver = (p: PiecePicker<string>, peer: string, requests: ReadonlyArray<BlockRequest>, now = 0) => {
  for (const r of requests) {
    const result = p.blockReceived(peer, r.index, r.begin, r.length, now)
    expect(result.accepted).toBe(true)
    if (result.pieceComplete) p.pieceVerified(r.index)
  }
}

describe("PiecePicker geometry", () => {
  it("has a short last piece and a short last block", () => {
    const p = picker(32768, 100000)
    expect(p.pieceCount).toBe(4)
    expect([0, 1, 2, 3].map((i) => p.pieceSize(i))).toEqual([32768, 32768, 32768, 1696])
    expect([0, 1, 2, 3].map((i) => p.blockCount(i))).toEqual([2, 2, 2, 1])
    const seeder = Bitfield.full(4)
    p.addPeer("a", seeder)
    const requests = p.nextRequests("a", seeder, 100, 0)
    expect(requests.length).toBe(7)
    expect(requests.filter((r) => r.index === 3)).toEqual([{ index: 3, begin: 0, length: 1696 }])
    expect(requests.reduce((sum, r) => sum + r.length, 0)).toBe(100000)
    deliver(p, "a", requests)
    expect(p.isComplete()).toBe(true)
    expect(p.bytesVerified).toBe(100000)
    expect(p.missingBytes).toBe(0)
  })

  it("splits a piece length that is not a multiple of the block size", () => {
    const p = picker(40000, 80000, { randomFirstPieces: 0 })
    expect(p.blockCount(0)).toBe(3)
    const seeder = Bitfield.full(2)
    const requests = p.nextRequests("a", seeder, 100, 0)
    const piece0 = requests.filter((r) => r.index === 0)
    expect(piece0).toEqual([
      { index: 0, begin: 0, length: BLOCK_SIZE },
      { index: 0, begin: BLOCK_SIZE, length: BLOCK_SIZE },
      { index: 0, begin: 2 * BLOCK_SIZE, length: 40000 - 2 * BLOCK_SIZE }
    ])
  })

  it("handles a total length that is an exact multiple of the piece length", () => {
    const p = picker(32768, 65536)
    expect(p.pieceCount).toBe(2)
    expect(p.pieceSize(1)).toBe(32768)
    expect(p.blockCount(1)).toBe(2)
    const requests = p.nextRequests("a", Bitfield.full(2), 100, 0)
    expect(requests.every((r) => r.length === BLOCK_SIZE)).toBe(true)
    expect(requests.length).toBe(4)
  })

  it("handles a one-piece torrent smaller than a block", () => {
    const p = picker(262144, 1000)
    expect(p.pieceCount).toBe(1)
    expect(p.pieceSize(0)).toBe(1000)
    const requests = p.nextRequests("a", Bitfield.full(1), 10, 0)
    expect(requests).toEqual([{ index: 0, begin: 0, length: 1000 }])
    expect(p.blockReceived("a", 0, 0, 1000, 0)).toEqual({ accepted: true, pieceComplete: true, cancel: [] })
    p.pieceVerified(0)
    expect(p.isComplete()).toBe(true)
    expect(p.bytesVerified).toBe(1000)
  })

  it("rejects inconsistent geometry and out-of-range pieces", () => {
    const random = seeded(1)
    expect(() => new PiecePicker({ pieceCount: 3, pieceLength: 32768, totalLength: 65536, random })).toThrow(
      RangeError
    )
    expect(() => new PiecePicker({ pieceCount: 1, pieceLength: 0, totalLength: 0, random })).toThrow(RangeError)
    const p = picker(32768, 65536)
    expect(() => p.pieceSize(2)).toThrow(RangeError)
    expect(() => p.addPeer("a", new Bitfield(3))).toThrow(RangeError)
  })
})

describe("PiecePicker selection", () => {
  it("finishes partial pieces before starting new ones", () => {
    const p = picker(4 * BLOCK_SIZE, 8 * 4 * BLOCK_SIZE)
    const seeder = Bitfield.full(8)
    p.addPeer("a", seeder)
    p.addPeer("b", seeder)
    const first = p.nextRequests("a", seeder, 2, 0)
    expect(first.length).toBe(2)
    expect(first[0]!.index).toBe(first[1]!.index)
    const second = p.nextRequests("b", seeder, 3, 0)
    expect(second.slice(0, 2).map((r) => [r.index, r.begin])).toEqual([
      [first[0]!.index, 2 * BLOCK_SIZE],
      [first[0]!.index, 3 * BLOCK_SIZE]
    ])
    expect(second[2]!.index).not.toBe(first[0]!.index)
  })

  it("picks the rarest piece the peer has, breaking ties at random", () => {
    const firstPicks = new Set<number>()
    for (let seed = 0; seed < 40; seed++) {
      const p = picker(BLOCK_SIZE, 10 * BLOCK_SIZE, { randomFirstPieces: 0, random: seeded(seed) })
      p.addPeer("seeder", Bitfield.full(10))
      p.addPeer("b", bitsOf(10, range(0, 6)))
      p.addPeer("c", bitsOf(10, range(0, 3)))
      // Availability: pieces 0-2 have 3 peers, 3-5 have 2, 6-9 have 1.
      const seederPick = p.nextRequests("seeder", Bitfield.full(10), 1, 0)[0]!.index
      expect(seederPick).toBeGreaterThanOrEqual(6)
      firstPicks.add(seederPick)
      const bPick = p.nextRequests("b", bitsOf(10, range(0, 6)), 1, 0)[0]!.index
      expect([3, 4, 5]).toContain(bPick)
    }
    expect(firstPicks.size).toBeGreaterThan(1)
  })

  it("follows HAVE messages and departing peers", () => {
    const p = picker(BLOCK_SIZE, 3 * BLOCK_SIZE, { randomFirstPieces: 0 })
    const seeder = Bitfield.full(3)
    p.addPeer("s", seeder)
    p.addPeer("x", bitsOf(3, [0, 1]))
    p.peerHave("y", 0)
    p.peerHave("y", 0)
    p.peerHave("y", 2)
    // Availability: piece 0 = 3, piece 1 = 2, piece 2 = 2; remove y and piece 2 becomes the rarest.
    p.removePeer("y")
    expect(p.nextRequests("s", seeder, 1, 0)[0]!.index).toBe(2)
    // Piece 2 is started; a HAVE from z makes piece 1 (3 peers) commoner than piece 0 (2 peers).
    p.peerHave("z", 1)
    expect(p.nextRequests("s", seeder, 1, 0)[0]!.index).toBe(0)
    p.checkInvariants()
  })

  it("picks at random until randomFirstPieces are verified, then rarest first", () => {
    const rarest = (seed: number, randomFirstPieces: number, verified: number): number => {
      const p = picker(BLOCK_SIZE, 32 * BLOCK_SIZE, { random: seeded(seed), randomFirstPieces })
      const seeder = Bitfield.full(32)
      p.addPeer("s", seeder)
      p.addPeer("b", bitsOf(32, range(0, 31))) // piece 31 is the only rarest one
      for (let i = 0; i < verified; i++) p.pieceVerified(i)
      return p.nextRequests("s", seeder, 1, 0)[0]!.index
    }
    const randomPicks = new Set(range(0, 20).map((seed) => rarest(seed, 4, 0)))
    expect(randomPicks.size).toBeGreaterThan(5)
    expect(range(0, 20).map((seed) => rarest(seed, 4, 3)).some((index) => index !== 31)).toBe(true)
    expect(range(0, 20).every((seed) => rarest(seed, 4, 4) === 31)).toBe(true)
    expect(range(0, 20).every((seed) => rarest(seed, 0, 0) === 31)).toBe(true)
  })

  it("never requests pieces in the initial have bitfield", () => {
    const have = bitsOf(6, [0, 2, 5])
    const p = picker(BLOCK_SIZE, 5 * BLOCK_SIZE + 100, { have })
    expect(p.verifiedCount).toBe(3)
    expect(p.bytesVerified).toBe(2 * BLOCK_SIZE + 100)
    expect(p.missingBytes).toBe(3 * BLOCK_SIZE)
    const requests = p.nextRequests("a", Bitfield.full(6), 100, 0)
    expect(requests.map((r) => r.index).sort()).toEqual([1, 3, 4])
    have.set(1) // the picker keeps its own copy
    expect(p.hasPiece(1)).toBe(false)
    deliver(p, "a", requests)
    expect(p.isComplete()).toBe(true)
    expect(p.bitfield().isComplete()).toBe(true)
    expect(p.nextRequests("a", Bitfield.full(6), 100, 0)).toEqual([])
    expect(p.inEndgame()).toBe(false)
  })

  it("asks nothing of a peer with nothing we need", () => {
    const p = picker(BLOCK_SIZE, 4 * BLOCK_SIZE, { have: bitsOf(4, [0, 1]) })
    const bits = bitsOf(4, [0, 1])
    p.addPeer("a", bits)
    expect(p.nextRequests("a", bits, 10, 0)).toEqual([])
    expect(p.nextRequests("a", Bitfield.full(4), 0, 0)).toEqual([])
  })
})

describe("PiecePicker blocks", () => {
  it("accepts only requested blocks that fit the geometry, once", () => {
    const p = picker(2 * BLOCK_SIZE, 4 * BLOCK_SIZE - 10, { randomFirstPieces: 0 })
    const seeder = Bitfield.full(2)
    const [r] = p.nextRequests("a", seeder, 1, 0)
    const { index } = r!
    const other = 1 - index
    const rejected = { accepted: false, pieceComplete: false, cancel: [] }
    expect(p.blockReceived("a", other, 0, BLOCK_SIZE, 0)).toEqual(rejected) // never requested
    expect(p.blockReceived("a", index, BLOCK_SIZE, p.pieceSize(index) - BLOCK_SIZE, 0)).toEqual(rejected)
    expect(p.blockReceived("a", index, 1, BLOCK_SIZE, 0)).toEqual(rejected) // misaligned
    expect(p.blockReceived("a", index, 0, BLOCK_SIZE - 1, 0)).toEqual(rejected) // wrong length
    expect(p.blockReceived("a", 7, 0, BLOCK_SIZE, 0)).toEqual(rejected) // no such piece
    expect(p.blockReceived("a", index, 0, BLOCK_SIZE, 0).accepted).toBe(true)
    expect(p.blockReceived("a", index, 0, BLOCK_SIZE, 0)).toEqual(rejected) // duplicate
    expect(p.contributors(index)).toEqual(new Set(["a"]))
    expect(p.outstanding("a")).toBe(0)
    p.checkInvariants()
  })

  it("keeps a block that comes late, after a choke or a timeout released it, while it is still needed", () => {
    const p = picker(4 * BLOCK_SIZE, 4 * BLOCK_SIZE)
    const seeder = Bitfield.full(1)
    p.addPeer("a", seeder)
    p.addPeer("b", seeder)
    expect(p.nextRequests("a", seeder, 2, 0).map((r) => r.begin)).toEqual([0, BLOCK_SIZE])
    p.peerChoked("a")
    expect(p.outstanding("a")).toBe(0)
    // Block 0 comes anyway: still needed, kept (not wasted), and no longer free.
    expect(p.blockReceived("a", 0, 0, BLOCK_SIZE, 1).accepted).toBe(true)
    expect(p.nextRequests("b", seeder, 4, 1).map((r) => r.begin)).toEqual([BLOCK_SIZE, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE])
    // Block 1 went to b meanwhile: a's late copy still counts, and b's request is cancelled.
    expect(p.blockReceived("a", 0, BLOCK_SIZE, BLOCK_SIZE, 2)).toMatchObject({ accepted: true, cancel: [{ peer: "b" }] })
    // Not twice.
    expect(p.blockReceived("a", 0, 0, BLOCK_SIZE, 2).accepted).toBe(false)
    // A timed-out request answered late is kept too; a free block never asked of a peer is not taken from it.
    expect(p.timedOut(30_000, 20_000).map((r) => r.peer)).toEqual(["b", "b"])
    expect(p.blockReceived("b", 0, 3 * BLOCK_SIZE, BLOCK_SIZE, 30_001).accepted).toBe(true)
    expect(p.blockReceived("a", 0, 2 * BLOCK_SIZE, BLOCK_SIZE, 30_001).accepted).toBe(false)
    p.checkInvariants()
  })

  it("re-requests the blocks of a peer that disappears mid-piece", () => {
    const p = picker(4 * BLOCK_SIZE, 4 * BLOCK_SIZE)
    const seeder = Bitfield.full(1)
    p.addPeer("a", seeder)
    p.addPeer("b", seeder)
    const a = p.nextRequests("a", seeder, 3, 0)
    expect(p.blockReceived("a", 0, a[0]!.begin, a[0]!.length, 0).accepted).toBe(true)
    expect(p.nextRequests("b", seeder, 1, 0).map((r) => r.begin)).toEqual([3 * BLOCK_SIZE])
    p.removePeer("a")
    expect(p.outstanding("a")).toBe(0)
    expect(p.nextRequests("b", seeder, 2, 0).map((r) => r.begin)).toEqual([BLOCK_SIZE, 2 * BLOCK_SIZE])
    p.checkInvariants()
  })

  it("releases requests on choke and on reject", () => {
    const p = picker(4 * BLOCK_SIZE, 4 * BLOCK_SIZE)
    const seeder = Bitfield.full(1)
    p.nextRequests("a", seeder, 4, 0)
    p.requestRejected("a", 0, 2 * BLOCK_SIZE)
    p.requestRejected("a", 0, 2 * BLOCK_SIZE)
    p.requestRejected("a", 0, 5)
    expect(p.outstanding("a")).toBe(3)
    expect(p.nextRequests("b", seeder, 1, 0).map((r) => r.begin)).toEqual([2 * BLOCK_SIZE])
    p.peerChoked("a")
    expect(p.outstanding("a")).toBe(0)
    expect(p.nextRequests("b", seeder, 3, 0).map((r) => r.begin)).toEqual([0, BLOCK_SIZE, 3 * BLOCK_SIZE])
    p.checkInvariants()
  })

  it("gives timed-out requests to another peer, but not while their peer keeps delivering", () => {
    const p = picker(4 * BLOCK_SIZE, 8 * BLOCK_SIZE)
    const seeder = Bitfield.full(2)
    const a = p.nextRequests("a", seeder, 4, 0)
    expect(p.timedOut(5_000, 10_000)).toEqual([])
    expect(p.timedOut(10_000, 10_000)).toEqual([])
    const late = p.timedOut(10_001, 10_000)
    expect(late).toEqual(a.map((r) => ({ peer: "a", ...r })))
    expect(p.outstanding("a")).toBe(0)
    expect(p.nextRequests("b", seeder, 4, 10_001)).toEqual(a)
    // b delivers one block at 15 s: its other requests are queued behind, not stuck.
    expect(p.blockReceived("b", a[0]!.index, a[0]!.begin, a[0]!.length, 15_000).accepted).toBe(true)
    expect(p.timedOut(25_000, 10_000)).toEqual([])
    expect(p.timedOut(25_001, 10_000).length).toBe(3)
    // A late answer from a, after the block went to b, still counts, and b is told to cancel.
    const again = p.nextRequests("b", seeder, 1, 25_001)[0]!
    expect(p.blockReceived("a", again.index, again.begin, again.length, 25_002)).toEqual({
      accepted: true,
      pieceComplete: false,
      cancel: [{ peer: "b", ...again }]
    })
    p.checkInvariants()
  })

  it("re-requests a whole failed piece and reports its contributors", () => {
    const p = picker(3 * BLOCK_SIZE, 3 * BLOCK_SIZE)
    const seeder = Bitfield.full(1)
    const a = p.nextRequests("a", seeder, 2, 0)
    const b = p.nextRequests("b", seeder, 1, 0)
    let complete = false
    for (const [peer, r] of [...a.map((r) => ["a", r] as const), ...b.map((r) => ["b", r] as const)]) {
      complete = p.blockReceived(peer, r.index, r.begin, r.length, 0).pieceComplete
    }
    expect(complete).toBe(true)
    expect(p.contributors(0)).toEqual(new Set(["a", "b"]))
    expect(p.pieceFailed(0)).toEqual(new Set(["a", "b"]))
    expect(p.contributors(0).size).toBe(0)
    expect(p.verifiedCount).toBe(0)
    const again = p.nextRequests("c", seeder, 10, 0)
    expect(again.map((r) => r.begin)).toEqual([0, BLOCK_SIZE, 2 * BLOCK_SIZE])
    deliver(p, "c", again)
    expect(p.isComplete()).toBe(true)
    p.checkInvariants()
  })
})

describe("PiecePicker after a hash failure", () => {
  const failMixed = () => {
    const p = picker(2 * BLOCK_SIZE, 4 * BLOCK_SIZE)
    const seeder = Bitfield.full(2)
    for (const peer of ["a", "b"]) p.addPeer(peer, seeder)
    const [first] = p.nextRequests("a", seeder, 1, 0)
    const [second] = p.nextRequests("b", seeder, 1, 0)
    expect(second!.index).toBe(first!.index)
    deliver(p, "a", [first!])
    p.blockReceived("b", second!.index, second!.begin, second!.length, 0)
    expect(p.pieceFailed(first!.index)).toEqual(new Set(["a", "b"]))
    return { p, seeder, index: first!.index }
  }

  it("gives the next attempt at a failed piece to one peer only, even in endgame", () => {
    const { index, p, seeder } = failMixed()
    const a = p.nextRequests("a", seeder, 1, 0)
    expect(a).toEqual([{ index, begin: 0, length: BLOCK_SIZE }])
    // b gets the other piece, but no block of a's, though one is free and later all are outstanding.
    const b = p.nextRequests("b", seeder, 10, 0)
    expect(b.every((r) => r.index !== index)).toBe(true)
    expect(p.nextRequests("a", seeder, 1, 0)).toEqual([{ index, begin: BLOCK_SIZE, length: BLOCK_SIZE }])
    expect(p.inEndgame()).toBe(true)
    // Long enough for endgame duplicates, yet none of the failed piece's blocks.
    expect(p.nextRequests("b", seeder, 10, 2 * ENDGAME_WAIT_MS).every((r) => r.index !== index)).toBe(true)
    deliver(p, "a", [{ index, begin: 0, length: BLOCK_SIZE }, { index, begin: BLOCK_SIZE, length: BLOCK_SIZE }])
    expect(p.contributors(index).size).toBe(0)
    expect(p.hasPiece(index)).toBe(true)
    p.checkInvariants()
  })

  it("lets another peer own it once the owner gives it back untouched or leaves", () => {
    const { index, p, seeder } = failMixed()
    expect(p.nextRequests("a", seeder, 2, 0).map((r) => r.index)).toEqual([index, index])
    p.peerChoked("a")
    expect(p.nextRequests("b", seeder, 2, 0).map((r) => r.index)).toEqual([index, index])
    // b delivers one block and leaves: its block stays, and a may finish the piece.
    p.blockReceived("b", index, 0, BLOCK_SIZE, 0)
    expect(p.nextRequests("a", seeder, 2, 0).every((r) => r.index !== index)).toBe(true)
    p.removePeer("b")
    expect(p.nextRequests("a", seeder, 2, 0)).toContainEqual({ index, begin: BLOCK_SIZE, length: BLOCK_SIZE })
    p.checkInvariants()
  })
})

describe("PiecePicker with many peers", () => {
  /**
   * 200 seeders, each kept at MIN_REQUEST_DEPTH and answering its oldest request once per round: the most pieces
   * in assembly at once, and the most requests outstanding.
   */
  const swarm = (maxOutstanding: number | undefined) => {
    const pieceCount = 400
    const blocksPerPiece = 16
    const p = picker(blocksPerPiece * BLOCK_SIZE, pieceCount * blocksPerPiece * BLOCK_SIZE, {
      ...(maxOutstanding === undefined ? {} : { maxOutstanding })
    })
    const seeder = Bitfield.full(pieceCount)
    const peers = range(0, 200).map((i) => `p${i}`)
    const queues = new Map(peers.map((peer) => [peer, [] as Array<BlockRequest>]))
    for (const peer of peers) p.addPeer(peer, seeder)
    let assembling = 0
    let outstanding = 0
    for (let now = 0; !p.isComplete(); now += 10) {
      for (const peer of peers) {
        const queue = queues.get(peer)!
        const next = queue.shift()
        if (next !== undefined) deliver(p, peer, [next], now)
        queue.push(...p.nextRequests(peer, seeder, MIN_REQUEST_DEPTH - p.outstanding(peer), now))
        assembling = Math.max(assembling, p.assemblingCount)
        outstanding = Math.max(outstanding, p.outstandingTotal)
      }
    }
    p.checkInvariants()
    return { assembling, outstanding }
  }

  it("keeps the pieces in assembly within maxOutstanding, however many peers", () => {
    // Each peer on pieces of its own: about one piece in assembly per peer.
    expect(swarm(undefined).assembling).toBeGreaterThan(300)
    // 512 blocks shared: at most twice that outstanding, so at most 2 * 512 / 16 pieces in assembly.
    const bounded = swarm(512)
    expect(bounded.outstanding).toBeLessThanOrEqual(2 * 512)
    expect(bounded.assembling).toBeLessThanOrEqual(64)
  })

  it("gives each peer at least its fair share, and lends what others leave", () => {
    const p = picker(16 * BLOCK_SIZE, 64 * 16 * BLOCK_SIZE, { maxOutstanding: 64 })
    const seeder = Bitfield.full(64)
    for (const peer of ["a", "b", "c", "d"]) p.addPeer(peer, seeder)
    // Alone in asking, a may borrow all of it.
    expect(p.nextRequests("a", seeder, 100, 0).length).toBe(64)
    // The budget is spent: b still gets its fair share, 64 / 4.
    expect(p.nextRequests("b", seeder, 100, 0).length).toBe(16)
    expect(p.nextRequests("b", seeder, 100, 0).length).toBe(0)
    // However many peers, each may keep MIN_FAIR_SHARE.
    for (let i = 0; i < 100; i++) p.addPeer(`x${i}`, seeder)
    expect(p.nextRequests("x0", seeder, 100, 0).length).toBe(MIN_FAIR_SHARE)
    p.checkInvariants()
  })
})

describe("PiecePicker endgame", () => {
  it("duplicates blocks outstanding for a while to a bounded number of other peers and cancels the rest", () => {
    const p = picker(2 * BLOCK_SIZE, 2 * BLOCK_SIZE)
    const seeder = Bitfield.full(1)
    for (const peer of ["a", "b", "c", "d"]) p.addPeer(peer, seeder)
    expect(p.inEndgame()).toBe(false)
    expect(p.nextRequests("a", seeder, 10, 0).length).toBe(2)
    expect(p.inEndgame()).toBe(true)
    // Not yet: a's blocks were asked for just now, and would likely arrive twice.
    expect(p.nextRequests("b", seeder, 10, ENDGAME_WAIT_MS)).toEqual([])
    const t = ENDGAME_WAIT_MS + 1
    expect(p.nextRequests("a", seeder, 10, t)).toEqual([]) // never its own outstanding blocks
    // The most recently requested block first: it waits deepest in a's queue.
    expect(p.nextRequests("b", seeder, 1, t).map((r) => r.begin)).toEqual([BLOCK_SIZE])
    // c gets block 0 only: block 1's second request (b's) is fresh.
    expect(p.nextRequests("c", seeder, 10, t).map((r) => r.begin)).toEqual([0])
    const later = t + ENDGAME_WAIT_MS + 1
    expect(p.nextRequests("b", seeder, 10, later).map((r) => r.begin)).toEqual([0])
    expect(p.nextRequests("c", seeder, 10, later).map((r) => r.begin)).toEqual([BLOCK_SIZE])
    expect(p.nextRequests("d", seeder, 10, later)).toEqual([]) // each block is with ENDGAME_MAX_HOLDERS peers
    expect(ENDGAME_MAX_HOLDERS).toBe(3)
    const result = p.blockReceived("b", 0, 0, BLOCK_SIZE, later)
    expect(result.accepted).toBe(true)
    expect([...result.cancel].sort((x, y) => x.peer.localeCompare(y.peer))).toEqual([
      { peer: "a", index: 0, begin: 0, length: BLOCK_SIZE },
      { peer: "c", index: 0, begin: 0, length: BLOCK_SIZE }
    ])
    expect(p.blockReceived("a", 0, 0, BLOCK_SIZE, later).accepted).toBe(false)
    expect([p.outstanding("a"), p.outstanding("b"), p.outstanding("c")]).toEqual([1, 1, 1])
    expect(p.outstandingTotal).toBe(3)
    const last = p.blockReceived("c", 0, BLOCK_SIZE, BLOCK_SIZE, later)
    expect(last.pieceComplete).toBe(true)
    expect(last.cancel.map((c) => c.peer).sort()).toEqual(["a", "b"])
    expect(p.outstandingTotal).toBe(0)
    p.checkInvariants()
    p.pieceVerified(0)
    expect(p.inEndgame()).toBe(false)
    expect(p.isComplete()).toBe(true)
  })

  it("with many peers gives each block one duplicate and each peer a few, the newest blocks first", () => {
    const blocks = 64
    const p = picker(blocks * BLOCK_SIZE, blocks * BLOCK_SIZE)
    const seeder = Bitfield.full(1)
    const peers = range(0, 20).map((i) => `p${i}`)
    for (const peer of peers) p.addPeer(peer, seeder)
    expect(p.nextRequests("p0", seeder, blocks, 0).length).toBe(blocks)
    const now = 2 * ENDGAME_WAIT_MS
    const got = peers.slice(1).map((peer) => p.nextRequests(peer, seeder, 100, now))
    expect(got[0]!.map((r) => r.begin / BLOCK_SIZE)).toEqual([63, 62, 61, 60])
    for (const requests of got) expect(requests.length).toBeLessThanOrEqual(ENDGAME_DEPTH)
    // 19 idle peers could take 76 duplicates; each of the 64 blocks gets one.
    expect(got.flat().length).toBe(blocks)
    expect(new Set(got.flat().map((r) => r.begin)).size).toBe(blocks)
    expect(p.outstandingTotal).toBe(2 * blocks)
    p.checkInvariants()
    // With few peers a block may have a third holder.
    const few = picker(2 * BLOCK_SIZE, 2 * BLOCK_SIZE)
    for (const peer of peers.slice(0, 4)) few.addPeer(peer, seeder)
    few.nextRequests("p0", seeder, 2, 0)
    expect(few.nextRequests("p1", seeder, 100, now).map((r) => r.begin / BLOCK_SIZE)).toEqual([1, 0])
    expect(few.nextRequests("p2", seeder, 100, 2 * now).map((r) => r.begin / BLOCK_SIZE)).toEqual([1, 0])
    expect(few.nextRequests("p3", seeder, 100, 3 * now)).toEqual([])
    few.checkInvariants()
  })

  it("leaves endgame when a request is released", () => {
    const p = picker(2 * BLOCK_SIZE, 4 * BLOCK_SIZE)
    const seeder = Bitfield.full(2)
    p.nextRequests("a", seeder, 4, 0)
    expect(p.inEndgame()).toBe(true)
    p.peerChoked("a")
    expect(p.inEndgame()).toBe(false)
    expect(p.nextRequests("b", seeder, 10, 0).length).toBe(4)
  })
})

describe("requestDepth", () => {
  it("covers two seconds of transfer, clamped to [16, 256]", () => {
    expect(requestDepth(0)).toBe(MIN_REQUEST_DEPTH)
    expect(requestDepth(Number.NaN)).toBe(MIN_REQUEST_DEPTH)
    expect(requestDepth(-5)).toBe(MIN_REQUEST_DEPTH)
    expect(requestDepth(Number.POSITIVE_INFINITY)).toBe(MIN_REQUEST_DEPTH)
    expect(requestDepth(1024 * 1024)).toBe(128)
    expect(requestDepth(1024 * 1024 + 1)).toBe(129)
    expect(requestDepth(500 * 1024 * 1024)).toBe(MAX_REQUEST_DEPTH)
    expect([MIN_REQUEST_DEPTH, MAX_REQUEST_DEPTH]).toEqual([16, 256])
  })

  it("is monotone in the rate", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (x, y) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x]
        expect(requestDepth(lo)).toBeLessThanOrEqual(requestDepth(hi))
      })
    )
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Properties: a model of who holds which block, checked against the picker after every operation.

const PEERS = ["p0", "p1", "p2", "p3"] as const
const TIMEOUT = 5_000

const geometryArb = fc
  .record({
    pieceLength: fc.constantFrom(BLOCK_SIZE, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE - 5000, 4 * BLOCK_SIZE),
    pieceCount: fc.integer({ min: 1, max: 8 }),
    last: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })
  })
  .map(({ last, pieceCount, pieceLength }) => ({
    pieceLength,
    pieceCount,
    totalLength: pieceLength * (pieceCount - 1) + 1 + Math.floor(last * pieceLength)
  }))

const flagsArb = fc.array(fc.boolean(), { minLength: 8, maxLength: 8 })
const peerArb = fc.integer({ min: 0, max: PEERS.length - 1 })

type Op =
  | { readonly op: "add" | "choke" | "remove"; readonly peer: number }
  | { readonly op: "next"; readonly peer: number; readonly max: number }
  | { readonly op: "deliver"; readonly peer: number; readonly pick: number; readonly verify: boolean }
  | { readonly op: "reject"; readonly peer: number; readonly pick: number }
  | {
    readonly op: "junk"
    readonly peer: number
    readonly index: number
    readonly block: number
    readonly short: boolean
    readonly verify: boolean
  }
  | { readonly op: "timeout" }

const opArb: fc.Arbitrary<Op & { readonly dt: number }> = fc
  .oneof(
    fc.record({ op: fc.constantFrom("add" as const, "choke" as const, "remove" as const), peer: peerArb }),
    fc.record({ op: fc.constant("next" as const), peer: peerArb, max: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ op: fc.constant("next" as const), peer: peerArb, max: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ op: fc.constant("deliver" as const), peer: peerArb, pick: fc.nat(), verify: fc.boolean() }),
    fc.record({ op: fc.constant("deliver" as const), peer: peerArb, pick: fc.nat(), verify: fc.boolean() }),
    fc.record({ op: fc.constant("reject" as const), peer: peerArb, pick: fc.nat() }),
    fc.record({
      op: fc.constant("junk" as const),
      peer: peerArb,
      index: fc.nat(9),
      block: fc.nat(4),
      short: fc.boolean(),
      verify: fc.boolean()
    }),
    fc.record({ op: fc.constant("timeout" as const) })
  )
  .chain((op) => fc.nat(3_000).map((dt) => ({ ...op, dt })))

const blockKey = (index: number, block: number) => `${index}/${block}`

describe("PiecePicker properties", () => {
  it("never hands out a block twice outside endgame, and agrees with a model after every step", () => {
    fc.assert(
      fc.property(
        geometryArb,
        fc.array(flagsArb, { minLength: PEERS.length, maxLength: PEERS.length }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 3 }),
        fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        fc.nat(),
        fc.array(opArb, { maxLength: 200, size: "max" }),
        (geom, peerFlags, haveFlags, randomFirstPieces, maxOutstanding, seed, ops) => {
          const { pieceCount } = geom
          const bits = peerFlags.map((flags) => bitsOf(pieceCount, range(0, pieceCount).filter((i) => flags[i])))
          const have = bitsOf(pieceCount, range(0, pieceCount).filter((i) => haveFlags[i] && i % 3 === 0))
          const p = new PiecePicker<string>({
            ...geom,
            random: seeded(seed),
            randomFirstPieces,
            have,
            ...(maxOutstanding === undefined ? {} : { maxOutstanding })
          })

          // The model.
          const holders = new Map<string, Map<string, number>>() // block -> peer -> when requested
          const received = new Set<string>()
          const verified = new Set(range(0, pieceCount).filter((i) => have.has(i)))
          const contributors = new Map<number, Set<string>>()
          const lastReceived = new Map<string, number>()
          // Pieces that failed once go to one peer per attempt: the first to take a block of it.
          const single = new Set<number>()
          const owners = new Map<number, string>()
          // Blocks whose requests to a peer a choke or a timeout released: taken from it if they come late.
          const late = new Map<string, Set<string>>()
          const lateOf = (peer: string) => late.get(peer) ?? late.set(peer, new Set()).get(peer)!
          // Peers the picker knows: added, or asked for requests, and not removed since.
          const known = new Set<string>()
          let now = 0

          const holdersOf = (key: string) => holders.get(key) ?? new Map<string, number>()
          const missingBlocks = function*() {
            for (let index = 0; index < pieceCount; index++) {
              if (verified.has(index)) continue
              for (let block = 0; block < p.blockCount(index); block++) {
                const key = blockKey(index, block)
                if (!received.has(key)) yield { index, block, key }
              }
            }
          }
          const freeCount = () => [...missingBlocks()].filter(({ key }) => holdersOf(key).size === 0).length
          const heldBy = (peer: string) =>
            [...holders].filter(([, held]) => held.has(peer)).map(([key]) => key).sort()
          const drop = (peer: string, key: string) => {
            holders.get(key)?.delete(peer)
          }
          const dropAll = (peer: string) => heldBy(peer).forEach((key) => drop(peer, key))
          const blockFrom = (key: string) => key.split("/").map(Number) as [number, number]

          const receive = (peer: string, index: number, block: number, length: number, verify: boolean) => {
            const key = blockKey(index, block)
            const fits = index < pieceCount && !verified.has(index) && block < p.blockCount(index) &&
              length === Math.min(BLOCK_SIZE, p.pieceSize(index) - block * BLOCK_SIZE)
            const held = holdersOf(key)
            const accepted = fits && !received.has(key) &&
              (held.size > 0 || (lateOf(peer).has(key) && !single.has(index)))
            const result = p.blockReceived(peer, index, block * BLOCK_SIZE, length, now)
            expect(result.accepted).toBe(accepted)
            if (!accepted) {
              expect(result).toEqual({ accepted: false, pieceComplete: false, cancel: [] })
              return
            }
            const others = [...held.keys()].filter((other) => other !== peer).sort()
            expect(result.cancel.map((c) => c.peer).sort()).toEqual(others)
            for (const c of result.cancel) expect(c).toEqual({ peer: c.peer, index, begin: block * BLOCK_SIZE, length })
            if (held.has(peer)) lastReceived.set(peer, now)
            lateOf(peer).delete(key)
            holders.delete(key)
            received.add(key)
            const byPiece = contributors.get(index) ?? new Set<string>()
            byPiece.add(peer)
            contributors.set(index, byPiece)
            const complete = range(0, p.blockCount(index)).every((b) => received.has(blockKey(index, b)))
            expect(result.pieceComplete).toBe(complete)
            expect(p.contributors(index)).toEqual(byPiece)
            if (!complete) return
            for (let b = 0; b < p.blockCount(index); b++) received.delete(blockKey(index, b))
            contributors.delete(index)
            owners.delete(index)
            if (verify) {
              expect(p.pieceVerified(index)).toEqual([])
              verified.add(index)
              single.delete(index)
            } else {
              expect(p.pieceFailed(index)).toEqual(byPiece)
              single.add(index)
            }
          }

          for (const op of ops) {
            now += op.dt
            const peer = op.op === "timeout" ? "" : PEERS[op.peer]!
            const peerBits = op.op === "timeout" ? undefined : bits[op.peer]!
            switch (op.op) {
              case "add":
                p.addPeer(peer, peerBits!)
                known.add(peer)
                break
              case "choke":
                p.peerChoked(peer)
                for (const key of heldBy(peer)) lateOf(peer).add(key)
                dropAll(peer)
                break
              case "remove":
                p.removePeer(peer)
                dropAll(peer)
                late.delete(peer)
                lastReceived.delete(peer)
                known.delete(peer)
                break
              case "reject": {
                const held = heldBy(peer)
                if (held.length === 0) break
                const [index, block] = blockFrom(held[op.pick % held.length]!)
                p.requestRejected(peer, index, block * BLOCK_SIZE)
                drop(peer, blockKey(index, block))
                break
              }
              case "deliver": {
                const held = heldBy(peer)
                if (held.length === 0) break
                const [index, block] = blockFrom(held[op.pick % held.length]!)
                receive(peer, index, block, Math.min(BLOCK_SIZE, p.pieceSize(index) - block * BLOCK_SIZE), op.verify)
                break
              }
              case "junk": {
                const length = op.index < pieceCount
                  ? Math.max(1, Math.min(BLOCK_SIZE, p.pieceSize(op.index) - op.block * BLOCK_SIZE))
                  : BLOCK_SIZE
                receive(peer, op.index, op.block, op.short ? length - 1 : length, op.verify)
                break
              }
              case "timeout": {
                const expected: Array<string> = []
                for (const [key, held] of holders) {
                  for (const [holder, at] of held) {
                    const stale = now - (lastReceived.get(holder) ?? -Infinity) > TIMEOUT
                    if (stale && now - at > TIMEOUT) expected.push(`${holder} ${key}`)
                  }
                }
                const released = p.timedOut(now, TIMEOUT)
                expect(released.map((r) => `${r.peer} ${blockKey(r.index, r.begin / BLOCK_SIZE)}`).sort()).toEqual(
                  expected.sort()
                )
                for (const r of released) {
                  drop(r.peer, blockKey(r.index, r.begin / BLOCK_SIZE))
                  lateOf(r.peer).add(blockKey(r.index, r.begin / BLOCK_SIZE))
                }
                break
              }
              case "next": {
                if (op.max > 0) known.add(peer)
                // Under maxOutstanding: what is left of it, or up to the peer's fair share.
                const total = [...holders.values()].reduce((sum, held) => sum + held.size, 0)
                const fair = maxOutstanding === undefined
                  ? Infinity
                  : Math.max(MIN_FAIR_SHARE, Math.floor(maxOutstanding / known.size))
                const allowed = Math.min(
                  op.max,
                  maxOutstanding === undefined ? Infinity : Math.max(fair - heldBy(peer).length, maxOutstanding - total)
                )
                const requests = p.nextRequests(peer, peerBits!, op.max, now)
                expect(requests.length).toBeLessThanOrEqual(Math.max(0, allowed))
                for (const r of requests) {
                  const block = r.begin / BLOCK_SIZE
                  const key = blockKey(r.index, block)
                  expect(Number.isInteger(block) && block < p.blockCount(r.index)).toBe(true)
                  expect(r.length).toBe(Math.min(BLOCK_SIZE, p.pieceSize(r.index) - r.begin))
                  expect(peerBits!.has(r.index) && !verified.has(r.index) && !received.has(key)).toBe(true)
                  const held = holdersOf(key)
                  expect(held.has(peer)).toBe(false)
                  if (single.has(r.index)) {
                    expect(owners.get(r.index) ?? peer).toBe(peer)
                    owners.set(r.index, peer)
                  }
                  // The property: a block already outstanding elsewhere only in endgame, to a bounded number.
                  // ... and only to a peer with fewer than ENDGAME_DEPTH requests outstanding.
                  if (held.size > 0) {
                    expect(freeCount()).toBe(0)
                    expect(held.size).toBeLessThan(known.size > ENDGAME_MANY_PEERS ? 2 : ENDGAME_MAX_HOLDERS)
                    expect(heldBy(peer).length).toBeLessThan(ENDGAME_DEPTH)
                    for (const at of held.values()) expect(now - at).toBeGreaterThan(ENDGAME_WAIT_MS)
                  }
                  holders.set(key, held.set(peer, now))
                }
                // And it hands out all it may: a short answer means nothing eligible is left for this peer.
                if (requests.length < allowed) {
                  const endgame = freeCount() === 0
                  for (const { index, key } of missingBlocks()) {
                    if (!peerBits!.has(index) || (owners.get(index) ?? peer) !== peer) continue
                    const held = holdersOf(key)
                    expect(held.size).toBeGreaterThan(0)
                    if (endgame && heldBy(peer).length < ENDGAME_DEPTH) {
                      const fresh = [...held.values()].some((at) => now - at <= ENDGAME_WAIT_MS)
                      expect(held.has(peer) || held.size >= ENDGAME_MAX_HOLDERS || fresh).toBe(true)
                    }
                  }
                }
                break
              }
            }
            // An owner that left, or that holds and has delivered nothing of its piece, owns it no more.
            for (const [index, owner] of owners) {
              const blocks = range(0, p.blockCount(index)).map((block) => blockKey(index, block))
              const untouched = blocks.every((key) => !received.has(key) && holdersOf(key).size === 0)
              if ((op.op === "remove" && owner === peer) || untouched) owners.delete(index)
            }
            p.checkInvariants()
            for (const each of PEERS) expect(p.outstanding(each)).toBe(heldBy(each).length)
            expect(p.verifiedCount).toBe(verified.size)
            expect(p.inEndgame()).toBe(freeCount() === 0 && verified.size < pieceCount)
            expect(p.isComplete()).toBe(verified.size === pieceCount)
          }
        }
      ),
      { numRuns: 200 }
    )
  }, 60_000)

  it("always completes with honest peers that come, go, choke, drop requests and sometimes corrupt a piece", () => {
    fc.assert(
      fc.property(
        geometryArb,
        fc.array(fc.record({ flags: flagsArb, lossy: fc.boolean() }), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        // Also under a budget of requests outstanding, down to one block: it slows, never stalls.
        fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
        (geom, swarm, seed, maxOutstanding) => {
          const { pieceCount } = geom
          const random = seeded(seed)
          const p = new PiecePicker<number>({
            ...geom,
            random: seeded(seed + 1),
            ...(maxOutstanding === undefined ? {} : { maxOutstanding })
          })
          const bits = swarm.map(({ flags }) => bitsOf(pieceCount, range(0, pieceCount).filter((i) => flags[i])))
          for (let index = 0; index < pieceCount; index++) {
            if (!bits.some((b) => b.has(index))) bits[index % bits.length]!.set(index)
          }
          const queues = swarm.map((): Array<BlockRequest> => [])
          const present = swarm.map(() => false)
          const unqueue = (peer: number, r: BlockRequest) => {
            const queue = queues[peer]!
            const at = queue.findIndex((q) => q.index === r.index && q.begin === r.begin)
            if (at >= 0) queue.splice(at, 1)
          }
          let now = 0
          for (let round = 0; round < 2_000 && !p.isComplete(); round++) {
            now += 1_000
            for (let peer = 0; peer < swarm.length; peer++) {
              if (!present[peer]) {
                if (random() < 0.5) {
                  p.addPeer(peer, bits[peer]!)
                  present[peer] = true
                }
                continue
              }
              if (random() < 0.03) {
                p.removePeer(peer)
                queues[peer] = []
                present[peer] = false
                continue
              }
              if (random() < 0.05) {
                p.peerChoked(peer)
                queues[peer] = []
                continue
              }
              queues[peer]!.push(...p.nextRequests(peer, bits[peer]!, 4 - p.outstanding(peer), now))
              for (let n = Math.floor(random() * (queues[peer]!.length + 1)); n > 0; n--) {
                const r = queues[peer]!.shift()!
                if (swarm[peer]!.lossy && random() < 0.2) continue
                const result = p.blockReceived(peer, r.index, r.begin, r.length, now)
                for (const c of result.cancel) unqueue(c.peer, c)
                if (result.pieceComplete) {
                  if (random() < 0.05) p.pieceFailed(r.index)
                  else p.pieceVerified(r.index)
                }
              }
            }
            for (const r of p.timedOut(now, 3_000)) unqueue(r.peer, r)
            p.checkInvariants()
          }
          expect(p.isComplete()).toBe(true)
          expect(p.missingBytes).toBe(0)
          expect(p.bytesVerified).toBe(geom.totalLength)
        }
      ),
      { numRuns: 200 }
    )
  }, 60_000)
})
