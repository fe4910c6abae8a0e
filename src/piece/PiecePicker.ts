import { Availability } from "./Availability.js"
import { Bitfield } from "./Bitfield.js"
import { BLOCK_SIZE, blockCount, blockLength, type Geometry, pieceSize, validateGeometry } from "./geometry.js"

export { BLOCK_SIZE } from "./geometry.js"
import { type PaddingRange, paddingBlocks } from "./padding.js"

/** A block request as sent on the wire (REQUEST / CANCEL payload). */
export interface BlockRequest {
  readonly index: number
  readonly begin: number
  readonly length: number
}

/** A block request outstanding with a particular peer. */
export interface PeerRequest<Peer> extends BlockRequest {
  readonly peer: Peer
}

export interface BlockReceived<Peer> {
  /** False for a block we already have (or of a piece not started), or one that does not fit the piece geometry. */
  readonly accepted: boolean
  /** The last block of the piece has arrived: hash it, then call `pieceVerified` or `pieceFailed`. */
  readonly pieceComplete: boolean
  /** Other peers that had this block outstanding (endgame duplicates): send them CANCEL. */
  readonly cancel: ReadonlyArray<PeerRequest<Peer>>
}

/** What a priority change took back (see `setPriorities`): each request for the caller to CANCEL. */
export interface Released<Peer> {
  readonly requests: ReadonlyArray<PeerRequest<Peer>>
  /** Pieces in assembly dropped because they are now skipped: their blocks received so far are discarded. */
  readonly abandoned: ReadonlyArray<number>
}

const NOTHING_RELEASED: Released<never> = { requests: [], abandoned: [] }

export interface PiecePickerOptions extends Geometry {
  /** Uniform in [0, 1); injected so picking is deterministic under test. */
  readonly random: () => number
  /** Pick pieces at random (not rarest first) until this many are verified. Default 4. */
  readonly randomFirstPieces?: number
  /** Pieces already verified (resumed from disk): never requested. */
  readonly have?: Bitfield
  /**
   * Requests (blocks) outstanding over all peers. Past it a peer only gets its fair share (this divided among the
   * peers, at least MIN_FAIR_SHARE), so the total stays within about twice this however many peers there are; and
   * since partial pieces are handed out before new ones open, so do the pieces in assembly. Default: no limit.
   */
  readonly maxOutstanding?: number
  /**
   * Each piece's priority (see `Priority`): `skip` pieces are never started, higher ones are started before lower
   * ones, rarest first within a priority. Default: every piece `normal`. Change it later with `setPriorities`.
   */
  readonly priorities?: Uint8Array
  /**
   * Start pieces in index order (within a priority) instead of rarest first: for playing a file while it downloads.
   * Blocks are still spread over every peer that has them, and every piece is still verified.
   */
  readonly sequential?: boolean
  /**
   * BEP 47 padding (zeros that align files to pieces): blocks wholly inside it are never requested, and count as
   * received from the moment their piece starts, so a piece is whole once its other blocks are in (see
   * `paddingBlocks`). The caller fills them with zeros.
   */
  readonly padding?: ReadonlyArray<PaddingRange>
}

/**
 * A piece's (or a file's) priority: skipped, or wanted at one of three levels. `deadline` is a piece's only: one a
 * reader needs now (a stream's window), started before all others and in index order.
 */
export const Priority = { skip: 0, low: 1, normal: 2, high: 3, deadline: 4 } as const
export type Priority = typeof Priority[keyof typeof Priority]
const LEVELS = [Priority.deadline, Priority.high, Priority.normal, Priority.low] as const

/** In endgame a block may be outstanding with at most this many peers: the first request plus two duplicates. */
export const ENDGAME_MAX_HOLDERS = 3

/** With more peers than this, a block in endgame gets one duplicate only: idle peers are many, and each adds waste. */
export const ENDGAME_MANY_PEERS = 8

/**
 * In endgame a peer is given duplicates only while it has fewer requests than this outstanding: a few blocks per
 * round trip from every idle peer finish the stragglers, and far fewer answers arrive after the block is already in.
 */
export const ENDGAME_DEPTH = 4

/**
 * In endgame a block is duplicated only once every request for it has been out this long. A block from a working
 * peer arrives sooner (on a LAN in milliseconds; a pipeline is a couple of seconds at most), and by then it is
 * usually on the wire already, so a duplicate would only double its bytes; a stuck or slow peer's blocks get help
 * after a second or two (an idle peer asks again at the swarm's next tick) instead of after the request timeout.
 */
export const ENDGAME_WAIT_MS = 1_000

/**
 * A block of a piece a reader waits for (`deadline`) that has been outstanding this long with one peer is asked of
 * a second: a working peer answers a fresh request well within it, even with a few blocks queued before it.
 */
export const DEADLINE_LATE_MS = 2_000

/** The fewest requests a peer may keep outstanding under `maxOutstanding`, however many peers share it. */
export const MIN_FAIR_SHARE = 2

/**
 * A started piece: per-block state. A block is exactly one of received (`received[b] === 1`, no holders),
 * outstanding (`holders[b]` non-empty, not received) or free (neither).
 */
class Piece<Peer> {
  readonly received: Uint8Array
  /** Peers each block is outstanding with: one normally, up to ENDGAME_MAX_HOLDERS in endgame, no repeats. */
  readonly holders: Array<Array<Peer>>
  receivedCount = 0
  /** Number of free blocks. */
  free: number
  /** Every free block is at an index >= cursor, so handing blocks out in order is amortised O(1). */
  cursor = 0
  /** Peers whose data was accepted into this piece since it was last reset (for blame when the hash fails). */
  contributors = new Set<Peer>()
  /**
   * Set once the piece has failed its hash check: from then on each attempt comes from one peer, the `owner` (the
   * first to take a block of it), so a failure convicts that peer and a pass clears it. Without this a liar and
   * honest peers keep sharing the piece, every attempt fails, and no one can be told apart.
   */
  single = false
  owner: Peer | undefined = undefined

