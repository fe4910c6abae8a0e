/**
 * A v2 or hybrid torrent's side of the BEP 52 hash messages, in plain code beside the swarm.
 *
 * Server: a `hash request` is answered from the piece layers we hold (from the `.torrent`, or fetched), for any
 * layer from the piece layer up; anything else gets a `hash reject`. Each peer gets at most `MAX_ANSWERS_PER_TICK`
 * answers between two ticks (the rest are rejected), and each file's tree is built once, so a flood costs little.
 *
 * Requester: a torrent whose info dictionary came from peers has no piece layers. Each missing layer is asked for
 * in runs of up to `RUN` hashes (`base layer` = the piece layer) with the uncles up to the file's root, from peers
 * that set the v2 bit, a few at a time each; every answer is checked against the root before it is kept
 * (`checkHashes`), and a peer whose hashes do not verify is dropped. Once a file's layer is whole it goes into the
 * torrent's `pieceLayers` (where `pieceCheck` reads it). A v2-only torrent cannot check a piece without its layer,
 * so it requests no blocks until every layer is in (`awaiting`); a hybrid checks pieces with SHA-1 meanwhile.
 *
 * Block layer (`base layer` 0, see `BlockLayer.ts`): the swarm asks one peer for a failed piece's block hashes
 * (`askBlocks`); the answer, checked against the piece hash, or the failure (reject, timeout, the peer gone) goes
 * to `BlockEvents`. Such requests from peers are answered from the piece's verified data, read first if it is not
 * in memory (at most MAX_DEFERRED wait for a read), within the same per-peer budget as the rest.
 */
import * as Either from "effect/Either"
import { BLOCK_SIZE as BLOCK, fileTree, HASH_SIZE, log2, nextPowerOfTwo, rootOfPieceLayer, treeLayers } from "../metainfo/merkle.js"
import type { TorrentInfo } from "../metainfo/index.js"
import type { MerkleCheck } from "../metainfo/pieceCheck.js"
import { answerBlockRequest, checkBlockHashes } from "./BlockLayer.js"
import {
  answerFromTree,
  checkHashes,
  decodeHashes,
  decodeHashRequest,
  encodeHashes,
  encodeHashReject,
  encodeHashRequest,
  type HashRequest
} from "../wire/index.js"

/** Hashes asked for in one request: libtorrent asks for 512 at a time too. */
const RUN = 512
/** Hash requests outstanding with one peer at once. */
const PER_PEER = 4
/** Answers one peer gets between two ticks; past them, requests are rejected. */
export const MAX_ANSWERS_PER_TICK = 64
/** A request unanswered this long goes to another peer. */
const REQUEST_TIMEOUT_MS = 20_000
/** A peer that refused a request is asked it again after this long (a seeder may have been starting up). */
const REFUSAL_MS = 5_000

/** A block-hash request unanswered this long counts as refused. */
const BLOCK_TIMEOUT_MS = 10_000
/** Base-layer requests waiting for their piece to be read, over all peers; past it they are rejected. */
const MAX_DEFERRED = 32

/** The swarm's side of the block layer. */
export interface BlockEvents {
  /** Block hashes of `piece`, checked against its piece hash. */
  readonly blockHashes: (piece: number, leaves: Uint8Array) => void
  /** The peer asked for `piece`'s block hashes refused, timed out or left. */
  readonly blockHashesFailed: (piece: number) => void
  /** A verified piece's data if it is in memory, `"missing"` if we do not have it, else `undefined` (being read). */
  readonly verifiedPiece: (piece: number) => Uint8Array | "missing" | undefined
}

interface BlockWanted {
  readonly piece: number
  readonly peer: HashPeer
  readonly check: MerkleCheck
  readonly at: number
}

/** What the exchange needs of a peer link. */
export interface HashPeer {
  send: (bytes: Uint8Array) => void
}

interface Wanted {
  readonly file: number
  readonly request: HashRequest
  /** Peers that rejected it or let it time out, and when: not asked again for REFUSAL_MS. */
  readonly refusedBy: Map<HashPeer, number>
  asked: { readonly peer: HashPeer; readonly at: number } | undefined
}

