/**
 * Making a `.torrent` (BEP 3, BEP 12 tiers, BEP 27 private flag): hybrid v1+v2 by default (BEP 52, BEP 47
 * padding), or v1 or v2 only, from a file or a folder.
 *
 * Reads through the platform `FileSystem` and `Path`, so an embedding program (or a test) supplies them. What it
 * takes from a folder:
 *
 * - regular files, found recursively, in bytewise order of their UTF-8 path components; empty files are listed,
 *   empty folders leave no trace (a v1 torrent cannot express them);
 * - hidden files too: nothing is skipped silently;
 * - symbolic links and special files (FIFOs, sockets, devices) inside the folder are refused, naming the path: a
 *   link may point outside the folder or at data listed twice, and a FIFO would hang the hash. The path given
 *   itself may be a link; it is followed, and the torrent named after the link.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type { PlatformError } from "@effect/platform/Error"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash, type Hash } from "node:crypto"
import { type Bencodable, encode } from "../bencode/index.js"
import { MetainfoError, type MetainfoErrorReason } from "./MetainfoError.js"
import { BLOCK_SIZE, fileTree, HASH_SIZE, treeLayers } from "./merkle.js"
import { MAX_FILES, MAX_PIECE_LENGTH, parseTorrent } from "./parse.js"
import { unsafeComponent } from "./paths.js"

/** The smallest piece length we make (and the block size every client requests). */
export const MIN_PIECE_LENGTH = 16 * 1024
/** The largest piece length chosen automatically; `pieceLength` may go up to `MAX_PIECE_LENGTH`. */
export const MAX_AUTO_PIECE_LENGTH = 16 * 1024 * 1024
/** Automatic piece lengths aim for at most this many pieces. */
const TARGET_PIECES = 2000
/** Bytes read from disk at a time; pieces are hashed incrementally across reads and file boundaries. */
const READ_CHUNK = 4 * 1024 * 1024

export const DEFAULT_CREATED_BY = "bt 0.1.0"

/**
 * The automatic piece length for `totalLength` bytes: the smallest power of two from 16 KiB to 16 MiB that gives at
 * most 2000 pieces. Between about 16 MB and 31 GiB of data that means 1000 to 2000 pieces (e.g. 700 MiB → 512 KiB,
 * 1 GiB → 1 MiB, 4 GiB → 4 MiB), which keeps the .torrent small (20 bytes a piece) and a piece quick to fetch.
 * Smaller data gets 16 KiB pieces (fewer of them); larger data 16 MiB pieces (more of them). Transmission's
 * table lands on the same lengths from 512 MiB to 2 GiB; libtorrent 2.0 picks smaller pieces for large data
 * (512 KiB for 1 GiB, up to 4096 pieces), mktorrent 1.1 always 256 KiB.
 */
export const autoPieceLength = (totalLength: number): number => {
  let length = MIN_PIECE_LENGTH
  while (length < MAX_AUTO_PIECE_LENGTH && Math.ceil(totalLength / length) > TARGET_PIECES) length *= 2
  return length
}

/** Why `pieceLength` cannot be used, or `undefined` when it can: a power of two from 16 KiB to 256 MiB. */
export const pieceLengthProblem = (pieceLength: number): string | undefined =>
  !Number.isSafeInteger(pieceLength) || pieceLength < MIN_PIECE_LENGTH || pieceLength > MAX_PIECE_LENGTH ||
    (pieceLength & (pieceLength - 1)) !== 0
    ? `piece length ${pieceLength} is not a power of two from 16 KiB (16384) to 256 MiB`
    : undefined

/**
 * `hybrid` (the default, as libtorrent 2.0 makes): v1 piece hashes with BEP 47 padding files so that each file starts
 * on a piece boundary, and the v2 file tree and piece layers (BEP 52), readable by v1-only and v2 clients alike.
 * `v1`: v1 only, no padding. `v2`: v2 only.
 */
export type TorrentKind = "v1" | "v2" | "hybrid"

export interface CreateTorrentOptions {
  /** Default `hybrid`. */
  readonly kind?: TorrentKind
  /** The file (single-file torrent) or folder (multi-file torrent, named after the folder) to share. */
  readonly path: string
  /** Tracker tiers (BEP 12), in order. Empty URLs and tiers are dropped. */
  readonly trackers?: ReadonlyArray<ReadonlyArray<string>>
  /** Bytes; a power of two from 16 KiB to 256 MiB. Default: `autoPieceLength` of the total size. */
  readonly pieceLength?: number
  /** Sets `private: 1` (BEP 27): peers only from the trackers, no DHT or peer exchange. */
  readonly private?: boolean
  readonly comment?: string
  /** Default `DEFAULT_CREATED_BY`. */
  readonly createdBy?: string
  /** Seconds since the Unix epoch. Default: now, from the `Clock`. */
  readonly creationDate?: number
  /** Web seed URLs (BEP 19 `url-list`), in order. */
  readonly webSeeds?: ReadonlyArray<string>
  /** Called before the first read and after each read, with bytes hashed so far and the total. */
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => Effect.Effect<void>
}