  constructor(readonly index: number, readonly blocks: number) {
    this.received = new Uint8Array(blocks)
    this.holders = Array.from({ length: blocks }, () => [])
    this.free = blocks
  }
}

interface PeerState {
  /** The pieces counted into availability for this peer (our own copy). */
  readonly bits: Bitfield
  /**
   * Outstanding requests: block key to when it was sent, in the order they were sent (Map insertion order). Only
   * the time is stored (the key gives the piece and block): no object per request, which would live as long as
   * the request and be promoted out of the young generation, to be collected by a full collection.
   */
  readonly requests: Map<number, number>
  /** When this peer last delivered a block we had asked it for. */
  lastReceived: number
  /**
   * Blocks whose requests to this peer were released while it may still send them (a choke without BEP 6, a
   * timeout): taken if they come late and are still needed. Forgotten past MAX_LATE.
   */
  readonly late: Set<number>
}

/** Released requests remembered per peer for late blocks; past it the memory starts over. */
export const MAX_LATE = 1024

const NO_CONTRIBUTORS: ReadonlySet<never> = new Set()
const NO_CANCEL: ReadonlyArray<never> = []
const REFUSED: BlockReceived<never> = { accepted: false, pieceComplete: false, cancel: NO_CANCEL }
/** The usual answers, shared rather than allocated per block. */
const ACCEPTED: BlockReceived<never> = { accepted: true, pieceComplete: false, cancel: NO_CANCEL }
const ACCEPTED_COMPLETE: BlockReceived<never> = { accepted: true, pieceComplete: true, cancel: NO_CANCEL }

/**
 * Block bookkeeping and piece selection for one torrent. Pure and synchronous: called per block on the hot path.
 *
 * Every piece we do not have is in exactly one of three places:
 * - a *candidate* (in `availability`'s buckets): wanted (priority above `skip`), nothing requested or received yet;
 * - *started* (in `started`): per-block state in a `Piece`, kept until the piece is verified (a failed piece is
 *   reset in place), whatever its priority becomes meanwhile. `open` holds the started pieces with at least one free
 *   block, in the order they opened;
 * - *skipped*: priority `skip` and not started; never requested until its priority rises.
 * `candidatesAt[p]` counts the candidates of priority p; `missingWanted` the pieces not verified whose priority is
 * above `skip` (the download is complete when it is 0).
 *
 * Further invariants (checked by `checkInvariants`):
 * - `unrequested` = candidate blocks + free blocks of started pieces; endgame is exactly `unrequested === 0`;
 * - block (i, b) is in `peers.get(p).requests` iff p is in `started.get(i).holders[b]`;
 * - outside endgame nextRequests only hands out free blocks, so no block has two holders unless, when the
 *   duplicate was handed out, every missing block was already outstanding;
 * - `requested` is the number of (peer, block) requests outstanding; `assembling` the started pieces not yet whole.
 *
 * Bounds with many peers: partial pieces are handed out before a new one opens, so the started pieces are mostly
 * wholly requested, and their number follows the requests outstanding, which `maxOutstanding` bounds whatever the
 * number of peers. Endgame duplicates are bounded by ENDGAME_DEPTH per peer and `endgameHolders()` per block.
 *
 * Costs: continuing partial pieces is O(open pieces the peer lacks + blocks handed out); starting a piece is one
 * bucket scan (see `Availability.pickRarest`), amortised over its blocks; blockReceived, requestRejected and a HAVE
 * are O(1) (plus the holders of that block); endgame scans the started pieces, which by then are few.
 */
export class PiecePicker<Peer> {
  readonly pieceCount: number
  readonly pieceLength: number
  readonly totalLength: number
  private readonly random: () => number
  private readonly randomFirstPieces: number
  private readonly blocksPerPiece: number
  private readonly have: Bitfield
  private readonly availability: Availability
  private readonly started = new Map<number, Piece<Peer>>()
  private readonly open = new Set<number>()
  private readonly peers = new Map<Peer, PeerState>()
  private readonly maxOutstanding: number
  private unrequested = 0
  /** Requests outstanding over all peers (the sum of their `requests` sizes). */
  private requested = 0
  /** Started pieces whose blocks have not all been received: the pieces in assembly. */
  private assembling = 0
  private verifiedBytes = 0
  private readonly priority: Uint8Array
  private readonly candidatesAt = new Int32Array(5)
  private missingWanted = 0
  private missingWantedBytes = 0
  private wantedTotal = 0
  private sequential: boolean
  /** In sequential mode: no piece below this is a candidate (candidates below it appear only by `setPriorities`). */
  private inOrderFrom = 0
  /** Blocks wholly in padding, by piece (see `PiecePickerOptions.padding`). */
  private readonly padBlocks: Map<number, Array<number>>
  /**
   * Started pieces that were `deadline` (in a reader's window) and no longer are: their requests are taken back
   * from a peer that could serve a reader's current window instead (see `setPriorities`).
   */
  private readonly demoted = new Set<number>()
  /** See `setWindows`. */
  private windows: ReadonlyArray<{ readonly from: number; readonly to: number }> = []