interface FileLayer {
  readonly file: number
  readonly root: Uint8Array
  /** Leaves (16 KiB blocks) the file's tree is wide. */
  readonly width: number
  /** The piece layer's height above the leaves. */
  readonly height: number
  /** The layer being filled (requester), `pieces` hashes. */
  readonly layer: Uint8Array
  /** Where the file starts in the torrent (on a piece boundary). */
  readonly offset: number
  readonly length: number
  missing: number
  /** The tree from the piece layer up, built at the first request we answer. */
  tree: ReadonlyArray<Uint8Array> | undefined
}

const keyOf = (root: Uint8Array): string => Buffer.from(root).toString("latin1")
const requestKey = (r: HashRequest): string => `${keyOf(r.piecesRoot)}:${r.baseLayer}:${r.index}:${r.length}:${r.proofLayers}`

/** What the exchange did so far, for progress. */
export interface HashStats {
  /** `hash request`s we answered with hashes, and those we rejected. */
  readonly answered: number
  readonly rejected: number
  /** `hashes` answers we verified and kept: piece-layer runs, and block hashes of failed pieces. */
  readonly received: number
  readonly blockHashes: number
  /** Blocks of v2 pieces found bad by their own hash (their senders struck). */
  readonly badBlocks: number
  /** Files whose piece layer we still lack. */
  readonly missingLayers: number
}

export class HashExchange {
  private answeredCount = 0
  private rejectedCount = 0
  private receivedCount = 0
  private blockHashesCount = 0
  /** Blocks found bad by their block hash (counted by the swarm). */
  badBlocks = 0

  /** Files with a piece layer of their own, by root. */
  private readonly files = new Map<string, FileLayer>()
  private readonly wanted = new Map<string, Wanted>()
  private readonly answered = new Map<HashPeer, number>()
  /** Whether the torrent can check pieces without the v2 layers (a hybrid's SHA-1). */
  private readonly hasV1: boolean

  /** Block-hash requests of ours outstanding, by request. */
  private readonly blockWanted = new Map<string, BlockWanted>()
  /** Base-layer requests from peers waiting for their piece to be read, by piece. */
  private readonly deferred = new Map<number, Array<{ readonly peer: HashPeer; readonly payload: Uint8Array }>>()
  private deferredCount = 0

  constructor(
    private readonly torrent: TorrentInfo,
    private readonly now: () => number,
    private readonly blocks?: BlockEvents
  ) {
    this.hasV1 = torrent.pieceHashes.length > 0
    const v2 = torrent.v2
    if (v2 === undefined) return
    torrent.files.forEach((file, index) => {
      if (file.padding || file.piecesRoot === undefined) return
      const tree = fileTree(file.length, torrent.pieceLength)
      if (!tree.hasPieceLayer) return
      const known = v2.pieceLayers[index]
      const entry: FileLayer = {
        file: index,
        root: file.piecesRoot,
        width: tree.width,
        height: tree.pieceHeight,
        layer: known ?? new Uint8Array(tree.pieces * HASH_SIZE),
        offset: file.offset,
        length: file.length,
        missing: known === undefined ? Math.ceil(tree.pieces / RUN) : 0,
        tree: undefined
      }
      this.files.set(keyOf(file.piecesRoot), entry)
      if (known !== undefined) return
      const layerWidth = nextPowerOfTwo(tree.pieces)
      const length = Math.min(RUN, layerWidth)
      for (let index = 0; index < tree.pieces; index += length) {
        const request: HashRequest = {
          piecesRoot: file.piecesRoot,
          baseLayer: tree.pieceHeight,
          index,
          length,
          // Up to the root (see hashes.ts): as libtorrent asks.
          proofLayers: log2(layerWidth) - 1
        }
        this.wanted.set(requestKey(request), { file: entry.file, request, refusedBy: new Map(), asked: undefined })
      }
    })
  }

  /** Piece layers still to fetch. */
  get missingLayers(): number {
    let count = 0
    for (const file of this.files.values()) if (file.missing > 0) count++
    return count
  }

  stats(): HashStats {
    return {
      answered: this.answeredCount,
      rejected: this.rejectedCount,
      received: this.receivedCount,
      blockHashes: this.blockHashesCount,
      badBlocks: this.badBlocks,
      missingLayers: this.missingLayers
    }
  }

  /** No block may be requested yet: a v2-only torrent still lacks piece layers to check pieces with. */
  get awaiting(): boolean {
    return !this.hasV1 && this.wanted.size > 0
  }

  // Server

