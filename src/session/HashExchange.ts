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
 */
import * as Either from "effect/Either"
import { fileTree, HASH_SIZE, log2, nextPowerOfTwo, rootOfPieceLayer, treeLayers } from "../metainfo/merkle.js"
import type { TorrentInfo } from "../metainfo/index.js"
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
  /** `hashes` answers we verified and kept. */
  readonly received: number
  /** Files whose piece layer we still lack. */
  readonly missingLayers: number
}

export class HashExchange {
  private answeredCount = 0
  private rejectedCount = 0
  private receivedCount = 0

  /** Files with a piece layer of their own, by root. */
  private readonly files = new Map<string, FileLayer>()
  private readonly wanted = new Map<string, Wanted>()
  private readonly answered = new Map<HashPeer, number>()
  /** Whether the torrent can check pieces without the v2 layers (a hybrid's SHA-1). */
  private readonly hasV1: boolean

  constructor(private readonly torrent: TorrentInfo, private readonly now: () => number) {
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
      missingLayers: this.missingLayers
    }
  }

  /** No block may be requested yet: a v2-only torrent still lacks piece layers to check pieces with. */
  get awaiting(): boolean {
    return !this.hasV1 && this.wanted.size > 0
  }

  // Server

  /** A peer's `hash request`: the `hashes` answer or a `hash reject`, or what is wrong with the message. */
  answer(peer: HashPeer, payload: Uint8Array): Uint8Array | string {
    const decoded = decodeHashRequest(payload)
    if (Either.isLeft(decoded)) return decoded.left.message
    const request = decoded.right
    const count = (this.answered.get(peer) ?? 0) + 1
    this.answered.set(peer, count)
    const file = this.files.get(keyOf(request.piecesRoot))
    if (count > MAX_ANSWERS_PER_TICK || file === undefined || file.missing > 0) return this.reject(request)
    file.tree ??= treeLayers(file.layer, file.width >> file.height, file.height)
    const hashes = answerFromTree(file.tree, file.height, file.width, request)
    if (Either.isLeft(hashes)) return this.reject(request)
    this.answeredCount++
    return encodeHashes(request, hashes.right)
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

  /**
   * A `hashes` message: kept if it answers a request of ours and verifies against the file's root. Returns what
   * is wrong (the peer is then dropped), or `undefined`; `true` when it completed the last missing layer.
   */
  received(peer: HashPeer, payload: Uint8Array): string | boolean {
    const decoded = decodeHashes(payload)
    if (Either.isLeft(decoded)) return decoded.left.message
    const { hashes, request } = decoded.right
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
    const entry = this.wanted.get(requestKey(decoded.right))
    if (entry !== undefined && entry.asked?.peer === peer) {
      entry.asked = undefined
      entry.refusedBy.set(peer, this.now())
    }
    return undefined
  }

  /** A peer left: what it was asked goes back to the pool. */
  dropped(peer: HashPeer): void {
    this.answered.delete(peer)
    for (const entry of this.wanted.values()) {
      if (entry.asked?.peer === peer) entry.asked = undefined
      entry.refusedBy.delete(peer)
    }
  }

  /** Periodic upkeep: answer budgets refill, unanswered requests go back to the pool (`ask` hands them out). */
  tick(): void {
    this.answered.clear()
    const now = this.now()
    for (const entry of this.wanted.values()) {
      if (entry.asked !== undefined && now - entry.asked.at > REQUEST_TIMEOUT_MS) {
        entry.refusedBy.set(entry.asked.peer, now)
        entry.asked = undefined
      }
    }
  }
}