  constructor(options: PiecePickerOptions) {
    validateGeometry(options)
    this.pieceCount = options.pieceCount
    this.pieceLength = options.pieceLength
    this.totalLength = options.totalLength
    this.random = options.random
    this.randomFirstPieces = options.randomFirstPieces ?? 4
    this.maxOutstanding = options.maxOutstanding ?? Infinity
    this.blocksPerPiece = Math.ceil(options.pieceLength / BLOCK_SIZE)
    this.have = this.sized(options.have ?? new Bitfield(options.pieceCount)).copy()
    this.availability = new Availability(options.pieceCount)
    this.sequential = options.sequential ?? false
    this.priority = new Uint8Array(options.pieceCount).fill(Priority.normal)
    this.padBlocks = paddingBlocks(options, options.padding ?? [])
    if (options.priorities !== undefined) this.priority.set(this.sizedPriorities(options.priorities))
    for (let index = 0; index < this.pieceCount; index++) {
      if (this.priority[index]! > Priority.skip) this.wantedTotal += pieceSize(this, index)
      if (this.have.has(index)) {
        this.verifiedBytes += pieceSize(this, index)
      } else if (this.priority[index]! > Priority.skip) {
        this.addCandidate(index)
        this.missingWanted++
        this.missingWantedBytes += pieceSize(this, index)
      }
    }
  }

  // Priorities

  /** Piece `index`'s priority. */
  priorityOf(index: number): Priority {
    return this.priority[this.inRange(index)]! as Priority
  }

  /**
   * New priorities for every piece, effective for the next request. A piece newly wanted becomes a candidate; one
   * newly skipped stops being started. Requests already out are taken back (released, returned for the caller to
   * CANCEL) where they are no longer wanted at all, and where they would hold up a reader; nothing else is:
   * - a piece in assembly now skipped is abandoned: its requests released, its received blocks discarded (a piece
   *   already whole goes on to its hash check);
   * - a piece in assembly that left every reader's window: while a reader waits for a `deadline` piece, its requests
   *   are released from each peer that has one of the reader's pieces, so the reader's blocks are not queued behind
   *   them. Its received blocks stay; the rest is asked again at its own priority, after the readers' pieces.
   * A piece still wanted at its priority keeps its requests. O(pieces + requests): a selection or window change,
   * never per block.
   */
  setPriorities(priorities: Uint8Array): Released<Peer> {
    this.sizedPriorities(priorities)
    this.inOrderFrom = 0
    for (let index = 0; index < this.pieceCount; index++) {
      const before = this.priority[index]!
      const after = priorities[index]!
      if (before === after) continue
      if (before === Priority.skip) this.wantedTotal += pieceSize(this, index)
      else if (after === Priority.skip) this.wantedTotal -= pieceSize(this, index)
      if (!this.have.has(index)) {
        const size = pieceSize(this, index)
        if (before === Priority.skip) {
          this.missingWanted++
          this.missingWantedBytes += size
        } else if (after === Priority.skip) {
          this.missingWanted--
          this.missingWantedBytes -= size
        }
        if (this.availability.isCandidate(index)) this.removeCandidate(index)
        this.priority[index] = after
        if (after !== Priority.skip && !this.started.has(index)) this.addCandidate(index)
        if (after === Priority.deadline) this.demoted.delete(index)
        else if (before === Priority.deadline && this.started.has(index)) this.demoted.add(index)
      }
      this.priority[index] = after
    }
    return this.takeBack()
  }

  /** See `setPriorities`. */
  private takeBack(): Released<Peer> {
    let requests: Array<PeerRequest<Peer>> | undefined
    let abandoned: Array<number> | undefined
    for (const piece of [...this.started.values()]) {
      if (this.priority[piece.index] !== Priority.skip || piece.receivedCount === piece.blocks) continue
      this.dropStarted(piece, requests ??= [])
      this.demoted.delete(piece.index)
      ;(abandoned ??= []).push(piece.index)
    }
    if (this.demoted.size > 0) {
      const waited: Array<number> = []
      for (let index = 0; index < this.pieceCount; index++) {
        if (this.priority[index] !== Priority.deadline || this.have.has(index)) continue
        const piece = this.started.get(index)
        if (piece === undefined || piece.receivedCount < piece.blocks) waited.push(index)
      }
      if (waited.length > 0) {
        for (const [peer, state] of this.peers) {
          if (!waited.some((index) => state.bits.has(index))) continue
          for (const key of state.requests.keys()) {
            const index = this.indexOf(key)
            if (!this.demoted.has(index)) continue
            this.rememberLate(state, key)
            this.release(peer, state, key)
            ;(requests ??= []).push(this.requestOf(peer, key))
          }
        }
        this.demoted.clear()
      }
    }
    return requests === undefined && abandoned === undefined
      ? NOTHING_RELEASED
      : { requests: requests ?? [], abandoned: abandoned ?? [] }
  }

  /** We lack piece `index` and want it: its priority is above `skip`, or it is being fetched already. */
  wants(index: number): boolean {
    return !this.have.has(index) && (this.priority[index]! > Priority.skip || this.started.has(index))
  }

  // Geometry

  pieceSize(index: number): number {
    return pieceSize(this, this.inRange(index))
  }

  blockCount(index: number): number {
    return blockCount(this, this.inRange(index))
  }

  // Progress

  get verifiedCount(): number {
    return this.have.count
  }

  get bytesVerified(): number {
    return this.verifiedBytes
  }

  /** Bytes of wanted pieces not yet verified: the tracker's `left`. */
  get missingBytes(): number {
    return this.missingWantedBytes
  }

  /** Bytes of the wanted pieces (priority above `skip`), verified or not. */
  get wantedBytes(): number {
    return this.wantedTotal
  }

  /** Every wanted piece (priority above `skip`) is verified: the download is done, skipped pieces or not. */
  isComplete(): boolean {
    return this.missingWanted === 0
  }

