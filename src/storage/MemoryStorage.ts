/**
 * Storage in memory, for tests and in-process swarms: one byte array per torrent (by info-hash), kept across opens
 * like a disk, with the same observable behaviour as the file-system layer (padding never stored, missing data reads
 * as zeros, empty files exist once opened, skipped files parked in a part file, the same range and path checks).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { pieceSize, type TorrentInfo } from "../metainfo/TorrentInfo.js"
import { blockOffset, filePaths, pieceOffset, segments } from "./layout.js"
import { type ExistingFile, type OpenOptions, Storage, type TorrentStorage } from "./Storage.js"
import { StorageError } from "./StorageError.js"

/** What tests can see of the memory storage. */
export class MemoryStorage extends Context.Tag("bt/MemoryStorage")<MemoryStorage, {
  /** A copy of a torrent's byte space as stored (padding reads as zeros), or `undefined` if never opened or seeded. */
  readonly contents: (infoHashHex: string) => Uint8Array | undefined
  /** A copy of a torrent's part file (in the torrent's byte space), or `undefined` if it has none. */
  readonly partFile: (infoHashHex: string) => Uint8Array | undefined
}>() {}

interface Disk {
  readonly bytes: Uint8Array
  /** Per file: its size and modification time once it exists. */
  readonly files: Array<{ size: number; mtimeMs: number } | undefined>
  /** The part file: the bytes of parked files at their offsets, and when it was last written. */
  part: { readonly bytes: Uint8Array; mtimeMs: number } | undefined
}

const zeroPadding = (torrent: TorrentInfo, bytes: Uint8Array) => {
  for (const file of torrent.files) if (file.padding) bytes.fill(0, file.offset, file.offset + file.length)
}

/**
 * A memory storage. `initial` pre-seeds torrents' contents by info-hash (hex): each must be exactly the torrent's
 * length, and every file of a seeded torrent exists, complete.
 */
