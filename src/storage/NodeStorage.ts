/**
 * Storage on the local file system, through `node:fs/promises` file handles with positional reads and writes.
 *
 * One handle per file, opened on first use and kept until the torrent's scope closes. Folders are created one level
 * at a time below the download folder, refusing any that is a symbolic link; files are opened with O_NOFOLLOW and
 * never truncated. Two files of the torrent that turn out to be one file on disk (a case-folding file system, a hard
 * link) are refused as "Unsafe" when the second is opened.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { constants } from "node:fs"
import * as fs from "node:fs/promises"
import * as Path from "node:path"
import { pieceSize, type TorrentInfo } from "../metainfo/TorrentInfo.js"
import { blockOffset, filePaths, isInside, pieceOffset, segments } from "./layout.js"
import { type ExistingFile, Storage, type TorrentStorage } from "./Storage.js"
import { describeSystemError, StorageError, type StorageErrorReason } from "./StorageError.js"

const NOFOLLOW = constants.O_NOFOLLOW ?? 0
const READ_WRITE = constants.O_RDWR | NOFOLLOW
const READ_ONLY = constants.O_RDONLY | NOFOLLOW

const codeOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined

const systemError = (reason: StorageErrorReason, path: string, cause: unknown): StorageError =>
  cause instanceof StorageError
    ? cause
    : new StorageError({
      reason: codeOf(cause) === "ELOOP" ? "Unsafe" : reason,
      path,
      detail: describeSystemError(cause),
      cause
    })

interface OpenFile {
  readonly handle: fs.FileHandle
  readonly writable: boolean
}

/**
 * `mkdir -p`, one level at a time. Not `fs.mkdir(path, { recursive: true })`: under /proc, where ENOENT does not
 * mean a missing parent, Node's recursive mkdir spins forever.
 */
const makeFolders = async (folder: string): Promise<void> => {
  try {
    await fs.mkdir(folder)
  } catch (cause) {
    const code = codeOf(cause)
    if (code === "EEXIST") return
    const parent = Path.dirname(folder)
    if (code !== "ENOENT" || parent === folder) throw cause
    // The parent is there and the folder still cannot be made: that is the answer.
    if (await fs.stat(parent).then(() => true, () => false)) throw cause
    await makeFolders(parent)
    await fs.mkdir(folder).catch((again) => {
      if (codeOf(again) !== "EEXIST") throw again
    })
  }
}

