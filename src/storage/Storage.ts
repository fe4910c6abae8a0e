import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { TorrentInfo } from "../metainfo/TorrentInfo.js"
import type { StorageError } from "./StorageError.js"

/** A file of the torrent found in storage. */
export interface ExistingFile {
  readonly fileIndex: number
  readonly size: number
  readonly mtimeMs: number
}

/**
 * One torrent's data, opened in a download folder. Each method is one Effect per piece (or block); inside it the I/O
 * is plain positional reads and writes.
 */
export interface TorrentStorage {
  /** Writes a whole piece. `data` must be exactly the piece's size; it is not kept after the Effect completes. */
  readonly writePiece: (index: number, data: Uint8Array) => Effect.Effect<void, StorageError>
  /**
   * Reads `length` bytes at `begin` in piece `index`. Data that was never written (a file that does not exist yet,
   * or is shorter) and padding reads as zeros, so a recheck simply hashes such a piece and finds it wrong. The
   * result is a new buffer, the caller's to keep or reuse.
   */
  readonly read: (index: number, begin: number, length: number) => Effect.Effect<Uint8Array, StorageError>
  /**
   * Reads a whole piece, as `read`. With `into` (exactly the piece's size, its contents ignored), the piece is read
   * into it and it is the result: a buffer reused rather than allocated per piece.
   */
  readonly readPiece: (index: number, into?: Uint8Array) => Effect.Effect<Uint8Array, StorageError>
  /**
   * For each file of the torrent (by index), its size and modification time if it exists as a regular file,
   * else `undefined`; padding files are always `undefined`. For resume and recheck decisions.
   */
  readonly existing: Effect.Effect<ReadonlyArray<ExistingFile | undefined>, StorageError>
  /** Makes everything written so far durable (fdatasync on each open file). */
  readonly flush: Effect.Effect<void, StorageError>
  /**
   * A new file selection (`skipped[i]`: file i is not wanted). A skipped file that does not exist is not created:
   * its bytes (those of pieces it shares with wanted files) go to the torrent's part file instead. A file selected
   * again gets its bytes moved out of the part file. A skipped file that exists stays where it is.
   */
  readonly select: (skipped: ReadonlyArray<boolean>) => Effect.Effect<void, StorageError>
}

/** How a torrent's data is opened. */
export interface OpenOptions {
  /**
   * For a check (`bt verify`, the start of `bt seed`): nothing is created or written, not the folder, not an empty
   * file; files are opened read-only, missing ones read as zeros (or, when the torrent's part file is there, as what
   * it holds of them, so pieces shared with files that are there verify; `existing` still reports them missing), and
   * `writePiece` fails with "Write".
   */
  readonly readOnly?: boolean
  /** Files not wanted (by index): see `TorrentStorage.select`. Default: every file wanted. */
  readonly skipped?: ReadonlyArray<boolean>
}

/**
 * The part file of a torrent: hidden, in the download folder, named after the info-hash. It holds the bytes of
 * skipped files at their offsets in the torrent's byte space (a sparse file: only boundary pieces are written).
 */
export const partFileName = (torrent: TorrentInfo): string => `.${torrent.infoHashHex}.parts`

/** Where torrents' data is kept: files on disk (`layer`), or memory (`layerMemory`). */
export class Storage extends Context.Tag("bt/Storage")<Storage, {
  /**
   * Opens `torrent`'s data in the download folder `directory` (created if missing, unless `readOnly`). Files are
   * opened as they are first used and all closed when the scope closes; empty files of the torrent are created now,
   * so a complete download has every file (skipped ones excepted). Fails with "Unsafe" if any file would lie outside `directory`.
   * For each file `existing` reports where its bytes are: the file itself, or for a skipped file kept in the part
   * file, the part file (so a resume check sees a change to either).
   */
  readonly open: (
    torrent: TorrentInfo,
    directory: string,
    options?: OpenOptions
  ) => Effect.Effect<TorrentStorage, StorageError, Scope.Scope>
}>() {}