  /** A peer's `hash request`: the `hashes` answer or a `hash reject`, what is wrong with the message, or `undefined` (deferred). */
  answer(peer: HashPeer, payload: Uint8Array): Uint8Array | string | undefined {
    const decoded = decodeHashRequest(payload)
    if (Either.isLeft(decoded)) return decoded.left.message
    const request = decoded.right
    const count = (this.answered.get(peer) ?? 0) + 1
    this.answered.set(peer, count)
    const file = this.files.get(keyOf(request.piecesRoot))
    if (count > MAX_ANSWERS_PER_TICK || file === undefined || file.missing > 0) return this.reject(request)
    file.tree ??= treeLayers(file.layer, file.width >> file.height, file.height)
    if (request.baseLayer === 0 && file.height > 0) return this.answerBlocks(peer, payload, request, file)
    const hashes = answerFromTree(file.tree, file.height, file.width, request)
    if (Either.isLeft(hashes)) return this.reject(request)
    this.answeredCount++
    return encodeHashes(request, hashes.right)
  }

  /** A base-layer-0 request: answered from the piece's data, or deferred until it is read (`pieceLoaded`). */
  private answerBlocks(peer: HashPeer, payload: Uint8Array, request: HashRequest, file: FileLayer): Uint8Array | undefined {
    const pieceLength = this.torrent.pieceLength
    const start = Math.floor(request.index * BLOCK / pieceLength) * pieceLength
    const piece = (file.offset + start) / pieceLength
    if (this.blocks === undefined || request.length > 1 << file.height || start >= file.length) return this.reject(request)
    const data = this.blocks.verifiedPiece(piece)
    if (data === "missing" || (data === undefined && this.deferredCount >= MAX_DEFERRED)) return this.reject(request)
    if (data === undefined) {
      const waiting = this.deferred.get(piece) ?? []
      waiting.push({ peer, payload: Uint8Array.from(payload) })
      this.deferred.set(piece, waiting)
      this.deferredCount++
      return undefined
    }
    const hashes = answerBlockRequest(
      request,
      data.subarray(0, Math.min(data.length, file.length - start)),
      file.height,
      file.tree!,
      file.width
    )
    if (typeof hashes === "string") return this.reject(request)
    this.answeredCount++
    return encodeHashes(request, hashes)
  }

  /** A piece was read: the base-layer requests waiting for it are answered (or rejected) now. */
  pieceLoaded(piece: number): void {
    const waiting = this.deferred.get(piece)
    if (waiting === undefined) return
    this.deferred.delete(piece)
    this.deferredCount -= waiting.length
    for (const { payload, peer } of waiting) {
      // Counted against the budget when it came; answered now without counting it twice.
      this.answered.set(peer, (this.answered.get(peer) ?? 1) - 1)
      const answer = this.answer(peer, payload)
      if (answer instanceof Uint8Array) peer.send(answer)
    }
  }

  private reject(request: HashRequest): Uint8Array {
    this.rejectedCount++
    return encodeHashReject(request)
  }

  // Requester

  /** Sends `peer` (one that set the v2 bit) what we still want, up to PER_PEER requests outstanding with it. */
  ask(peer: HashPeer): void {
    if (this.wanted.size === 0) return
    let outstanding = 0
    for (const entry of this.wanted.values()) if (entry.asked?.peer === peer) outstanding++
    const now = this.now()
    for (const entry of this.wanted.values()) {
      if (outstanding >= PER_PEER) return
      if (entry.asked !== undefined) continue
      const refused = entry.refusedBy.get(peer)
      if (refused !== undefined && now - refused < REFUSAL_MS) continue
      entry.asked = { peer, at: now }
      outstanding++
      peer.send(encodeHashRequest(entry.request))
    }
  }

  /** Asks `peer` for the block hashes of `piece` (`request` from `blockRequest`); the answer goes to `BlockEvents`. */
  askBlocks(peer: HashPeer, piece: number, request: HashRequest, check: MerkleCheck): void {
    this.blockWanted.set(requestKey(request), { piece, peer, check, at: this.now() })
    peer.send(encodeHashRequest(request))
  }

  /** Whether block hashes of `piece` are being asked for. */
  askingBlocks(piece: number): boolean {
    for (const entry of this.blockWanted.values()) if (entry.piece === piece) return true
    return false
  }