export const makeMemory = (
  initial?: ReadonlyMap<string, Uint8Array>
): Effect.Effect<Storage["Type"] & MemoryStorage["Type"]> =>
  Effect.sync(() => {
    const disks = new Map<string, Disk>()

    const diskFor = (torrent: TorrentInfo, now: number): Effect.Effect<Disk> => {
      const found = disks.get(torrent.infoHashHex)
      if (found !== undefined) return Effect.succeed(found)
      const seed = initial?.get(torrent.infoHashHex)
      if (seed !== undefined && seed.length !== torrent.totalLength) {
        return Effect.dieMessage(
          `memory storage seed for ${torrent.infoHashHex} is ${seed.length} bytes, not ${torrent.totalLength}`
        )
      }
      const bytes = seed === undefined ? new Uint8Array(torrent.totalLength) : Uint8Array.from(seed)
      zeroPadding(torrent, bytes)
      const files = torrent.files.map((file) =>
        seed !== undefined && !file.padding ? { size: file.length, mtimeMs: now } : undefined
      )
      const disk: Disk = { bytes, files, part: undefined }
      disks.set(torrent.infoHashHex, disk)
      return Effect.succeed(disk)
    }

    const open = (torrent: TorrentInfo, directory: string, options: OpenOptions = {}) =>
      Effect.gen(function*() {
        yield* filePaths(directory, torrent)
        const now = yield* Clock.currentTimeMillis
        const disk = yield* diskFor(torrent, now)
        const readOnly = options.readOnly === true
        // As on disk: every missing file starts parked, and `select` unparks (and creates, if empty) the wanted ones.
        const parked = torrent.files.map((file, index) => !file.padding && disk.files[index] === undefined)
        const select = (skipped: ReadonlyArray<boolean>) =>
          Effect.map(Clock.currentTimeMillis, (mtimeMs) => {
            for (const [index, file] of torrent.files.entries()) {
              if (file.padding) continue
              if (skipped[index] === true) {
                if (disk.files[index] === undefined) parked[index] = true
              } else if (parked[index]) {
                parked[index] = false
                const held = disk.part?.bytes.subarray(file.offset, file.offset + file.length)
                if (file.length === 0 || held?.some((byte) => byte !== 0) === true) {
                  if (held !== undefined) disk.bytes.set(held, file.offset)
                  disk.files[index] = { size: file.length, mtimeMs }
                }
              }
            }
            if (!parked.some((p) => p)) disk.part = undefined
          })
        if (!readOnly) yield* select(options.skipped ?? [])
        const state = yield* Effect.acquireRelease(
          Effect.sync(() => ({ closed: false })),
          (state) => Effect.sync(() => (state.closed = true))
        )
        const ifOpen = <A>(effect: Effect.Effect<A, StorageError>): Effect.Effect<A, StorageError> =>
          Effect.suspend(() =>
            state.closed
              ? new StorageError({
                reason: "Closed",
                detail: `the storage of ${torrent.name} in ${directory} is already closed`
              })
              : effect
          )

        const readAt = (offset: number, length: number, into?: Uint8Array) =>
          Effect.sync(() => {
            const out = into?.fill(0) ?? new Uint8Array(length)
            for (const segment of segments(torrent.files, offset, length)) {
              const start = torrent.files[segment.fileIndex]!.offset + segment.fileOffset
              if (parked[segment.fileIndex]) {
                const part = disk.part?.bytes.subarray(start, start + segment.length)
                if (part !== undefined) out.set(part, segment.bufferOffset)
                continue
              }
              const size = disk.files[segment.fileIndex]?.size ?? 0
              const available = Math.min(segment.length, size - segment.fileOffset)
              if (available <= 0) continue
              out.set(disk.bytes.subarray(start, start + available), segment.bufferOffset)
            }
            return out
          })

        const storage: TorrentStorage = {
          writePiece: (index, data) =>
            readOnly
              ? new StorageError({ reason: "Write", detail: `the data of ${torrent.name} is open read-only` })
              : ifOpen(Effect.flatMap(pieceOffset(torrent, index, data.length), (offset) =>
              Effect.map(Clock.currentTimeMillis, (mtimeMs) => {
                for (const segment of segments(torrent.files, offset, data.length)) {
                  const bytes = data.subarray(segment.bufferOffset, segment.bufferOffset + segment.length)
                  if (parked[segment.fileIndex]) {
                    disk.part ??= { bytes: new Uint8Array(torrent.totalLength), mtimeMs }
                    disk.part.bytes.set(bytes, offset + segment.bufferOffset)
                    disk.part.mtimeMs = mtimeMs
                    continue
                  }
                  disk.bytes.set(
                    data.subarray(segment.bufferOffset, segment.bufferOffset + segment.length),
                    offset + segment.bufferOffset
                  )
                  const end = segment.fileOffset + segment.length
                  const before = disk.files[segment.fileIndex]
                  disk.files[segment.fileIndex] = { size: Math.max(before?.size ?? 0, end), mtimeMs }
                }
              }))),
          read: (index, begin, length) =>
            ifOpen(Effect.flatMap(blockOffset(torrent, index, begin, length), (offset) => readAt(offset, length))),
          readPiece: (index, into) =>
            into === undefined
              ? storage.read(index, 0, pieceSize(torrent, index))
              : ifOpen(Effect.flatMap(pieceOffset(torrent, index, into.length), (offset) => readAt(offset, into.length, into))),
          existing: ifOpen(Effect.sync(() =>
            disk.files.map((file, fileIndex): ExistingFile | undefined => {
              const where = parked[fileIndex]
                ? disk.part && { size: disk.part.bytes.length, mtimeMs: disk.part.mtimeMs }
                : file
              return where === undefined ? undefined : { fileIndex, size: where.size, mtimeMs: where.mtimeMs }
            })
          )),
          flush: ifOpen(Effect.void),
          select: (skipped) => ifOpen(select(skipped))
        }
        return storage
      })

    const contents = (infoHashHex: string) => {
      const disk = disks.get(infoHashHex)
      return disk === undefined ? undefined : Uint8Array.from(disk.bytes)
    }

    const partFile = (infoHashHex: string) => {
      const part = disks.get(infoHashHex)?.part
      return part === undefined ? undefined : Uint8Array.from(part.bytes)
    }

    return { open, contents, partFile }
  })

/** Memory storage, optionally pre-seeded (see `makeMemory`); provides `MemoryStorage` too, to read back contents. */
export const layerMemory = (initial?: ReadonlyMap<string, Uint8Array>): Layer.Layer<Storage | MemoryStorage> =>
  Layer.effectContext(
    Effect.map(makeMemory(initial), ({ contents, open, partFile }) =>
      Context.make(Storage, Storage.of({ open })).pipe(
        Context.add(MemoryStorage, MemoryStorage.of({ contents, partFile }))
      ))
  )