  /** Every piece of the torrent is verified. */
  hasAll(): boolean {
    return this.have.isComplete()
  }

  hasPiece(index: number): boolean {
    return this.have.has(index)
  }

  /** A copy of the verified pieces, for the BITFIELD message. */
  bitfield(): Bitfield {
    return this.have.copy()
  }

  /** Every missing block is outstanding or received, so idle peers may duplicate requests. */
  inEndgame(): boolean {
    return this.unrequested === 0 && !this.isComplete()
  }

  /** Number of requests outstanding with `peer`. */
  outstanding(peer: Peer): number {
    return this.peers.get(peer)?.requests.size ?? 0
  }

  /** Requests outstanding over all peers (an endgame block held by two peers counts twice). */
  get outstandingTotal(): number {
    return this.requested
  }

  /** Pieces started and not yet whole: each has a buffer being filled. */
  get assemblingCount(): number {
    return this.assembling
  }

  // Availability

  /** Counts `bits` (BITFIELD, or all pieces for HAVE_ALL). Replaces what was counted for `peer` before. */
  addPeer(peer: Peer, bits: Bitfield): void {
    const known = this.peers.get(peer)
    if (known !== undefined) known.bits.forEachSet((index) => this.availability.decrement(index))
    const counted = this.sized(bits).copy()
    counted.forEachSet((index) => this.availability.increment(index))
    this.peers.set(peer, {
      bits: counted,
      requests: known?.requests ?? new Map(),
      lastReceived: known?.lastReceived ?? -Infinity,
      late: known?.late ?? new Set()
    })
  }

  /** HAVE: `peer` now has piece `index` (in range; repeats are ignored). */
  peerHave(peer: Peer, index: number): void {
    const state = this.peer(peer)
    if (state.bits.has(index)) return
    state.bits.set(this.inRange(index))
    this.availability.increment(index)
  }

  /** The peer is gone: uncount its pieces and release its requests so others can take them. */
  removePeer(peer: Peer): void {
    const state = this.peers.get(peer)
    if (state === undefined) return
    this.releaseAll(peer, state)
    for (const piece of this.started.values()) if (piece.owner === peer) piece.owner = undefined
    state.bits.forEachSet((index) => this.availability.decrement(index))
    this.peers.delete(peer)
  }

  // Requests

  /**
   * Up to `max` new requests for `peer`, among the pieces in `bits` we lack: blocks of partial pieces first, then
   * new pieces (random until `randomFirstPieces` are verified, then rarest first), then in endgame blocks that are
   * outstanding with other peers (never with this one) for over ENDGAME_WAIT_MS, each with at most
   * `endgameHolders()` peers, about the most recently requested first, while the peer has fewer than ENDGAME_DEPTH
   * outstanding. A piece that failed its hash check is only shared with its current owner (see `pieceFailed`).
   * With `maxOutstanding`, fewer: see `allowance`.
   */
  nextRequests(peer: Peer, bits: Bitfield, max: number, now: number): Array<BlockRequest> {
    const out: Array<BlockRequest> = []
    if (max <= 0) return out
    const state = this.peer(peer)
    max = Math.min(max, this.allowance(state))
    // Pieces a reader waits for first: those started, then new ones.
    if (this.candidatesAt[Priority.deadline]! > 0 || this.windows.length > 0) {
      for (const index of this.open) {
        if (out.length >= max) return out
        const piece = this.started.get(index)!
        if (this.priority[index] === Priority.deadline && bits.has(index) && this.mayTake(piece, peer)) {
          this.fill(piece, peer, state, max, now, out)
        }
      }
      while (out.length < max && this.candidatesAt[Priority.deadline]! > 0) {
        const index = this.firstDeadline(bits)
        if (index < 0) break
        this.fill(this.start(index), peer, state, max, now, out)
      }
      this.lateDeadline(peer, state, bits, max, now, out)
    }
    for (const index of this.open) {
      if (out.length >= max) return out
      const piece = this.started.get(index)!
      if (bits.has(index) && this.mayTake(piece, peer)) this.fill(piece, peer, state, max, now, out)
    }
    while (out.length < max && this.availability.size > 0) {
      const index = this.pickNew(bits)
      if (index < 0) break
      this.fill(this.start(index), peer, state, max, now, out)
    }
    if (out.length < max && this.unrequested === 0) {
      this.endgame(peer, state, bits, Math.min(max, out.length + ENDGAME_DEPTH - state.requests.size), now, out)
    }
    return out
  }

  /**
   * Up to `max` requests for `peer` that follow each other in the torrent: a new piece (chosen as `nextRequests`
   * would choose it), then the pieces after it while they are candidates in `bits` and fit whole in `max`. For a web
   * seed (BEP 19), which fetches byte ranges of several pieces at once: with `max` at least a piece's blocks, the
   * pieces it starts are wholly its own. With no new piece to start, whatever `nextRequests` gives (blocks
   * of partial pieces, endgame duplicates), adjacent or not.
   */
  nextRun(peer: Peer, bits: Bitfield, max: number, now: number): Array<BlockRequest> {
    const state = this.peer(peer)
    max = Math.min(max, this.allowance(state))
    if (max <= 0) return []
    const out: Array<BlockRequest> = []
    let index = this.availability.size > 0 ? this.pickNew(bits) : -1
    while (index >= 0 && out.length < max) {
      this.fill(this.start(index), peer, state, max, now, out)
      index++
      if (index >= this.pieceCount || !bits.has(index) || !this.availability.isCandidate(index)) break
      // Only whole pieces after the first: a piece left half-claimed would later go out as scattered blocks.
      if (out.length + blockCount(this, index) > max) break
    }
    return out.length > 0 ? out : this.nextRequests(peer, bits, max, now)
  }