/** A file found on disk: its absolute path, its components below the torrent's root, its size. */
interface Source {
  readonly absolute: string
  readonly path: ReadonlyArray<string>
  readonly length: number
}

const fail = (reason: MetainfoErrorReason, source: string | undefined, detail: string, cause?: unknown) =>
  new MetainfoError({ reason, source, detail, ...(cause === undefined ? {} : { cause }) })

const unreadable = (source: string) => (cause: PlatformError) =>
  fail(
    "Unreadable",
    source,
    cause._tag === "SystemError" && cause.reason === "NotFound"
      ? "no such file or folder"
      : cause._tag === "SystemError" && cause.reason === "PermissionDenied"
      ? "permission denied"
      : `cannot read it (${cause.message})`,
    cause
  )

const utf8 = new TextEncoder()
const byUtf8 = (a: string, b: string): number => Buffer.compare(utf8.encode(a), utf8.encode(b))

/** Refuses a name that could not stand in a torrent (and so would be refused by every client reading it). */
const checkName = (name: string, where: string): Effect.Effect<void, MetainfoError> => {
  const problem = unsafeComponent(name)
  if (problem !== undefined) return Effect.fail(fail("UnsafePath", where, `the name contains ${problem}`))
  // Node decodes names that are not UTF-8 to U+FFFD; such a file could not even be opened by the decoded name.
  if (name.includes("\uFFFD")) return Effect.fail(fail("UnsafePath", where, "the name is not valid UTF-8"))
  return Effect.void
}

/** Every regular file below `root`, in bytewise order of path components. */
const walk = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  root: string
): Effect.Effect<Array<Source>, MetainfoError> =>
  Effect.gen(function*() {
    const found: Array<Source> = []
    const visit = (dir: string, prefix: ReadonlyArray<string>): Effect.Effect<void, MetainfoError> =>
      Effect.gen(function*() {
        const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(unreadable(dir)))
        names.sort(byUtf8)
        for (const name of names) {
          const absolute = path.join(dir, name)
          yield* checkName(name, absolute)
          // FileSystem has no lstat: readLink succeeds only on a symbolic link.
          const isLink = yield* fs.readLink(absolute).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
          if (isLink) {
            return yield* fail(
              "UnsafePath",
              absolute,
              "is a symbolic link; bt create does not follow links inside a folder (copy the data in instead)"
            )
          }
          const info = yield* fs.stat(absolute).pipe(Effect.mapError(unreadable(absolute)))
          const components = [...prefix, name]
          if (info.type === "Directory") {
            yield* visit(absolute, components)
          } else if (info.type === "File") {
            if (found.length >= MAX_FILES) {
              return yield* fail("InvalidField", root, `holds more than ${MAX_FILES} files, too many for a torrent`)
            }
            found.push({ absolute, path: components, length: Number(info.size) })
          } else {
            return yield* fail("Unreadable", absolute, `is not a regular file or folder (${info.type})`)
          }
        }
      })
    yield* visit(root, [])
    return found
  })

/** Cuts a stream of bytes into units of `size` and hashes each with `algorithm`; the last unit may be short. */
const unitHasher = (algorithm: "sha1" | "sha256", size: number) => {
  const digests: Array<Uint8Array> = []
  let hash: Hash = createHash(algorithm)
  let inUnit = 0
  const end = () => {
    digests.push(hash.digest())
    hash = createHash(algorithm)
    inUnit = 0
  }
  return {
    update: (bytes: Uint8Array) => {
      for (let at = 0; at < bytes.length;) {
        const n = Math.min(bytes.length - at, size - inUnit)
        hash.update(bytes.subarray(at, at + n))
        at += n
        inUnit += n
        if (inUnit === size) end()
      }
    },
    /** Ends a short last unit, and returns every digest so far, concatenated. */
    finish: (): Uint8Array => {
      if (inUnit > 0) end()
      return Buffer.concat(digests)
    }
  }
}

/** What hashing the files gives: v1 piece hashes and, for v2, each file's root and piece layer. */
interface Hashed {
  readonly pieces: Uint8Array | undefined
  readonly trees: ReadonlyArray<{ readonly root: Uint8Array; readonly layer: Uint8Array | undefined } | undefined>
}

