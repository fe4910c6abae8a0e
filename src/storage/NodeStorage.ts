/**
 * Storage on the local file system, through `node:fs/promises` file handles with positional reads and writes.
 *
 * One handle per file, opened on first use and kept until the torrent's scope closes. Folders are created one level
 * at a time below the download folder, refusing any that is a symbolic link; files are opened with O_NOFOLLOW and
 * never truncated. Two files of the torrent that turn out to be one file on disk (a case-folding file system, a hard
 * link) are refused as "Unsafe" when the second is opened.
 *
 * A skipped file that does not exist is "parked": its bytes go to the torrent's part file (`partFileName`), at their
 * offset in the torrent's byte space, until it is selected again and they move to the file.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { constants } from "node:fs"
import * as fs from "node:fs/promises"
import * as Path from "node:path"
import { pieceSize, type TorrentInfo } from "../metainfo/TorrentInfo.js"
import { blockOffset, filePaths, isInside, pieceOffset, type Segment, segments } from "./layout.js"
import { type ExistingFile, type OpenOptions, partFileName, Storage, type TorrentStorage } from "./Storage.js"
import { describeSystemError, StorageError, type StorageErrorReason } from "./StorageError.js"

/** Bytes moved out of the part file at a time. */
const MOVE_CHUNK = 1 << 20

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

/**
 * Creating `path` (a file or folder that is not there yet) was refused: the folder it goes in may not be written by
 * this user, which is the thing to name (a daemon running as a service user, a folder owned by root).
 */