  private blocksFailed(key: string, entry: BlockWanted): void {
    this.blockWanted.delete(key)
    this.blocks?.blockHashesFailed(entry.piece)
  }

  /**
   * A `hashes` message: kept if it answers a request of ours and verifies against the file's root. Returns what
   * is wrong (the peer is then dropped), or `undefined`; `true` when it completed the last missing layer.
   */
  received(peer: HashPeer, payload: Uint8Array): string | boolean {
    const decoded = decodeHashes(payload)
    if (Either.isLeft(decoded)) return decoded.left.message
    const { hashes, request } = decoded.right
    const blockEntry = this.blockWanted.get(requestKey(request))
    if (blockEntry !== undefined && blockEntry.peer === peer) {
      this.blockWanted.delete(requestKey(request))
      const leaves = checkBlockHashes(request, hashes, blockEntry.check)
      if (leaves === undefined) {
        this.blocks?.blockHashesFailed(blockEntry.piece)
        return "block hashes that do not add up to their piece hash"
      }
      this.blockHashesCount++
      this.blocks?.blockHashes(blockEntry.piece, Uint8Array.from(leaves))
      return false
    }
    const entry = this.wanted.get(requestKey(request))
    // Not asked of it (or answered already by another): nothing to keep.
    if (entry === undefined || entry.asked?.peer !== peer) return false
    const file = this.files.get(keyOf(request.piecesRoot))!
    const checked = checkHashes(request, hashes, file.root, file.width)
    if (Either.isLeft(checked)) return checked.left.message
    const base = checked.right
    const pieces = file.layer.length / HASH_SIZE
    const take = Math.min(request.length, pieces - request.index)
    file.layer.set(base.subarray(0, take * HASH_SIZE), request.index * HASH_SIZE)
    this.wanted.delete(requestKey(request))
    this.receivedCount++
    file.missing--
    if (file.missing === 0) {
      if (!Buffer.from(rootOfPieceLayer(file.layer, this.torrent.pieceLength)).equals(file.root)) {
        return "piece layer hashes that do not add up to the file's root"
      }
      // The torrent's layers are filled in place: `pieceCheck` reads them from there.
      ;(this.torrent.v2!.pieceLayers as Array<Uint8Array | undefined>)[file.file] = file.layer
    }
    this.ask(peer)
    return this.wanted.size === 0
  }

  /** A `hash reject`: someone else is asked. Returns what is wrong with the message, if anything. */
  rejected(peer: HashPeer, payload: Uint8Array): string | undefined {
    const decoded = decodeHashRequest(payload)
    if (Either.isLeft(decoded)) return decoded.left.message
    const key = requestKey(decoded.right)
    const blockEntry = this.blockWanted.get(key)
    if (blockEntry !== undefined && blockEntry.peer === peer) this.blocksFailed(key, blockEntry)
    const entry = this.wanted.get(key)
    if (entry !== undefined && entry.asked?.peer === peer) {
      entry.asked = undefined
      entry.refusedBy.set(peer, this.now())
    }
    return undefined
  }

  /** A peer left: what it was asked goes back to the pool. */
  dropped(peer: HashPeer): void {
    this.answered.delete(peer)
    for (const [key, entry] of this.blockWanted) if (entry.peer === peer) this.blocksFailed(key, entry)
    for (const [piece, waiting] of this.deferred) {
      const kept = waiting.filter((entry) => entry.peer !== peer)
      this.deferredCount -= waiting.length - kept.length
      if (kept.length === 0) this.deferred.delete(piece)
      else this.deferred.set(piece, kept)
    }
    for (const entry of this.wanted.values()) {
      if (entry.asked?.peer === peer) entry.asked = undefined
      entry.refusedBy.delete(peer)
    }
  }

  /** Periodic upkeep: answer budgets refill, unanswered requests go back to the pool (`ask` hands them out). */
  tick(): void {
    this.answered.clear()
    const now = this.now()
    for (const [key, entry] of this.blockWanted) if (now - entry.at > BLOCK_TIMEOUT_MS) this.blocksFailed(key, entry)
    for (const entry of this.wanted.values()) {
      if (entry.asked !== undefined && now - entry.asked.at > REQUEST_TIMEOUT_MS) {
        entry.refusedBy.set(entry.asked.peer, now)
        entry.asked = undefined
      }
    }
  }
}