/**
 * Hashes the files' bytes, read sequentially in large chunks: SHA-1 per piece of their concatenation (v1; for a
 * hybrid with zeros padding each file but the last up to a piece boundary, as its padding files say), and SHA-256
 * per 16 KiB block of each file, built up into its merkle root and piece layer (v2).
 */
const hashFiles = (
  fs: FileSystem.FileSystem,
  files: ReadonlyArray<Source>,
  pieceLength: number,
  kind: TorrentKind,
  onProgress: (hashedBytes: number, totalBytes: number) => Effect.Effect<void>
): Effect.Effect<Hashed, MetainfoError> =>
  Effect.gen(function*() {
    const totalLength = files.reduce((sum, file) => sum + file.length, 0)
    const v1 = kind === "v2" ? undefined : unitHasher("sha1", pieceLength)
    const trees: Array<Hashed["trees"][number]> = []
    // Two read buffers: the next chunk is read (in libuv's thread pool) while the last one is hashed.
    const size = Math.min(READ_CHUNK, totalLength)
    const buffers = [new Uint8Array(size), new Uint8Array(size)] as const
    let next = 0
    /** A chunk read but not hashed yet, with the file's block hasher; it may come from the previous file. */
    let pending: { bytes: Uint8Array; blocks: ReturnType<typeof unitHasher> | undefined } | undefined
    let hashed = 0

    // Plain synchronous code per chunk: pieces span reads (and, in v1, file boundaries).
    const feedPending = Effect.suspend(() => {
      if (pending === undefined) return Effect.void
      const { blocks, bytes } = pending
      pending = undefined
      v1?.update(bytes)
      blocks?.update(bytes)
      hashed += bytes.length
      return onProgress(hashed, totalLength)
    })

    yield* onProgress(0, totalLength)
    for (const [index, file] of files.entries()) {
      const blocks = kind === "v1" ? undefined : unitHasher("sha256", BLOCK_SIZE)
      if (file.length > 0) {
        yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* fs.open(file.absolute, { flag: "r" })
          for (let left = file.length; left > 0;) {
            const buffer = buffers[next]!.subarray(0, Math.min(size, left))
            next ^= 1
            // Both start at once: the read goes to the thread pool, then the hash runs here.
            const [got] = yield* Effect.all([handle.read(buffer), feedPending], { concurrency: 2 })
            if (got === BigInt(0)) {
              return yield* fail("Unreadable", file.absolute, "the file shrank while it was being hashed; try again")
            }
            pending = { bytes: buffer.subarray(0, Number(got)), blocks }
            left -= pending.bytes.length
          }
        })).pipe(Effect.mapError((e) => (e instanceof MetainfoError ? e : unreadable(file.absolute)(e))))
      }
      yield* feedPending
      if (blocks !== undefined) trees.push(file.length === 0 ? undefined : treeOf(blocks.finish(), file.length, pieceLength))
      const gap = (pieceLength - (file.length % pieceLength)) % pieceLength
      if (kind === "hybrid" && gap > 0 && index < files.length - 1) v1?.update(new Uint8Array(gap))
    }
    const pieces = v1?.finish()
    return { pieces, trees }
  })

/** A file's merkle root and, when it is larger than a piece, its piece layer, from its block hashes. */
const treeOf = (leaves: Uint8Array, length: number, pieceLength: number) => {
  const shape = fileTree(length, pieceLength)
  const layers = treeLayers(leaves, shape.width)
  const root = layers[layers.length - 1]!.slice(0, HASH_SIZE)
  if (!shape.hasPieceLayer) return { root, layer: undefined }
  // The piece layer is `pieceHeight` layers up; its trailing pad nodes are not stored (the width covers them).
  const layer = layers[shape.pieceHeight]!.slice(0, shape.pieces * HASH_SIZE)
  return { root, layer }
}

/** The v2 `file tree` of files in tree order: nested dictionaries of path components, `""` holding a file. */
const fileTreeOf = (files: ReadonlyArray<Source>, hashed: Hashed): Map<string, Bencodable> => {
  const tree = new Map<string, Bencodable>()
  files.forEach((file, index) => {
    let dir = tree
    for (const part of file.path.slice(0, -1)) {
      const key = Buffer.from(part, "utf8").toString("latin1")
      if (!dir.has(key)) dir.set(key, new Map<string, Bencodable>())
      dir = dir.get(key) as Map<string, Bencodable>
    }
    const root = hashed.trees[index]?.root
    dir.set(Buffer.from(file.path[file.path.length - 1]!, "utf8").toString("latin1"), {
      "": root === undefined ? { length: file.length } : { length: file.length, "pieces root": root }
    })
  })
  return tree
}