/** The plain-async core of one opened torrent; `open` wraps it in Effects. */
const openFiles = async (torrent: TorrentInfo, directory: string, readOnly: boolean) => {
  const root = Path.resolve(directory)
  const paths = Either.getOrThrowWith(filePaths(root, torrent), (error) => error)
  const files = torrent.files
  const handles: Array<Promise<OpenFile> | undefined> = new Array(files.length)
  /** Folders already checked to be real folders (not links) inside `root`. */
  const folders = new Set<string>()
  /** dev:ino of each open file, to catch two torrent files that are one file on disk. */
  const identities = new Map<string, number>()
  let closed = false

  const closedError = () =>
    new StorageError({ reason: "Closed", detail: `the storage of ${torrent.name} in ${root} is already closed` })

  /** Makes sure `folder` (inside `root`) is a real folder; with `create`, creates it. False if it is missing. */
  const ensureFolder = async (folder: string, create: boolean): Promise<boolean> => {
    if (folder === root || folders.has(folder)) return true
    if (!isInside(root, folder)) {
      throw new StorageError({ reason: "Unsafe", path: folder, detail: `it lies outside the download folder ${root}` })
    }
    if (!(await ensureFolder(Path.dirname(folder), create))) return false
    if (create) {
      await fs.mkdir(folder).catch((cause) => {
        if (codeOf(cause) !== "EEXIST") throw systemError("Open", folder, cause)
      })
    }
    const stat = await fs.lstat(folder).catch((cause) => {
      if (!create && codeOf(cause) === "ENOENT") return undefined
      throw systemError("Open", folder, cause)
    })
    if (stat === undefined) return false
    if (stat.isSymbolicLink()) {
      throw new StorageError({
        reason: "Unsafe",
        path: folder,
        detail: "it is a symbolic link, which is not followed inside the download folder; remove the link"
      })
    }
    if (!stat.isDirectory()) {
      if (!create) return false // for a read, the data is just missing
      throw new StorageError({
        reason: "Open",
        path: folder,
        detail: "a file stands where a folder should be; move it out of the way"
      })
    }
    folders.add(folder)
    return true
  }

  /** Opens file `index`; with `create`, creates it (and its folders) if missing. Undefined if it is missing. */
  const openFile = async (index: number, create: boolean): Promise<OpenFile | undefined> => {
    const path = paths[index]!
    if (!(await ensureFolder(Path.dirname(path), create))) return undefined
    let file: OpenFile
    try {
      file = readOnly
        ? { handle: await fs.open(path, READ_ONLY), writable: false }
        : { handle: await fs.open(path, create ? READ_WRITE | constants.O_CREAT : READ_WRITE, 0o666), writable: true }
    } catch (cause) {
      const code = codeOf(cause)
      if (!create && (code === "ENOENT" || code === "ENOTDIR")) return undefined
      // A file we may read but not write (seeding from read-only data): open it read-only for reads.
      if (create || readOnly || (code !== "EACCES" && code !== "EPERM" && code !== "EROFS")) {
        throw systemError("Open", path, cause)
      }
      try {
        file = { handle: await fs.open(path, READ_ONLY), writable: false }
      } catch (cause) {
        throw systemError("Open", path, cause)
      }
    }
    try {
      const stat = await file.handle.stat()
      if (!stat.isFile()) {
        throw new StorageError({ reason: "Open", path, detail: "it is not a regular file; move it out of the way" })
      }
      const identity = `${stat.dev}:${stat.ino}`
      const other = identities.get(identity)
      if (other !== undefined && other !== index) {
        throw new StorageError({
          reason: "Unsafe",
          path,
          detail: `it is the same file on disk as ${paths[other]} (a case-insensitive file system, or a hard link)`
        })
      }
      identities.set(identity, index)
      return file
    } catch (cause) {
      await file.handle.close().catch(() => undefined)
      throw systemError("Open", path, cause)
    }
  }

  /** The open handle of file `index`, opening it on first use. Undefined only when reading a missing file. */
  const handleFor = async (index: number, create: boolean): Promise<OpenFile | undefined> => {
    if (closed) throw closedError()
    const cached = handles[index]
    if (cached !== undefined) return cached
    if (create) {
      const opening = openFile(index, true) as Promise<OpenFile>
      handles[index] = opening
      opening.catch(() => {
        if (handles[index] === opening) handles[index] = undefined
      })
      return opening
    }
    // Reads don't create, so a missing file is not cached: it may be written later.
    const file = await openFile(index, false)
    if (file === undefined) return undefined
    const raced = handles[index]
    if (closed || raced !== undefined) {
      await file.handle.close().catch(() => undefined)
      if (closed) throw closedError()
      return raced
    }
    handles[index] = Promise.resolve(file)
    return file
  }

  const write = async (offset: number, data: Uint8Array): Promise<void> => {
    if (readOnly) throw new StorageError({ reason: "Write", detail: `the data of ${torrent.name} is open read-only` })
    for (const segment of segments(files, offset, data.length)) {
      const path = paths[segment.fileIndex]!
      const file = (await handleFor(segment.fileIndex, true))!
      if (!file.writable) {
        throw new StorageError({ reason: "Write", path, detail: "the file is open read-only; check its permissions" })
      }
      let done = 0
      while (done < segment.length) {
        const { bytesWritten } = await file.handle
          .write(data, segment.bufferOffset + done, segment.length - done, segment.fileOffset + done)
          .catch((cause) => {
            throw systemError("Write", path, cause)
          })
        if (bytesWritten <= 0) throw new StorageError({ reason: "Write", path, detail: "the file system wrote nothing" })
        done += bytesWritten
      }
    }
  }

  /** Reads into `into` when given (of `length` bytes, old contents: every byte not read is zeroed), else anew. */
  const read = async (offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> => {
    const out = into ?? new Uint8Array(length)
    const parts = segments(files, offset, length)
    // Padding (gaps between the segments) reads as zeros; a fresh buffer is zero already.
    if (into !== undefined && parts.reduce((sum, segment) => sum + segment.length, 0) < length) out.fill(0)
    for (const segment of parts) {
      const path = paths[segment.fileIndex]!
      const file = await handleFor(segment.fileIndex, false)
      let done = 0
      while (file !== undefined && done < segment.length) {
        const { bytesRead } = await file.handle
          .read(out, segment.bufferOffset + done, segment.length - done, segment.fileOffset + done)
          .catch((cause) => {
            throw systemError("Read", path, cause)
          })
        if (bytesRead <= 0) break // end of a short file: the rest reads as zeros
        done += bytesRead
      }
      // A missing file, or the end of a short one.
      if (into !== undefined && done < segment.length) out.fill(0, segment.bufferOffset + done, segment.bufferOffset + segment.length)
    }
    return out
  }

  const existing = (): Promise<Array<ExistingFile | undefined>> =>
    Promise.all(files.map(async (file, fileIndex) => {
      if (closed) throw closedError()
      if (file.padding) return undefined
      const path = paths[fileIndex]!
      try {
        const stat = await fs.lstat(path)
        return stat.isFile() ? { fileIndex, size: stat.size, mtimeMs: stat.mtimeMs } : undefined
      } catch (cause) {
        const code = codeOf(cause)
        if (code === "ENOENT" || code === "ENOTDIR") return undefined
        throw systemError("Read", path, cause)
      }
    }))

  const flush = async (): Promise<void> => {
    if (closed) throw closedError()
    await Promise.all(handles.map(async (opening, index) => {
      const file = await opening?.catch(() => undefined)
      if (file === undefined || !file.writable) return
      await file.handle.datasync().catch((cause) => {
        throw systemError("Write", paths[index]!, cause)
      })
    }))
  }

  /** Closes every handle; resolves to the errors of those that failed to close. */
  const close = async (): Promise<Array<StorageError>> => {
    closed = true
    const results = await Promise.allSettled(handles.map(async (opening, index) => {
      const file = await opening?.catch(() => undefined)
      await file?.handle.close().catch((cause) => {
        throw systemError("Write", paths[index]!, cause)
      })
    }))
    return results.flatMap((result) => result.status === "rejected" ? [result.reason as StorageError] : [])
  }

  if (readOnly) return { write, read, existing, flush, close }
  // Create the download folder, and the torrent's empty files so that a complete download has every file.
  await makeFolders(root).catch((cause) => {
    throw systemError("Open", root, cause)
  })
  try {
    for (const [index, file] of files.entries()) {
      if (file.length !== 0 || file.padding) continue
      await (await handleFor(index, true))!.handle.close()
      handles[index] = undefined // reopened if ever needed; its identity stays reserved
    }
  } catch (cause) {
    await close()
    throw cause
  }

  return { write, read, existing, flush, close }
}

/** Errors are StorageErrors already; anything else (a bug in this module) still names the torrent. */
const unexpected = (torrent: TorrentInfo, reason: StorageErrorReason) => (cause: unknown) =>
  cause instanceof StorageError
    ? cause
    : new StorageError({ reason, detail: `storage of ${torrent.name} failed: ${describeSystemError(cause)}`, cause })

/** Opens torrents' data on the local file system. */
export const make: Storage["Type"] = Storage.of({
  open: (torrent, directory, options) =>
    Effect.gen(function*() {
      const failed = (reason: StorageErrorReason) => unexpected(torrent, reason)
      const files = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => openFiles(torrent, directory, options?.readOnly === true),
          catch: failed("Open")
        }),
        (files) =>
          Effect.promise(() => files.close()).pipe(
            Effect.flatMap((errors) => Effect.forEach(errors, (error) => Effect.logWarning(error.message)))
          )
      )
      const readAt = (offset: number, length: number, into?: Uint8Array) =>
        Effect.tryPromise({ try: () => files.read(offset, length, into), catch: failed("Read") })
      const storage: TorrentStorage = {
        writePiece: (index, data) =>
          Effect.flatMap(
            Effect.suspend(() => pieceOffset(torrent, index, data.length)),
            (offset) => Effect.tryPromise({ try: () => files.write(offset, data), catch: failed("Write") })
          ),
        read: (index, begin, length) =>
          Effect.flatMap(Effect.suspend(() => blockOffset(torrent, index, begin, length)), (offset) =>
            readAt(offset, length)),
        readPiece: (index, into) =>
          into === undefined
            ? storage.read(index, 0, pieceSize(torrent, index))
            : Effect.flatMap(Effect.suspend(() => pieceOffset(torrent, index, into.length)), (offset) =>
              readAt(offset, into.length, into)),
        existing: Effect.tryPromise({ try: () => files.existing(), catch: failed("Read") }),
        flush: Effect.tryPromise({ try: () => files.flush(), catch: failed("Write") })
      }
      return storage
    })
})

/** Storage on the local file system (Node). */
export const layer: Layer.Layer<Storage> = Layer.succeed(Storage, make)