  /** Starts candidate `index`: its blocks stay unrequested, as the started piece's free blocks. */
  private start(index: number): Piece<Peer> {
    this.removeCandidate(index)
    this.unrequested += this.requestable(index)
    const piece = new Piece<Peer>(index, blockCount(this, index))
    this.receivePadding(piece)
    this.started.set(index, piece)
    this.open.add(index)
    this.assembling++
    return piece
  }

  /**
   * A candidate in `bits` to start: of the highest priority that has one, random until `randomFirstPieces` are
   * verified, then rarest first. Or -1.
   */
  private pickNew(bits: Bitfield): number {
    if (this.candidatesAt[Priority.deadline]! > 0) {
      const index = this.firstDeadline(bits)
      if (index >= 0) return index
    }
    const levels = LEVELS.filter((level) => level !== Priority.deadline && this.candidatesAt[level]! > 0)
    const pick = (accept?: (piece: number) => boolean) =>
      this.sequential
        ? this.pickInOrder(bits, accept)
        : this.have.count < this.randomFirstPieces
        ? this.availability.pickRandom(bits, this.random, accept)
        : this.availability.pickRarest(bits, this.random, accept)
    // One priority among the candidates (the usual case): no filter.
    if (levels.length <= 1) return pick()
    for (const level of levels) {
      const index = pick((piece) => this.priority[piece] === level)
      if (index >= 0) return index
    }
    return -1
  }

  /**
   * The readers' windows (each from the piece a reader is at to the last it wants soon), most urgent first, for
   * ordering `deadline` pieces: see `firstDeadline`. The pieces themselves are made `deadline` by `setPriorities`.
   */
  setWindows(windows: ReadonlyArray<{ readonly from: number; readonly to: number }>): void {
    this.windows = windows
  }

  /**
   * The `deadline` candidate in `bits` nearest the front of its window, the windows taken in turn (each reader's
   * next piece before any reader's second), or -1. Deadline pieces outside every window come last, by index.
   */
  private firstDeadline(bits: Bitfield): number {
    const takes = (index: number) =>
      index >= 0 && index < this.pieceCount && this.priority[index] === Priority.deadline && bits.has(index) &&
      this.availability.isCandidate(index)
    const longest = this.windows.reduce((most, w) => Math.max(most, w.to - w.from + 1), 0)
    for (let distance = 0; distance < longest; distance++) {
      for (const window of this.windows) {
        const index = window.from + distance
        if (index <= window.to && takes(index)) return index
      }
    }
    for (let index = 0; index < this.pieceCount; index++) if (takes(index)) return index
    return -1
  }

  /** Sequential mode on or off, from the next piece started. */
  setSequential(on: boolean): void {
    this.sequential = on
    this.inOrderFrom = 0
  }

  /** The first candidate in `bits` (and `accept`) by index, or -1; skips for good the leading non-candidates. */
  private pickInOrder(bits: Bitfield, accept?: (piece: number) => boolean): number {
    for (let index = this.inOrderFrom; index < this.pieceCount; index++) {
      if (!this.availability.isCandidate(index)) {
        if (index === this.inOrderFrom) this.inOrderFrom++
        continue
      }
      if (bits.has(index) && (accept === undefined || accept(index))) return index
    }
    return -1
  }

  /**
   * How many more requests `peer` may have under `maxOutstanding`: whatever is left of it, and at least enough to
   * bring the peer up to its fair share. Peers that ask more often (the faster ones) get more of what is left.
   */
  private allowance(state: PeerState): number {
    if (this.maxOutstanding === Infinity) return Infinity
    const fair = Math.max(MIN_FAIR_SHARE, Math.floor(this.maxOutstanding / this.peers.size))
    return Math.max(fair - state.requests.size, this.maxOutstanding - this.requested)
  }

  /** Whether every request for the block has been outstanding for over ENDGAME_WAIT_MS. */
  private waited(index: number, block: number, holders: ReadonlyArray<Peer>, now: number): boolean {
    const key = this.key(index, block)
    for (const holder of holders) {
      if (now - this.peers.get(holder)!.requests.get(key)! <= ENDGAME_WAIT_MS) return false
    }
    return true
  }

  /** How many peers an endgame block may be outstanding with at once. */
  private endgameHolders(): number {
    return this.peers.size > ENDGAME_MANY_PEERS ? 2 : ENDGAME_MAX_HOLDERS
  }

  /**
   * A PIECE message arrived. Accepted when the block fits the geometry, is still needed (not yet received), and is
   * outstanding with someone: usually `peer`, but a late answer counts too, for a block since re-assigned to another
   * peer; or, held by no one, when its request to `peer` was released by a choke (without BEP 6) or a timeout (a
   * late answer still needed is kept, not wasted; not for a piece kept to one owner, see `pieceFailed`). Every holder's request is settled; `now` marks
   * `peer` as delivering (see `timedOut`) when it was one of them.
   */
  blockReceived(peer: Peer, index: number, begin: number, length: number, now: number): BlockReceived<Peer> {
    const piece = this.started.get(index)
    const block = begin / BLOCK_SIZE
    if (
      piece === undefined || !Number.isInteger(block) || block < 0 || block >= piece.blocks ||
      length !== blockLength(this, index, block) || piece.received[block] === 1
    ) return REFUSED
    const holders = piece.holders[block]!
    let cancel: Array<PeerRequest<Peer>> | undefined
    const key = this.key(index, block)
    const late = this.peers.get(peer)?.late
    if (holders.length === 0) {
      // Late: asked of this peer, released, and not asked of anyone since. Still needed, so kept rather than
      // fetched again. Not for a piece kept to one owner (see `pieceFailed`): its attempts stay one peer's.
      if (late?.has(key) !== true || piece.single) return REFUSED
      piece.free--
      this.unrequested--
      if (piece.free === 0) this.open.delete(index)
    } else {
      for (const holder of holders) {
        const state = this.peers.get(holder)!
        state.requests.delete(key)
        if (holder === peer) state.lastReceived = now
        else (cancel ??= []).push({ peer: holder, index, begin, length })
      }
      this.requested -= holders.length
      holders.length = 0
    }
    late?.delete(key)
    piece.received[block] = 1
    piece.receivedCount++
    piece.contributors.add(peer)
    const pieceComplete = piece.receivedCount === piece.blocks
    if (pieceComplete) this.assembling--
    if (cancel === undefined) return pieceComplete ? ACCEPTED_COMPLETE : ACCEPTED
    return { accepted: true, pieceComplete, cancel }
  }

