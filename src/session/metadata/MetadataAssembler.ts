import { createHash } from "node:crypto"
import { MAX_METADATA_SIZE, METADATA_PIECE_SIZE } from "../../wire/index.js"

/** What came of a metadata piece a peer sent. */
export type Received<P> =
  /** Kept; more pieces are missing. */
  | { readonly type: "more" }
  /** Not asked of this peer, or the wrong size: ignored. */
  | { readonly type: "unexpected" }
  /** The last piece: the metadata hashed to the info-hash. */
  | { readonly type: "complete"; readonly metadata: Uint8Array }
  /**
   * The last piece, and the whole failed its hash: everything is dropped and fetched again. `convicted` are peers
   * that certainly sent bad data (they sent all of it); the others are suspects, fetched from one at a time now.
   */
  | { readonly type: "failed"; readonly convicted: ReadonlyArray<P> }

interface Outstanding<P> {
  readonly peer: P
  readonly at: number
}

/**
 * The info dictionary of a magnet link being assembled from peers (BEP 9), in plain code: which 16 KiB piece to
 * ask of whom, what has arrived, and whether the whole hashes to the info-hash.
 *
 * The size comes from the first peer that states one we accept; peers stating another size cannot contribute (if
 * the first was lying, the hash fails and the size is open again). Pieces are asked of several peers at once,
 * each piece of one peer at a time. When the whole fails its hash, the culprit cannot be told from a mix of
 * peers, so from then on one peer at a time supplies every piece: a peer whose own metadata fails is convicted.
 */
/**
 * Whether `metadata` is the info dictionary of the torrent: its SHA-1 is the v1 info-hash, or its SHA-256 the v2
 * one (a v2-only magnet's wire hash is the v2 hash cut to 20 bytes, which only the whole SHA-256 proves).
 */
export const metadataMatches = (metadata: Uint8Array, infoHash: Uint8Array, infoHashV2?: Uint8Array): boolean =>
  createHash("sha1").update(metadata).digest().equals(infoHash) ||
  (infoHashV2 !== undefined && createHash("sha256").update(metadata).digest().equals(infoHashV2))

export class MetadataAssembler<P> {
  private size: number | undefined
  private pieces: Array<Uint8Array | undefined> = []
  private readonly outstanding = new Map<number, Outstanding<P>>()
  /** Who sent each piece kept so far. */
  private readonly senders = new Map<number, P>()
  /** After a failed hash: the one peer supplying every piece, once chosen. */
  private solo: P | undefined
  private soloMode = false
  private readonly excluded = new Set<P>()

  /** `infoHashV2`: a v2 magnet's SHA-256 info-hash (BEP 52); metadata matching either hash is the torrent's. */
  constructor(private readonly infoHash: Uint8Array, private readonly infoHashV2?: Uint8Array) {}

  /** The metadata size being assembled, once a peer stated one. */
  get metadataSize(): number | undefined {
    return this.size
  }

  get pieceCount(): number {
    return this.pieces.length
  }

  get received(): number {
    return this.senders.size
  }

  /**
   * Whether a peer stating `size` can supply pieces: not for a size out of range, or one that disagrees with the
   * size adopted. The first acceptable size is adopted.
   */
  private accepts(peer: P, size: number): boolean {
    if (this.excluded.has(peer)) return false
    if (!Number.isInteger(size) || size <= 0 || size > MAX_METADATA_SIZE) return false
    if (this.size === undefined) {
      this.size = size
      this.pieces = new Array(Math.ceil(size / METADATA_PIECE_SIZE)).fill(undefined)
    }
    return this.size === size
  }

  /** Pieces to ask now of `peer`, which stated `size` in its handshake, up to `room`; each is marked as asked of it. */
  nextRequests(peer: P, size: number, room: number, now: number): Array<number> {
    if (!this.accepts(peer, size)) return []
    if (this.soloMode) {
      this.solo ??= peer
      if (this.solo !== peer) return []
    }
    const picked: Array<number> = []
    for (let piece = 0; piece < this.pieces.length && picked.length < room; piece++) {
      if (this.pieces[piece] !== undefined || this.outstanding.has(piece)) continue
      this.outstanding.set(piece, { peer, at: now })
      picked.push(piece)
    }
    return picked
  }

  /** Pieces asked of `peer` and not yet answered. */
  outstandingFor(peer: P): number {
    let count = 0
    for (const entry of this.outstanding.values()) if (entry.peer === peer) count++
    return count
  }

  /** Piece `piece` from `peer`; `data` is copied. */
  receive(peer: P, piece: number, totalSize: number, data: Uint8Array): Received<P> {
    const asked = this.outstanding.get(piece)
    if (asked === undefined || asked.peer !== peer || totalSize !== this.size) return { type: "unexpected" }
    if (data.length !== this.pieceLength(piece)) return { type: "unexpected" }
    this.outstanding.delete(piece)
    this.pieces[piece] = Uint8Array.from(data)
    this.senders.set(piece, peer)
    if (this.senders.size < this.pieces.length) return { type: "more" }
    const metadata = Buffer.concat(this.pieces as Array<Uint8Array>)
    if (metadataMatches(metadata, this.infoHash, this.infoHashV2)) return { type: "complete", metadata }
    const contributors = new Set(this.senders.values())
    const convicted = contributors.size === 1 ? [...contributors] : []
    for (const culprit of convicted) this.excluded.add(culprit)
    this.reset()
    return { type: "failed", convicted }
  }

  /** The peer rejected a request (it lacks the metadata, or limits us): someone else may be asked. */
  rejected(peer: P, piece: number): void {
    if (this.outstanding.get(piece)?.peer === peer) this.outstanding.delete(piece)
  }

  /** The peer left: its requests are free again; in solo mode, another peer takes over from scratch. */
  peerGone(peer: P): void {
    for (const [piece, entry] of this.outstanding) if (entry.peer === peer) this.outstanding.delete(piece)
    if (this.solo === peer) {
      this.solo = undefined
      this.clearPieces()
    }
  }

  /** Requests older than `timeoutMs` are freed for others; returns the peers that let them lapse. */
  timedOut(now: number, timeoutMs: number): Set<P> {
    const late = new Set<P>()
    for (const [piece, entry] of this.outstanding) {
      if (now - entry.at < timeoutMs) continue
      this.outstanding.delete(piece)
      late.add(entry.peer)
    }
    if (this.solo !== undefined && late.has(this.solo)) this.peerGone(this.solo)
    return late
  }

  private pieceLength(piece: number): number {
    const size = this.size ?? 0
    return piece === this.pieces.length - 1 ? size - piece * METADATA_PIECE_SIZE : METADATA_PIECE_SIZE
  }

  private clearPieces(): void {
    this.pieces.fill(undefined)
    this.senders.clear()
    this.outstanding.clear()
  }

  /** After a failed hash: the size is open again (it may have been a lie), and one peer at a time supplies it all. */
  private reset(): void {
    this.size = undefined
    this.pieces = []
    this.senders.clear()
    this.outstanding.clear()
    this.soloMode = true
    this.solo = undefined
  }
}
