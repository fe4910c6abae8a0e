import type { Bitfield } from "./Bitfield.js"

/**
 * How many known peers have each piece, and the "candidate" pieces (still needed, not yet started) grouped into
 * buckets by that count, so rarest-first finds the rarest candidate without sorting and a HAVE moves one piece
 * between two buckets in O(1).
 *
 * Invariants:
 * - `counts[i]` is the number of peers whose counted bitfield has piece i (every piece, candidate or not);
 * - piece i is a candidate iff `position[i] >= 0`, and then `buckets[counts[i]][position[i]] === i`;
 * - `candidates` is the total length of the buckets.
 * Order within a bucket is arbitrary (removal swaps the last entry into the hole); ties are broken at random.
 */
export class Availability {
  readonly counts: Int32Array
  private readonly position: Int32Array
  private readonly buckets: Array<Array<number>> = [[]]
  private candidates = 0

  constructor(pieceCount: number) {
    this.counts = new Int32Array(pieceCount)
    this.position = new Int32Array(pieceCount).fill(-1)
  }

  /** Number of candidate pieces. */
  get size(): number {
    return this.candidates
  }

  isCandidate(piece: number): boolean {
    return this.position[piece]! >= 0
  }

  insert(piece: number): void {
    if (this.position[piece]! >= 0) return
    this.push(piece)
    this.candidates++
  }

  remove(piece: number): void {
    if (this.position[piece]! < 0) return
    this.unlink(piece)
    this.candidates--
  }

  /** One more peer has `piece`. */
  increment(piece: number): void {
    const candidate = this.position[piece]! >= 0
    if (candidate) this.unlink(piece)
    this.counts[piece]!++
    if (candidate) this.push(piece)
  }

  /** One peer fewer has `piece` (the caller only uncounts what it counted). */
  decrement(piece: number): void {
    const candidate = this.position[piece]! >= 0
    if (candidate) this.unlink(piece)
    this.counts[piece]!--
    if (candidate) this.push(piece)
  }

  /**
   * The rarest candidate in `bits`, ties broken at random, or -1. Buckets are visited from availability 1 up,
   * then 0 (pieces no counted peer has; only a caller passing an uncounted bitfield can match those). Within a
   * bucket the scan starts at a random offset and wraps. With `accept`, only candidates it accepts (one priority). Cost: the candidates in buckets rarer than the answer
   * that `bits` lacks, so O(1) for a seeder and at worst O(candidates) for a peer with nothing we need.
   */
  pickRarest(bits: Bitfield, random: () => number, accept?: (piece: number) => boolean): number {
    for (let count = 1; count <= this.buckets.length; count++) {
      const bucket = this.buckets[count === this.buckets.length ? 0 : count]!
      const length = bucket.length
      if (length === 0) continue
      const start = Math.floor(random() * length)
      for (let k = 0; k < length; k++) {
        const piece = bucket[(start + k) % length]!
        if (bits.has(piece) && (accept === undefined || accept(piece))) return piece
      }
    }
    return -1
  }

  /**
   * A random candidate in `bits`, or -1: a scan over piece indexes from a random start, wrapping. Used only for
   * the first few pieces of a download, so the O(pieceCount) worst case is paid a handful of times.
   */
  pickRandom(bits: Bitfield, random: () => number, accept?: (piece: number) => boolean): number {
    const pieceCount = this.position.length
    if (this.candidates === 0 || pieceCount === 0) return -1
    const start = Math.floor(random() * pieceCount)
    for (let k = 0; k < pieceCount; k++) {
      const piece = (start + k) % pieceCount
      if (this.position[piece]! >= 0 && bits.has(piece) && (accept === undefined || accept(piece))) return piece
    }
    return -1
  }

  private push(piece: number): void {
    const count = this.counts[piece]!
    while (this.buckets.length <= count) this.buckets.push([])
    const bucket = this.buckets[count]!
    this.position[piece] = bucket.length
    bucket.push(piece)
  }

  private unlink(piece: number): void {
    const bucket = this.buckets[this.counts[piece]!]!
    const at = this.position[piece]!
    const last = bucket.pop()!
    if (last !== piece) {
      bucket[at] = last
      this.position[last] = at
    }
    this.position[piece] = -1
  }
}