  /** REJECT_REQUEST (BEP 6): the peer will not send this block; it becomes free for anyone. */
  requestRejected(peer: Peer, index: number, begin: number): void {
    const state = this.peers.get(peer)
    const block = begin / BLOCK_SIZE
    if (state === undefined || !Number.isInteger(block) || block < 0 || block >= this.blocksPerPiece) return
    const key = this.key(index, block)
    // Keys are unique per (piece, block), block checked above: the key found is this piece's block.
    if (Number.isInteger(index) && state.requests.has(key)) this.release(peer, state, key)
  }

  /**
   * CHOKE without the Fast extension: BEP 3 says the peer discards our pending requests, so release them all. (With
   * BEP 6 a choke releases nothing: each request stays until the peer rejects it or sends the block.)
   */
  peerChoked(peer: Peer): void {
    const state = this.peers.get(peer)
    if (state === undefined) return
    for (const key of state.requests.keys()) this.rememberLate(state, key)
    this.releaseAll(peer, state)
  }

  /**
   * Releases requests that have waited more than `timeoutMs`, returned so the caller can CANCEL them. A request's
   * age counts from the later of when it was sent and when its peer last delivered a block: a peer working through
   * a deep pipeline is slow, not stuck, and a single dropped request is recovered by endgame duplication. Within a
   * peer, requests are visited in send order and the scan stops at the first young one (`now` never decreases).
   */
  timedOut(now: number, timeoutMs: number): Array<PeerRequest<Peer>> {
    const out: Array<PeerRequest<Peer>> = []
    for (const [peer, state] of this.peers) {
      if (now - state.lastReceived <= timeoutMs) continue
      for (const [key, at] of state.requests) {
        if (now - at <= timeoutMs) break
        this.rememberLate(state, key)
        this.release(peer, state, key)
        out.push(this.requestOf(peer, key))
      }
    }
    return out
  }

  // Verification

  /**
   * The piece's hash matched (or it was found on disk): we have it. Returns any requests still outstanding for it,
   * now dropped, for the caller to CANCEL (normally none: a complete piece has no outstanding blocks).
   */
  pieceVerified(index: number): Array<PeerRequest<Peer>> {
    const dropped: Array<PeerRequest<Peer>> = []
    if (this.have.has(this.inRange(index))) return dropped
    const piece = this.started.get(index)
    this.demoted.delete(index)
    if (piece !== undefined) {
      this.dropStarted(piece, dropped)
    } else if (this.availability.isCandidate(index)) {
      this.removeCandidate(index)
    }
    if (this.priority[index]! > Priority.skip) {
      this.missingWanted--
      this.missingWantedBytes -= pieceSize(this, index)
    }
    this.have.set(index)
    this.verifiedBytes += pieceSize(this, index)
    return dropped
  }

  /**
   * The piece's hash did not match: every received block becomes free again, to be re-requested (blocks still
   * outstanding stay so). From now on each attempt at it goes to a single peer, so that the next result tells who
   * sent bad data. Returns the peers that contributed data, for blame.
   */
  pieceFailed(index: number): ReadonlySet<Peer> {
    const piece = this.started.get(index)
    if (piece === undefined) return NO_CONTRIBUTORS
    const blamed = piece.contributors
    if (piece.receivedCount === piece.blocks) this.assembling++
    const unrequested = this.unrequested - piece.free
    piece.received.fill(0)
    piece.receivedCount = 0
    piece.free = piece.blocks
    for (const holders of piece.holders) if (holders.length > 0) piece.free--
    this.receivePadding(piece)
    this.unrequested = unrequested + piece.free
    piece.cursor = 0
    piece.contributors = new Set()
    piece.single = true
    piece.owner = undefined
    if (piece.free > 0) this.open.add(index)
    return blamed
  }

  /**
   * One received block of piece `index` proved bad on its own (a v2 block hash): it becomes free again, to be
   * requested from anyone; the piece's other blocks stay received. A piece that was whole is in assembly again.
   */
  blockFailed(index: number, block: number): void {
    const piece = this.started.get(index)
    if (piece === undefined || piece.received[block] !== 1) return
    if (piece.receivedCount === piece.blocks) this.assembling++
    piece.received[block] = 0
    piece.receivedCount--
    if (piece.holders[block]!.length === 0) {
      piece.free++
      this.unrequested++
      if (block < piece.cursor) piece.cursor = block
      this.open.add(index)
    }
  }

  /** Peers whose blocks were accepted into piece `index` since it was started or last failed. */
  contributors(index: number): ReadonlySet<Peer> {
    return this.started.get(index)?.contributors ?? NO_CONTRIBUTORS
  }

