/**
 * Where the torrent's bytes live on disk. Pure: no I/O, no Effect services.
 *
 * A torrent is one contiguous byte space; its files lie end to end in it (`TorrentFile.offset`). A piece, or a block
 * of one, is a range of that space and may cross any number of files.
 */
import * as Either from "effect/Either"
import * as Path from "node:path"
import { unsafeComponent } from "../metainfo/paths.js"
import { firstFileEndingAfter, pieceSize, type TorrentFile, type TorrentInfo } from "../metainfo/TorrentInfo.js"
import { StorageError } from "./StorageError.js"

/** The part of a byte range that lies in one file. */
export interface Segment {
  readonly fileIndex: number
  /** Where the segment starts in the file. */
  readonly fileOffset: number
  /** Where the segment starts in the range, i.e. in the caller's buffer. */
  readonly bufferOffset: number
  readonly length: number
}

/**
 * The files that hold `length` bytes from `offset` of the torrent's byte space, in order.
 *
 * Zero-length files hold no bytes and never appear. Padding files (BEP 47) never appear either: their bytes are zeros
 * that are never stored, so a writer skips them and a reader leaves them zero. Hence the segments need not cover the
 * range; the gaps are padding. `files` must be in offset order and contiguous, as `parseTorrent` makes them; the
 * range should lie inside the torrent (anything past the last file is not covered).
 */
export const segments = (files: ReadonlyArray<TorrentFile>, offset: number, length: number): Array<Segment> => {
  const result: Array<Segment> = []
  if (length <= 0) return result
  const end = offset + length
  for (let index = firstFileEndingAfter(files, offset); index < files.length; index++) {
    const file = files[index]!
    if (file.offset >= end) break
    if (file.length === 0 || file.padding) continue
    const start = Math.max(offset, file.offset)
    const stop = Math.min(end, file.offset + file.length)
    result.push({ fileIndex: index, fileOffset: start - file.offset, bufferOffset: start - offset, length: stop - start })
  }
  return result
}

/** Whether `path` lies strictly inside `folder` (both absolute and resolved). */
export const isInside = (folder: string, path: string): boolean => {
  const relative = Path.relative(folder, path)
  return relative !== "" && relative !== ".." && !relative.startsWith(`..${Path.sep}`) && !Path.isAbsolute(relative)
}

/**
 * The absolute path of `file` when `torrent` is downloaded into `root`: `root/name` for a single-file torrent,
 * `root/name/...components` for a multi-file one.
 *
 * The parser already refused unsafe names; this checks again (defence in depth) that each component is a plain name
 * and that the resolved path lies inside `root`, and fails with reason "Unsafe" otherwise.
 */
export const filePath = (root: string, torrent: TorrentInfo, file: TorrentFile): Either.Either<string, StorageError> => {
  const folder = Path.resolve(root)
  const components = torrent.layout === "single" ? file.path : [torrent.name, ...file.path]
  const full = Path.resolve(folder, ...components)
  const problem = components.length === 0 ? "an empty path" : components.map(unsafeComponent).find((p) => p !== undefined)
  if (problem !== undefined) {
    return Either.left(new StorageError({ reason: "Unsafe", path: full, detail: `the torrent's file name has ${problem}` }))
  }
  if (!isInside(folder, full)) {
    return Either.left(
      new StorageError({ reason: "Unsafe", path: full, detail: `it lies outside the download folder ${folder}` })
    )
  }
  return Either.right(full)
}

/** Every file's path (padding files included, though nothing is stored for them), or the first unsafe one. */
export const filePaths = (root: string, torrent: TorrentInfo): Either.Either<Array<string>, StorageError> =>
  Either.all(torrent.files.map((file) => filePath(root, torrent, file)))

const outOfRange = (detail: string) => Either.left(new StorageError({ reason: "OutOfRange", detail }))

const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0

/**
 * The offset in the torrent's byte space of `length` bytes at `begin` in piece `index`, or "OutOfRange" when the
 * block does not lie inside that piece.
 */
export const blockOffset = (
  torrent: TorrentInfo,
  index: number,
  begin: number,
  length: number
): Either.Either<number, StorageError> => {
  if (!isCount(index) || index >= torrent.pieceCount) {
    return outOfRange(`piece ${index} of ${torrent.name} does not exist: it has ${torrent.pieceCount} pieces`)
  }
  const size = pieceSize(torrent, index)
  if (!isCount(begin) || !isCount(length) || begin + length > size) {
    return outOfRange(`${length} bytes at ${begin} do not fit in piece ${index} of ${torrent.name} (${size} bytes)`)
  }
  return Either.right(index * torrent.pieceLength + begin)
}

/** The offset of piece `index`, checking that `length` is the piece's size. */
export const pieceOffset = (torrent: TorrentInfo, index: number, length: number): Either.Either<number, StorageError> =>
  Either.flatMap(blockOffset(torrent, index, 0, 0), (offset) => {
    const size = pieceSize(torrent, index)
    return length === size ? Either.right(offset) : outOfRange(
      `piece ${index} of ${torrent.name} is ${size} bytes, not ${length}`
    )
  })