const creationRefused = async (path: string, cause: unknown): Promise<StorageError> => {
  const code = codeOf(cause)
  if ((code !== "EACCES" && code !== "EPERM") || (await fs.lstat(path).then(() => true, () => false))) {
    return systemError("Open", path, cause)
  }
  const uid = process.getuid?.()
  return new StorageError({
    reason: "Open",
    path,
    detail: `permission denied: this user${uid === undefined ? "" : ` (uid ${uid})`} may not create anything in ` +
      `${Path.dirname(path)}; change that folder's permissions or choose another download folder`,
    cause
  })
}

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
const openFiles = async (torrent: TorrentInfo, directory: string, options: OpenOptions) => {
  const readOnly = options.readOnly === true
  const root = Path.resolve(directory)
  const files = torrent.files
  /** The torrent's files, then the part file at index PART. */
  const paths = [...Either.getOrThrowWith(filePaths(root, torrent), (error) => error), Path.join(root, partFileName(torrent))]
  const PART = files.length
  const handles: Array<Promise<OpenFile> | undefined> = new Array(files.length + 1)
  /** Files whose bytes are in the part file (see the module comment). */
  const parked: Array<boolean> = files.map(() => false)
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
      await fs.mkdir(folder).catch(async (cause) => {
        if (codeOf(cause) !== "EEXIST") throw await creationRefused(folder, cause)
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
      if (create) throw await creationRefused(path, cause)
      if (readOnly || (code !== "EACCES" && code !== "EPERM" && code !== "EROFS")) throw systemError("Open", path, cause)
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

  /** Where a segment's bytes are: its file, or for a parked file the part file. */
  const route = (segment: Segment): Segment =>
    parked[segment.fileIndex]
      ? { ...segment, fileIndex: PART, fileOffset: files[segment.fileIndex]!.offset + segment.fileOffset }
      : segment

  const write = async (offset: number, data: Uint8Array): Promise<void> => {
    if (readOnly) throw new StorageError({ reason: "Write", detail: `the data of ${torrent.name} is open read-only` })
    for (const segment of segments(files, offset, data.length).map(route)) {
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
  const read = async (offset: number, length: number, into?: Uint8Array, from?: number): Promise<Uint8Array> => {
    const out = into ?? new Uint8Array(length)
    const parts = from === undefined
      ? segments(files, offset, length).map(route)
      : [{ fileIndex: from, fileOffset: offset, bufferOffset: 0, length }]
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
      const path = paths[parked[fileIndex] && !readOnly ? PART : fileIndex]!
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

  const exists = async (path: string): Promise<boolean> => {
    try {
      return (await fs.lstat(path)).isFile()
    } catch (cause) {
      const code = codeOf(cause)
      if (code === "ENOENT" || code === "ENOTDIR") return false
      throw systemError("Read", path, cause)
    }
  }

  /** Copies file `index`'s bytes out of the part file (only chunks holding data: the part file is sparse). */
  const unpark = async (index: number): Promise<void> => {
    const file = files[index]!
    if (file.length === 0) {
      await (await handleFor(index, true))!.handle.close()
      handles[index] = undefined
      return
    }
    const part = await handleFor(PART, false)
    if (part === undefined) return
    const chunk = new Uint8Array(Math.min(MOVE_CHUNK, file.length))
    let moved = false
    for (let at = 0; at < file.length; at += chunk.length) {
      const length = Math.min(chunk.length, file.length - at)
      const data = await read(file.offset + at, length, chunk.subarray(0, length), PART)
      if (data.every((byte) => byte === 0)) continue
      await write(file.offset + at, data)
      moved = true
    }
    if (!moved) return
    const handle = (await handleFor(index, true))!.handle
    if ((await handle.stat()).size < file.length) await handle.truncate(file.length)
  }

  const select = async (skipped: ReadonlyArray<boolean>): Promise<void> => {
    if (closed) throw closedError()
    for (const [index, file] of files.entries()) {
      if (file.padding) continue
      if (skipped[index] === true) {
        if (!parked[index] && handles[index] === undefined && !(await exists(paths[index]!))) parked[index] = true
      } else if (parked[index]) {
        // Writes go to the file from now on; what the part file holds of it is verified data, the same bytes.
        parked[index] = false
        await unpark(index)
      }
    }
    if (parked.some((p) => p) || !(await exists(paths[PART]!))) return
    const part = handles[PART]
    handles[PART] = undefined
    await (await part?.catch(() => undefined))?.handle.close()
    await fs.unlink(paths[PART]!).catch((cause) => {
      if (codeOf(cause) !== "ENOENT") throw systemError("Write", paths[PART]!, cause)
    })
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

  // Create the download folder, and the torrent's wanted empty files so that a complete download has every file.
  // Every missing file starts parked: the wanted ones are unparked by `select`, taking their bytes from a part file
  // left by an earlier run that skipped them (and an empty file is created then).
  // A check reads a missing file's bytes from the part file when there is one (the pieces it shares with files
  // that are there verify), and still reports the file itself as missing.
  if (readOnly) {
    if (await exists(paths[PART]!)) {
      for (const [index, file] of files.entries()) if (!file.padding) parked[index] = !(await exists(paths[index]!))
    }
    return { write, read, existing, flush, select, close }
  }
  await makeFolders(root).catch((cause) => {
    throw systemError("Open", root, cause)
  })
  try {
    for (const [index, file] of files.entries()) if (!file.padding) parked[index] = !(await exists(paths[index]!))
    await select(options.skipped ?? [])
  } catch (cause) {
    await close()
    throw cause
  }

  return { write, read, existing, flush, select, close }
}

/** Errors are StorageErrors already; anything else (a bug in this module) still names the torrent. */
const unexpected = (torrent: TorrentInfo, reason: StorageErrorReason) => (cause: unknown) =>
  cause instanceof StorageError
    ? cause
    : new StorageError({ reason, detail: `storage of ${torrent.name} failed: ${describeSystemError(cause)}`, cause })

/** Opens torrents' data on the local file system. */
export const make: Storage["Type"] = Storage.of({
  open: (torrent, directory, options = {}) =>
    Effect.gen(function*() {
      const failed = (reason: StorageErrorReason) => unexpected(torrent, reason)
      const files = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => openFiles(torrent, directory, options), catch: failed("Open") }),
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
        flush: Effect.tryPromise({ try: () => files.flush(), catch: failed("Write") }),
        select: (skipped) => Effect.tryPromise({ try: () => files.select(skipped), catch: failed("Write") })
      }
      return storage
    })
})

/** Storage on the local file system (Node). */
export const layer: Layer.Layer<Storage> = Layer.succeed(Storage, make)
