/**
 * A file of a running torrent as a Stream of bytes from an offset: each chunk waits for its piece to be verified,
 * and the reader's window (the pieces from where it reads to `windowBytes` ahead) is fetched before anything else,
 * in order. Chunks are read from storage one at a time as the consumer pulls, so a slow reader holds one chunk, not
 * the file. A reader that stops pulling for `idleRelease` gives its windows up until it pulls again. The stream fails with `Stopped` when the torrent stops or is removed.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberHandle from "effect/FiberHandle"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { TorrentInfo } from "../metainfo/index.js"
import { TorrentError } from "../session/TorrentError.js"

/** What a file stream needs of a torrent: a running torrent's handle (`TorrentHandle`) has it. */
export interface StreamSource {
  readonly torrent: TorrentInfo
  readonly pieceReady: (index: number) => Effect.Effect<void, TorrentError>
  readonly read: (index: number, begin: number, length: number) => Effect.Effect<Uint8Array, TorrentError>
  readonly setWindow: (reader: symbol, window: { readonly from: number; readonly to: number } | undefined) => Effect.Effect<void>
}

export interface FileStreamOptions {
  /** The first byte (within the file); default 0. */
  readonly start?: number
  /** One past the last byte (within the file); default the file's length. */
  readonly end?: number
  /** How far ahead of the reader pieces are fetched first; default `DEFAULT_WINDOW_BYTES`. */
  readonly windowBytes?: number
  /** How long a reader may stop pulling before its windows are given up (until it pulls again); default `IDLE_RELEASE`. */
  readonly idleRelease?: Duration.DurationInput
}

/**
 * The reader's window by default: several seconds of high-bitrate video. Not much more: a reader that stops reading
 * (a player that opened another connection to seek) keeps its window for `IDLE_RELEASE`, sharing the fetching with
 * the others.
 */
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024

/**
 * How long a reader may stop pulling before its windows are given up: long enough for a player that paused its reads
 * with a full buffer to keep its place, short enough that a connection a player abandoned (to seek on another) stops
 * taking the fetching from the others. Its next pull asks for its window again (the early end of a media file is not
 * asked for again).
 */
export const IDLE_RELEASE: Duration.DurationInput = "10 seconds"

/** The largest chunk read at once. */
export const CHUNK_BYTES = 256 * 1024

/** Extensions of files players read the end of first (their index may be there): their last piece is fetched early. */
const MEDIA = /\.(mp4|m4v|m4a|mkv|mka|webm|mov|avi|wmv|flv|ogv|ogg|mp3|flac|wav|opus|ts|m2ts|mpg|mpeg)$/i

/** Whether file `index` of `torrent` is a media file (by its extension). */
export const isMedia = (torrent: TorrentInfo, index: number): boolean =>
  MEDIA.test(torrent.files[index]?.path.at(-1) ?? "")

/** Why a file stream cannot start: the file or range asked for does not exist. */
export const checkFileRange = (torrent: TorrentInfo, fileIndex: number, options: FileStreamOptions = {}): string | undefined => {
  const file = torrent.files[fileIndex]
  if (!Number.isSafeInteger(fileIndex) || file === undefined || file.padding) {
    return `file ${fileIndex} does not exist in ${torrent.name}`
  }
  const start = options.start ?? 0
  const end = options.end ?? file.length
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > file.length || start > end) {
    return `bytes ${start}-${end} are not within file ${fileIndex} (${file.length} bytes)`
  }
  return undefined
}

/** File `fileIndex` of the torrent, from `start` to `end`, as bytes. */
export const fileStream = (
  source: StreamSource,
  fileIndex: number,
  options: FileStreamOptions = {}
): Stream.Stream<Uint8Array, TorrentError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const { torrent } = source
    const wrong = checkFileRange(torrent, fileIndex, options)
    if (wrong !== undefined) return yield* new TorrentError({ reason: "Selection", detail: wrong })
    const file = torrent.files[fileIndex]!
    const start = options.start ?? 0
    const end = options.end ?? file.length
    const windowBytes = Math.max(1, options.windowBytes ?? DEFAULT_WINDOW_BYTES)
    const { pieceLength } = torrent
    const pieceOf = (offset: number) => Math.floor((file.offset + offset) / pieceLength)
    const reader = Symbol("reader")
    const tail = Symbol("tail")
    const release = Effect.zipRight(source.setWindow(reader, undefined), source.setWindow(tail, undefined))
    yield* Effect.addFinalizer(() => release)
    // Between pulls a timer runs; a reader that does not pull again before it fires gives its windows up.
    const idle = yield* FiberHandle.make<void>()
    const idleRelease = Effect.delay(release, options.idleRelease ?? IDLE_RELEASE)
    // A player reads a media file's end early (the index of an MP4 written without faststart is there).
    if (isMedia(torrent, fileIndex) && file.length > 0 && start === 0) {
      yield* source.setWindow(tail, { from: pieceOf(file.length - 1), to: pieceOf(file.length - 1) })
    }
    return Stream.unfoldEffect(start, (position) =>
      position >= end ? Effect.succeed(Option.none()) : Effect.gen(function*() {
        yield* FiberHandle.clear(idle)
        const piece = pieceOf(position)
        const ahead = Math.min(file.length, position + windowBytes)
        yield* source.setWindow(reader, { from: piece, to: pieceOf(ahead - 1) })
        yield* source.pieceReady(piece)
        const begin = file.offset + position - piece * pieceLength
        const length = Math.min(end - position, pieceLength - begin, CHUNK_BYTES)
        const bytes = yield* source.read(piece, begin, length)
        yield* FiberHandle.run(idle, idleRelease)
        return Option.some([bytes, position + length] as const)
      }))
  }))