  /** Recounts everything and throws if a documented invariant is broken. O(pieces + requests): for tests only. */
  checkInvariants(): void {
    const fail = (message: string): never => {
      throw new Error(`PiecePicker invariant: ${message}`)
    }
    let unrequested = 0
    let bytes = 0
    let assembling = 0
    let requested = 0
    let missingWanted = 0
    const candidatesAt = new Int32Array(5)
    const counts = new Int32Array(this.pieceCount)
    for (const state of this.peers.values()) state.bits.forEachSet((index) => counts[index]!++)
    for (let index = 0; index < this.pieceCount; index++) {
      if (counts[index] !== this.availability.counts[index]) fail(`availability of ${index}`)
      const piece = this.started.get(index)
      const candidate = this.availability.isCandidate(index)
      if (this.have.has(index)) {
        bytes += pieceSize(this, index)
        if (piece !== undefined || candidate) fail(`verified piece ${index} is still wanted`)
        continue
      }
      const wanted = this.priority[index]! > Priority.skip
      if (wanted) missingWanted++
      if (piece !== undefined && candidate) fail(`piece ${index} is both started and a candidate`)
      if (piece === undefined && candidate !== wanted) fail(`piece ${index} must be a candidate iff wanted`)
      if (piece === undefined) {
        if (candidate) {
          candidatesAt[this.priority[index]!]!++
          unrequested += this.requestable(index)
        }
        continue
      }
      let free = 0
      let received = 0
      for (let block = 0; block < piece.blocks; block++) {
        const holders = piece.holders[block]!
        if (piece.received[block] === 1) {
          received++
          if (holders.length > 0) fail(`received block ${index}/${block} is outstanding`)
        } else if (holders.length === 0) {
          free++
          if (block < piece.cursor) fail(`free block ${index}/${block} below the cursor`)
        }
        if (holders.length > ENDGAME_MAX_HOLDERS) fail(`block ${index}/${block} has ${holders.length} holders`)
        if (piece.owner !== undefined && holders.some((holder) => holder !== piece.owner)) {
          fail(`block ${index}/${block} is held by a peer other than the owner`)
        }
        if (new Set(holders).size !== holders.length) fail(`block ${index}/${block} held twice by one peer`)
        for (const holder of holders) {
          if (this.peers.get(holder)?.requests.has(this.key(index, block)) !== true) fail(`holder of ${index}/${block} lost it`)
        }
      }
      if (free !== piece.free || received !== piece.receivedCount) fail(`counts of piece ${index}`)
      if (received < piece.blocks) assembling++
      if (piece.owner !== undefined && !piece.single) fail(`piece ${index} has an owner but is shared`)
      if (this.open.has(index) !== free > 0) fail(`open set disagrees on piece ${index}`)
      unrequested += free
    }
    if (unrequested !== this.unrequested) fail(`unrequested ${this.unrequested}, recounted ${unrequested}`)
    if (bytes !== this.verifiedBytes) fail(`verified bytes`)
    if (missingWanted !== this.missingWanted) fail(`missing wanted ${this.missingWanted}, recounted ${missingWanted}`)
    if (candidatesAt.some((n, level) => n !== this.candidatesAt[level])) fail(`candidates per priority`)
    if (assembling !== this.assembling) fail(`assembling ${this.assembling}, recounted ${assembling}`)
    for (const [peer, state] of this.peers) {
      requested += state.requests.size
      for (const key of state.requests.keys()) {
        const index = this.indexOf(key)
        if (!this.started.get(index)?.holders[key - index * this.blocksPerPiece]!.includes(peer)) fail(`stray request`)
      }
    }
    if (requested !== this.requested) fail(`requested ${this.requested}, recounted ${requested}`)
  }

  // Internals

  private addCandidate(index: number): void {
    this.availability.insert(index)
    this.candidatesAt[this.priority[index]!]!++
    this.unrequested += this.requestable(index)
  }

  private removeCandidate(index: number): void {
    this.availability.remove(index)
    this.candidatesAt[this.priority[index]!]!--
    this.unrequested -= this.requestable(index)
  }

  /** Blocks of piece `index` that must come from someone: all but those wholly in padding. */
  private requestable(index: number): number {
    return blockCount(this, index) - (this.padBlocks.get(index)?.length ?? 0)
  }

  /** Marks piece's padding blocks received (zeros, never asked): at its start and after a failed attempt. */
  private receivePadding(piece: Piece<Peer>): void {
    const pads = this.padBlocks.get(piece.index)
    if (pads === undefined) return
    // Never handed out, so none of them is outstanding: each was free.
    for (const block of pads) piece.received[block] = 1
    piece.receivedCount += pads.length
    piece.free -= pads.length
  }

  private sizedPriorities(priorities: Uint8Array): Uint8Array {
    if (priorities.length !== this.pieceCount) {
      throw new RangeError(`${priorities.length} priorities for ${this.pieceCount} pieces`)
    }
    if (priorities.some((p) => p > Priority.deadline)) throw new RangeError(`a priority above ${Priority.deadline}`)
    return priorities
  }

  private fill(piece: Piece<Peer>, peer: Peer, state: PeerState, max: number, now: number, out: Array<BlockRequest>) {
    let block = piece.cursor
    while (out.length < max && piece.free > 0) {
      while (piece.received[block] === 1 || piece.holders[block]!.length > 0) block++
      this.take(piece, block, peer, state, now, out)
      block++
    }
    piece.cursor = block
  }