/** The v1 `files` list; for a hybrid, a BEP 47 padding file after each file but the last that ends off a boundary. */
const v1Files = (files: ReadonlyArray<Source>, pieceLength: number, kind: TorrentKind): Array<Bencodable> =>
  files.flatMap((file, index) => {
    const entry = { length: file.length, path: [...file.path] }
    const gap = (pieceLength - (file.length % pieceLength)) % pieceLength
    return kind === "hybrid" && gap > 0 && index < files.length - 1
      ? [entry, { attr: "p", length: gap, path: [".pad", String(gap)] }]
      : [entry]
  })

/**
 * Makes a `.torrent` (hybrid unless `kind` says otherwise) from a file or folder and returns its bytes, after reading them back with `parseTorrent`.
 *
 * The result holds `announce` (the first URL of the first tier), `announce-list` (only when there is more than one
 * URL), `comment`, `created by`, `creation date`, and `info` with `name`, `piece length`, `pieces`, `length` or
 * `files`, and `private: 1` when asked. Errors name the file or folder at fault: missing or unreadable data, a
 * link or special file in a folder, an unsafe or non-UTF-8 name, no data at all, a bad piece length.
 */
export const createTorrent = (
  options: CreateTorrentOptions
): Effect.Effect<Uint8Array, MetainfoError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (options.pieceLength !== undefined) {
      const problem = pieceLengthProblem(options.pieceLength)
      if (problem !== undefined) return yield* fail("InvalidPieces", undefined, problem)
    }

    const root = path.resolve(options.path)
    const name = path.basename(root)
    yield* checkName(name, options.path)
    const info = yield* fs.stat(root).pipe(Effect.mapError(unreadable(options.path)))
    const layout = info.type === "Directory" ? "multi" : info.type === "File" ? "single" : undefined
    if (layout === undefined) {
      return yield* fail("Unreadable", options.path, `is not a regular file or folder (${info.type})`)
    }
    const files = layout === "multi"
      ? yield* walk(fs, path, root)
      : [{ absolute: root, path: [name], length: Number(info.size) }]
    if (layout === "multi" && files.length === 0) {
      return yield* fail("InvalidLength", options.path, "the folder holds no files; a torrent must hold data")
    }
    const totalLength = files.reduce((sum, file) => sum + file.length, 0)
    if (totalLength === 0) {
      return yield* fail(
        "InvalidLength",
        options.path,
        layout === "multi" ? "every file in the folder is empty; a torrent must hold data" : "the file is empty"
      )
    }

    const pieceLength = options.pieceLength ?? autoPieceLength(totalLength)
    const kind = options.kind ?? "hybrid"
    const hashed = yield* hashFiles(fs, files, pieceLength, kind, options.onProgress ?? (() => Effect.void))

    const tiers = (options.trackers ?? [])
      .map((tier) => tier.map((url) => url.trim()).filter((url) => url.length > 0))
      .filter((tier) => tier.length > 0)
    const urlCount = tiers.reduce((sum, tier) => sum + tier.length, 0)
    const creationDate = options.creationDate ?? Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const layers = new Map<string, Bencodable>()
    for (const tree of hashed.trees) {
      if (tree?.layer !== undefined) layers.set(Buffer.from(tree.root).toString("latin1"), tree.layer)
    }
    const torrent: Record<string, Bencodable | undefined> = {
      announce: tiers[0]?.[0],
      "announce-list": urlCount > 1 ? tiers : undefined,
      comment: options.comment,
      "created by": options.createdBy ?? DEFAULT_CREATED_BY,
      "creation date": creationDate,
      info: {
        name,
        "piece length": pieceLength,
        pieces: hashed.pieces,
        ...(kind === "v2"
          ? {}
          : layout === "single"
          ? { length: totalLength }
          : { files: v1Files(files, pieceLength, kind) }),
        ...(kind === "v1" ? {} : { "meta version": 2, "file tree": fileTreeOf(files, hashed) }),
        private: options.private === true ? 1 : undefined
      },
      "piece layers": kind === "v1" ? undefined : layers,
      "url-list": options.webSeeds !== undefined && options.webSeeds.length > 0 ? [...options.webSeeds] : undefined
    }
    const bytes = encode(torrent)
    const parsed = parseTorrent(bytes, options.path)
    if (Either.isLeft(parsed)) return yield* parsed.left
    return bytes
  })
