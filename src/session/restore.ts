import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { pieceCheck, pieceLayerProblem, pieceSize, type TorrentInfo } from "../metainfo/index.js"
import { Bitfield } from "../piece/index.js"
import type { ResumeState, ResumeStore } from "../resume/index.js"
import { type ExistingFile, segments, type TorrentStorage } from "../storage/index.js"
import { Verifier } from "../verifier/index.js"
import { TorrentError } from "./TorrentError.js"

const storageError = (cause: { readonly message: string }) =>
  new TorrentError({ reason: "Storage", detail: cause.message, cause })

/** Pieces read and hashed at once during a check. */
const HASH_AHEAD = 16

const sameFile = (saved: ResumeState["files"][number], now: ExistingFile | undefined): boolean =>
  saved === undefined ? now === undefined : now !== undefined && now.size === saved.size &&
    Math.floor(now.mtimeMs) === saved.mtimeMs

/**
 * Which pieces are verified on disk at start, hashing as little as possible:
 * - a piece lying only in files unchanged since the resume state was saved (same size and mtime) is as the state
 *   says, verified or missing, without reading it;
 * - a piece touching a changed file, or any piece when there is no usable state, is hashed, unless every file it
 *   touches is absent or empty (then it is simply missing).
 * A piece is never marked verified unless it was hashed now or recorded as hashed and flushed before.
 */
export const restorePieces = (
  torrent: TorrentInfo,
  storage: TorrentStorage,
  store: Option.Option<ResumeStore["Type"]>,
  onChecked: (checked: number) => void
): Effect.Effect<
  {
    readonly have: Bitfield
    readonly peers: ReadonlyArray<string>
    /** The saved state says all of it: nothing was hashed, so saving it again would write the same pieces. */
    readonly upToDate: boolean
  },
  TorrentError,
  Verifier
> =>
  Effect.gen(function*() {
    const verifier = yield* Verifier
    const have = new Bitfield(torrent.pieceCount)
    const existing = yield* Effect.mapError(storage.existing, storageError)
    const saved = Option.isSome(store) ? yield* store.value.load(torrent.infoHashHex) : Option.none()
    const usable = Option.filter(saved, (state) =>
      state.pieceCount === torrent.pieceCount && state.files.length === torrent.files.length &&
      Buffer.from(state.infoHash).equals(torrent.infoHash))
    const recorded = Option.map(usable, (state) => Bitfield.fromBytes(state.bitfield, torrent.pieceCount))
    const unchanged = torrent.files.map((_, i) =>
      Option.isSome(usable) && sameFile(usable.value.files[i], existing[i])
    )
    const hasData = (i: number) => (existing[i]?.size ?? 0) > 0
    // Piece layers fetched by an earlier run (a v2 magnet), before any piece is hashed: they are how one is checked.
    if (Option.isSome(usable)) {
      const dropped = adoptPieceLayers(torrent, usable.value.pieceLayers ?? [])
      if (dropped.length > 0) {
        yield* Effect.logWarning(`ignoring saved piece layers that do not match their files: ${dropped.join(", ")}`)
      }
    }

    const toHash: Array<number> = []
    for (let index = 0; index < torrent.pieceCount; index++) {
      const files = segments(torrent.files, index * torrent.pieceLength, pieceSize(torrent, index))
        .map((segment) => segment.fileIndex)
      if (Option.isSome(recorded) && files.every((i) => unchanged[i])) {
        if (recorded.value.has(index)) have.set(index)
      } else if (files.some(hasData)) {
        toHash.push(index)
      }
    }
    let checked = torrent.pieceCount - toHash.length
    onChecked(checked)
    // Reads go out in piece order, a few ahead of the hashing, so a threaded Verifier keeps every core busy
    // while the disk streams; at most HASH_AHEAD pieces are in memory.
    yield* Effect.forEach(toHash, (index) =>
      Effect.gen(function*() {
        const data = yield* Effect.mapError(storage.readPiece(index), storageError)
        // Read for this check alone: a threaded verifier may move it rather than copy it.
        if (yield* verifier.verify(data, pieceCheck(torrent, index), { handOver: true })) have.set(index)
        onChecked(++checked)
      }), { concurrency: HASH_AHEAD, discard: true })
    return {
      have,
      peers: Option.match(usable, { onNone: () => [], onSome: (state) => state.peers }),
      upToDate: Option.isSome(recorded) && toHash.length === 0
    }
  })

/**
 * Fills the torrent's missing piece layers from `saved` (by file), each checked against its file's root first.
 * Returns the paths of the files whose saved layer was wrong (dropped: they are fetched from peers again).
 */
export const adoptPieceLayers = (torrent: TorrentInfo, saved: ReadonlyArray<Uint8Array | undefined>): Array<string> => {
  const layers = torrent.v2?.pieceLayers as Array<Uint8Array | undefined> | undefined
  if (layers === undefined || saved.length !== torrent.files.length) return []
  const dropped: Array<string> = []
  saved.forEach((layer, index) => {
    const file = torrent.files[index]!
    if (layer === undefined || layers[index] !== undefined || file.padding) return
    if (pieceLayerProblem(file, layer, torrent.pieceLength) === undefined) layers[index] = layer
    else dropped.push(file.path.join("/"))
  })
  return dropped
}

/**
 * Records the verified pieces: `verified` is taken before the flush, so every piece in it is durable once the
 * flush returns; file sizes and mtimes are read after it, so a later write shows as a change at the next start.
 */
export const saveResume = (
  torrent: TorrentInfo,
  storage: TorrentStorage,
  store: ResumeStore["Type"],
  verified: Bitfield,
  peers: ReadonlyArray<string>,
  /** Piece layers fetched from peers, to keep (see `ResumeState.pieceLayers`). */
  pieceLayers?: ReadonlyArray<Uint8Array | undefined>
): Effect.Effect<void, TorrentError> =>
  Effect.gen(function*() {
    yield* Effect.mapError(storage.flush, storageError)
    const existing = yield* Effect.mapError(storage.existing, storageError)
    yield* store.save({
      infoHash: torrent.infoHash,
      pieceCount: torrent.pieceCount,
      bitfield: verified.toBytes(),
      files: existing.map((file) => (file === undefined ? undefined : { size: file.size, mtimeMs: Math.floor(file.mtimeMs) })),
      peers,
      ...(pieceLayers === undefined ? {} : { pieceLayers })
    }).pipe(Effect.mapError((cause) => new TorrentError({ reason: "Storage", detail: cause.message, cause })))
  })