  private endgame(peer: Peer, state: PeerState, bits: Bitfield, max: number, now: number, out: Array<BlockRequest>) {
    if (out.length >= max) return
    // Least-duplicated blocks first: every outstanding block gets a second holder before any gets a third. Within
    // that, about the most recently requested first (the last pieces started, their last blocks): those wait deepest
    // in their holders' queues, so the CANCEL sent when the duplicate lands reaches the holder before it sends them.
    // Blocks at the head of a queue are likely on the wire already, and duplicating them only doubles the bytes.
    const pieces = [...this.started.values()].reverse()
    const limit = this.endgameHolders()
    for (let holders = 1; holders < limit; holders++) {
      for (const piece of pieces) {
        if (!bits.has(piece.index) || piece.receivedCount === piece.blocks || !this.mayTake(piece, peer)) continue
        for (let block = piece.blocks - 1; block >= 0; block--) {
          if (out.length >= max) return
          const held = piece.holders[block]!
          if (held.length === holders && !held.includes(peer) && this.waited(piece.index, block, held, now)) {
            this.take(piece, block, peer, state, now, out)
          }
        }
      }
    }
  }

  /**
   * Blocks of `deadline` pieces outstanding with one other peer for over DEADLINE_LATE_MS: asked of `peer` too, so a
   * slow or stuck peer does not hold a reader up (the first answer wins; the other holder is sent CANCEL).
   */
  private lateDeadline(peer: Peer, state: PeerState, bits: Bitfield, max: number, now: number, out: Array<BlockRequest>) {
    for (const piece of this.started.values()) {
      if (
        this.priority[piece.index] !== Priority.deadline || !bits.has(piece.index) ||
        piece.receivedCount === piece.blocks || !this.mayTake(piece, peer)
      ) continue
      for (let block = 0; block < piece.blocks; block++) {
        if (out.length >= max) return
        const held = piece.holders[block]!
        if (held.length !== 1 || held[0] === peer) continue
        const asked = this.peers.get(held[0]!)!.requests.get(this.key(piece.index, block))!
        if (now - asked > DEADLINE_LATE_MS) this.take(piece, block, peer, state, now, out)
      }
    }
  }

  /** Whether `peer` may be given blocks of `piece`: any peer, unless it is kept to one owner (see `pieceFailed`). */
  private mayTake(piece: Piece<Peer>, peer: Peer): boolean {
    return !piece.single || piece.owner === undefined || piece.owner === peer
  }

  private take(piece: Piece<Peer>, block: number, peer: Peer, state: PeerState, now: number, out: Array<BlockRequest>) {
    if (piece.single) piece.owner ??= peer
    const holders = piece.holders[block]!
    holders.push(peer)
    this.requested++
    if (holders.length === 1) {
      piece.free--
      this.unrequested--
      if (piece.free === 0) this.open.delete(piece.index)
    }
    state.requests.set(this.key(piece.index, block), now)
    out.push({ index: piece.index, begin: block * BLOCK_SIZE, length: blockLength(this, piece.index, block) })
  }

  private release(peer: Peer, state: PeerState, key: number): void {
    state.requests.delete(key)
    this.requested--
    const index = this.indexOf(key)
    const block = key - index * this.blocksPerPiece
    const piece = this.started.get(index)!
    const holders = piece.holders[block]!
    holders.splice(holders.indexOf(peer), 1)
    if (holders.length > 0) return
    piece.free++
    this.unrequested++
    if (block < piece.cursor) piece.cursor = block
    this.open.add(piece.index)
    // The owner gave the piece back untouched (choked, timed out): anyone may own the next attempt.
    if (piece.receivedCount === 0 && piece.free === piece.blocks) piece.owner = undefined
  }

  /** Forgets started `piece` (verified, or abandoned), its outstanding requests added to `dropped`. */
  private dropStarted(piece: Piece<Peer>, dropped: Array<PeerRequest<Peer>>): void {
    const index = piece.index
    for (let block = 0; block < piece.blocks; block++) {
      const key = this.key(index, block)
      const length = blockLength(this, index, block)
      for (const holder of piece.holders[block]!) {
        this.peers.get(holder)!.requests.delete(key)
        this.requested--
        dropped.push({ peer: holder, index, begin: block * BLOCK_SIZE, length })
      }
    }
    if (piece.receivedCount < piece.blocks) this.assembling--
    this.unrequested -= piece.free
    this.started.delete(index)
    this.open.delete(index)
  }

  /** The request for block `key` outstanding with `peer`, as the caller CANCELs it. */
  private requestOf(peer: Peer, key: number): PeerRequest<Peer> {
    const index = this.indexOf(key)
    const block = key - index * this.blocksPerPiece
    return { peer, index, begin: block * BLOCK_SIZE, length: blockLength(this, index, block) }
  }

  private rememberLate(state: PeerState, key: number): void {
    if (state.late.size >= MAX_LATE) state.late.clear()
    state.late.add(key)
  }

  private releaseAll(peer: Peer, state: PeerState): void {
    for (const key of state.requests.keys()) this.release(peer, state, key)
  }

  private peer(peer: Peer): PeerState {
    let state = this.peers.get(peer)
    if (state === undefined) {
      state = { bits: new Bitfield(this.pieceCount), requests: new Map(), lastReceived: -Infinity, late: new Set() }
      this.peers.set(peer, state)
    }
    return state
  }

  private key(index: number, block: number): number {
    return index * this.blocksPerPiece + block
  }

  /** The piece of a block key (see `key`). */
  private indexOf(key: number): number {
    return Math.floor(key / this.blocksPerPiece)
  }

  private inRange(index: number): number {
    if (!(Number.isInteger(index) && index >= 0 && index < this.pieceCount)) {
      throw new RangeError(`piece index ${index} outside 0..${this.pieceCount - 1}`)
    }
    return index
  }

  private sized(bits: Bitfield): Bitfield {
    if (bits.size !== this.pieceCount) throw new RangeError(`bitfield of ${bits.size} for ${this.pieceCount} pieces`)
    return bits
  }
}
