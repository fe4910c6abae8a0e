import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, type Scope } from "effect"
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import type { TorrentInfo } from "../../src/metainfo/index.js"
import {
  describeSystemError,
  layer as nodeLayer,
  layerMemory,
  MemoryStorage,
  Storage,
  StorageError,
  type TorrentStorage
} from "../../src/storage/index.js"
import { contentFor, makeTorrent, multiTorrent, pieceOf } from "./fixtures.js"

const base = mkdtempSync(join(tmpdir(), "bt-storage-"))
afterAll(() => rmSync(base, { recursive: true, force: true }))
const freshDir = () => mkdtempSync(join(base, "t-"))

const singleTorrent = makeTorrent({ name: "single.bin", pieceLength: 16, files: 37 })

/** Runs `body` with a fresh storage service (a fresh layer, so memory starts empty) and a fresh folder. */
const withStorage = <A, E>(
  storageLayer: () => Layer.Layer<Storage>,
  body: (storage: Storage["Type"], dir: string) => Effect.Effect<A, E, Scope.Scope | Storage>
) =>
  Effect.gen(function*() {
    return yield* body(yield* Storage, freshDir())
  }).pipe(Effect.scoped, Effect.provide(storageLayer()))

const writeAll = (torrent: TorrentInfo, bytes: Uint8Array) => (storage: Pick<TorrentStorage, "writePiece">) =>
  Effect.forEach(
    Array.from({ length: torrent.pieceCount }, (_, i) => i),
    (i) => storage.writePiece(i, pieceOf(torrent, bytes, i)),
    { discard: true }
  )

const implementations = [
  { name: "file system", storageLayer: () => nodeLayer },
  { name: "memory", storageLayer: (): Layer.Layer<Storage> => layerMemory() }
]

describe.each(implementations)("$name storage", ({ storageLayer }) => {
  const run = <A, E>(body: (storage: Storage["Type"], dir: string) => Effect.Effect<A, E, Scope.Scope | Storage>) =>
    withStorage(storageLayer, body)

  it.effect("writes every piece of a multi-file torrent and reads them back", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent)
        const torrent = yield* storage.open(multiTorrent, dir)
        yield* writeAll(multiTorrent, bytes)(torrent)
        yield* torrent.flush
        for (let i = 0; i < multiTorrent.pieceCount; i++) {
          expect(yield* torrent.readPiece(i)).toEqual(pieceOf(multiTorrent, bytes, i))
        }
        // A block spanning three files.
        expect(yield* torrent.read(0, 8, 8)).toEqual(bytes.subarray(8, 16))
      })
    ))

  it.effect("takes pieces written and read concurrently", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent, 5)
        const torrent = yield* storage.open(multiTorrent, dir)
        const indices = Array.from({ length: multiTorrent.pieceCount }, (_, i) => i)
        yield* Effect.forEach(indices, (i) => torrent.readPiece(i), { concurrency: "unbounded" })
        yield* Effect.forEach([...indices, ...indices], (i) => torrent.writePiece(i, pieceOf(multiTorrent, bytes, i)), {
          concurrency: "unbounded"
        })
        const pieces = yield* Effect.forEach(indices, (i) => torrent.readPiece(i), { concurrency: "unbounded" })
        expect(pieces).toEqual(indices.map((i) => pieceOf(multiTorrent, bytes, i)))
      })
    ))

  it.effect("writes and reads a single-file torrent with a short last piece", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(singleTorrent, 7)
        const torrent = yield* storage.open(singleTorrent, dir)
        yield* writeAll(singleTorrent, bytes)(torrent)
        expect(yield* torrent.readPiece(2)).toEqual(bytes.subarray(32, 37))
        expect(yield* torrent.existing).toEqual([{ fileIndex: 0, size: 37, mtimeMs: expect.any(Number) }])
      })
    ))

  it.effect("reads data never written as zeros", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent)
        const torrent = yield* storage.open(multiTorrent, dir)
        expect(yield* torrent.readPiece(0)).toEqual(new Uint8Array(16))
        yield* torrent.writePiece(3, pieceOf(multiTorrent, bytes, 3))
        // f.dat now exists but is short before piece 3 and ends after it.
        expect(yield* torrent.readPiece(2)).toEqual(new Uint8Array(16))
        expect(yield* torrent.readPiece(4)).toEqual(new Uint8Array(8))
        expect(yield* torrent.readPiece(3)).toEqual(pieceOf(multiTorrent, bytes, 3))
      })
    ))

  it.effect("never stores padding: its bytes read back as zeros", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const torrent = yield* storage.open(multiTorrent, dir)
        yield* torrent.writePiece(1, new Uint8Array(16).fill(9))
        const expected = new Uint8Array(16)
        expected.fill(9, 0, 2)
        expect(yield* torrent.readPiece(1)).toEqual(expected)
      })
    ))

  it.effect("reads a piece into a reused buffer, zeroing what is padding, missing or past a short file", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent, 3)
        const torrent = yield* storage.open(multiTorrent, dir)
        const stale = () => new Uint8Array(16).fill(0xee)
        // Nothing written yet: every byte zero.
        const into = stale()
        expect(yield* torrent.readPiece(0, into)).toBe(into)
        expect(into).toEqual(new Uint8Array(16))
        yield* torrent.writePiece(3, pieceOf(multiTorrent, bytes, 3))
        // f.dat exists now, short before piece 3.
        expect(yield* torrent.readPiece(2, stale())).toEqual(new Uint8Array(16))
        expect(yield* torrent.readPiece(3, stale())).toEqual(pieceOf(multiTorrent, bytes, 3))
        // Piece 1 holds padding.
        yield* torrent.writePiece(1, new Uint8Array(16).fill(9))
        const expected = new Uint8Array(16)
        expected.fill(9, 0, 2)
        expect(yield* torrent.readPiece(1, stale())).toEqual(expected)
        // A buffer of the wrong size is refused, not half-filled.
        const wrong = yield* Effect.flip(torrent.readPiece(1, new Uint8Array(15)))
        expect(wrong).toBeInstanceOf(StorageError)
      })
    ))

  it.effect("reports which files exist, with their sizes", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent)
        const torrent = yield* storage.open(multiTorrent, dir)
        const sizes = (files: ReadonlyArray<{ readonly size: number } | undefined>) => files.map((file) => file?.size)
        // Empty files are created on open; nothing else exists yet.
        expect(sizes(yield* torrent.existing)).toEqual([undefined, undefined, 0, undefined, undefined, undefined, 0])
        yield* torrent.writePiece(0, pieceOf(multiTorrent, bytes, 0))
        expect(sizes(yield* torrent.existing)).toEqual([10, 3, 0, 3, undefined, undefined, 0])
        yield* writeAll(multiTorrent, bytes)(torrent)
        const existing = yield* torrent.existing
        expect(sizes(existing)).toEqual([10, 3, 0, 5, undefined, 40, 0])
        expect(existing[5]?.fileIndex).toBe(5)
      })
    ))

  it.effect("parks skipped files' bytes in the part file and moves them out when the files are selected", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent)
        const sizes = (files: ReadonlyArray<{ readonly size: number } | undefined>) => files.map((file) => file?.size)
        const readsBack = (torrent: TorrentStorage) =>
          Effect.gen(function*() {
            for (let i = 0; i < multiTorrent.pieceCount; i++) {
              expect(yield* torrent.readPiece(i)).toEqual(pieceOf(multiTorrent, bytes, i))
            }
          })
        // b.bin, the first empty file and f.dat skipped: piece 0 touches a.txt, b.bin and c.bin.
        const skipped = [false, true, true, false, false, true, false]
        yield* Effect.scoped(Effect.gen(function*() {
          const torrent = yield* storage.open(multiTorrent, dir, { skipped })
          expect(sizes(yield* torrent.existing)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, 0])
          yield* writeAll(multiTorrent, bytes)(torrent)
          yield* torrent.flush
          yield* readsBack(torrent)
          const existing = sizes(yield* torrent.existing)
          // The wanted files are there; the skipped ones report the part file, which now exists.
          expect([existing[0], existing[3], existing[6]]).toEqual([10, 5, 0])
          expect(existing[1]).toBeGreaterThan(0)
          expect(existing[5]).toBe(existing[1])
        }))
        // A restart that now wants b.bin and the empty file: their bytes move out of the part file.
        const torrent = yield* storage.open(multiTorrent, dir, { skipped: [false, false, false, false, false, true, false] })
        const existing = sizes(yield* torrent.existing)
        expect(existing.slice(0, 4)).toEqual([10, 3, 0, 5])
        yield* readsBack(torrent)
        // Selected mid-run: f.dat is moved too, and with nothing parked the part file goes.
        yield* torrent.select(multiTorrent.files.map(() => false))
        expect(sizes(yield* torrent.existing)).toEqual([10, 3, 0, 5, undefined, 40, 0])
        yield* readsBack(torrent)
        // Skipping a file that exists leaves it where it is.
        yield* torrent.select([true, true, true, true, true, true, true])
        expect(sizes(yield* torrent.existing)).toEqual([10, 3, 0, 5, undefined, 40, 0])
        yield* readsBack(torrent)
      })
    ))

  it.effect("keeps data across a close and a reopen", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent)
        yield* Effect.scoped(Effect.flatMap(storage.open(multiTorrent, dir), writeAll(multiTorrent, bytes)))
        const torrent = yield* storage.open(multiTorrent, dir)
        expect(yield* torrent.read(2, 0, 16)).toEqual(bytes.subarray(32, 48))
      })
    ))

  it.effect("refuses blocks and pieces out of range", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const torrent = yield* storage.open(multiTorrent, dir)
        const errors = yield* Effect.all([
          Effect.flip(torrent.writePiece(0, new Uint8Array(15))),
          Effect.flip(torrent.writePiece(5, new Uint8Array(16))),
          Effect.flip(torrent.read(4, 4, 5)),
          Effect.flip(torrent.readPiece(-1))
        ])
        expect(errors.map((error) => error.reason)).toEqual(Array(4).fill("OutOfRange"))
        expect(errors[1]!.message).toBe("piece 5 of folder does not exist: it has 5 pieces")
      })
    ))

  it.effect("fails with Closed once its scope has closed", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const torrent = yield* Effect.scoped(storage.open(multiTorrent, dir))
        const errors = yield* Effect.all([
          Effect.flip(torrent.readPiece(0)),
          Effect.flip(torrent.writePiece(0, new Uint8Array(16))),
          Effect.flip(torrent.existing),
          Effect.flip(torrent.flush)
        ])
        expect(errors.map((error) => error.reason)).toEqual(Array(4).fill("Closed"))
      })
    ))

  it.effect("refuses a torrent whose file would land outside the folder", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const evil: TorrentInfo = {
          ...multiTorrent,
          files: [{ path: ["..", "..", "escape"], length: 72, offset: 0, padding: false }]
        }
        const error = yield* Effect.flip(storage.open(evil, dir))
        expect(error.reason).toBe("Unsafe")
        expect(error.path).toBe(join(dir, "..", "escape"))
      })
    ))
})

describe("file-system storage", () => {
  const run = <A, E>(body: (storage: Storage["Type"], dir: string) => Effect.Effect<A, E, Scope.Scope | Storage>) =>
    withStorage(() => nodeLayer, body)

  it.effect("puts each file's bytes at its path, with nested folders and empty files", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent)
        yield* Effect.scoped(Effect.flatMap(storage.open(multiTorrent, dir), writeAll(multiTorrent, bytes)))
        const root = join(dir, "folder")
        expect(new Uint8Array(readFileSync(join(root, "a.txt")))).toEqual(bytes.subarray(0, 10))
        expect(new Uint8Array(readFileSync(join(root, "sub", "deep", "b.bin")))).toEqual(bytes.subarray(10, 13))
        expect(new Uint8Array(readFileSync(join(root, "sub", "c.bin")))).toEqual(bytes.subarray(13, 18))
        expect(new Uint8Array(readFileSync(join(root, "d", "e", "f.dat")))).toEqual(bytes.subarray(32, 72))
        expect(lstatSync(join(root, "empty")).size).toBe(0)
        expect(lstatSync(join(root, "z", "empty2")).isFile()).toBe(true)
        expect(existsSync(join(root, ".pad"))).toBe(false)
      })
    ))

  it.effect("creates empty files on open, and does not truncate existing data", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        mkdirSync(join(dir, "folder", "d", "e"), { recursive: true })
        writeFileSync(join(dir, "folder", "d", "e", "f.dat"), "x".repeat(40))
        const torrent = yield* storage.open(multiTorrent, dir)
        expect(existsSync(join(dir, "folder", "z", "empty2"))).toBe(true)
        expect(existsSync(join(dir, "folder", "a.txt"))).toBe(false)
        expect(new TextDecoder().decode(yield* torrent.readPiece(4))).toBe("x".repeat(8))
      })
    ))

  it.effect("a read-only open creates nothing, reads what is there, and refuses to write", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const missing = join(dir, "nowhere")
        const absent = yield* storage.open(multiTorrent, missing, { readOnly: true })
        expect(yield* absent.readPiece(0)).toEqual(new Uint8Array(16))
        expect((yield* absent.existing).every((file) => file === undefined)).toBe(true)
        expect(existsSync(missing)).toBe(false)
        mkdirSync(join(dir, "folder", "d", "e"), { recursive: true })
        writeFileSync(join(dir, "folder", "d", "e", "f.dat"), "x".repeat(40))
        const present = yield* storage.open(multiTorrent, dir, { readOnly: true })
        expect(new TextDecoder().decode(yield* present.readPiece(4))).toBe("x".repeat(8))
        const error = yield* Effect.flip(present.writePiece(0, new Uint8Array(16)))
        expect(error.reason).toBe("Write")
        expect(existsSync(join(dir, "folder", "z", "empty2"))).toBe(false)
        expect(existsSync(join(dir, "folder", "a.txt"))).toBe(false)
      })
    ))

  it.effect("makes missing parent folders, and fails (rather than spins) where a folder cannot be made", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const deep = join(dir, "a", "b", "c")
        yield* storage.open(multiTorrent, deep)
        expect(existsSync(join(deep, "folder", "z", "empty2"))).toBe(true)
        // Node's recursive mkdir never returns here; ours says no.
        const error = yield* Effect.flip(storage.open(multiTorrent, "/proc/bt-storage-test"))
        expect(error.reason).toBe("Open")
        expect(error.message).toMatch(/\/proc\/bt-storage-test/)
      })
    ))

  it.effect("names the blocking path when a file stands where a folder should be", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        mkdirSync(join(dir, "folder"))
        writeFileSync(join(dir, "folder", "sub"), "in the way")
        const torrent = yield* storage.open(multiTorrent, dir)
        const error = yield* Effect.flip(torrent.writePiece(0, new Uint8Array(16)))
        expect(error).toBeInstanceOf(StorageError)
        expect(error.reason).toBe("Open")
        expect(error.path).toBe(join(dir, "folder", "sub"))
        expect(error.message).toBe(
          `cannot open ${join(dir, "folder", "sub")}: a file stands where a folder should be; move it out of the way`
        )
        // Reading through the same obstacle is missing data, not an error.
        expect(yield* torrent.read(0, 10, 3)).toEqual(new Uint8Array(3))
      })
    ))

  it.effect("fails to open when the download folder cannot be created", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        writeFileSync(join(dir, "file"), "")
        const error = yield* Effect.flip(storage.open(multiTorrent, join(dir, "file", "downloads")))
        expect(error.reason).toBe("Open")
        expect(error.path).toBe(join(dir, "file", "downloads"))
      })
    ))

  it.effect("does not follow a symbolic link out of the folder", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const outside = freshDir()
        mkdirSync(join(dir, "folder", "d", "e"), { recursive: true })
        symlinkSync(outside, join(dir, "folder", "sub"))
        symlinkSync(join(outside, "target"), join(dir, "folder", "d", "e", "f.dat"))
        const torrent = yield* storage.open(multiTorrent, dir)
        const viaFolder = yield* Effect.flip(torrent.writePiece(0, new Uint8Array(16)))
        expect([viaFolder.reason, viaFolder.path]).toEqual(["Unsafe", join(dir, "folder", "sub")])
        const viaFile = yield* Effect.flip(torrent.writePiece(2, new Uint8Array(16)))
        expect([viaFile.reason, viaFile.path]).toEqual(["Unsafe", join(dir, "folder", "d", "e", "f.dat")])
        expect(existsSync(join(outside, "deep"))).toBe(false)
        expect(existsSync(join(outside, "target"))).toBe(false)
      })
    ))

  it.effect("refuses two torrent files that are one file on disk", () =>
    run((storage, dir) =>
      Effect.gen(function*() {
        const torrent = makeTorrent({
          name: "pair",
          pieceLength: 16,
          files: [{ path: ["A"], length: 8 }, { path: ["b"], length: 8 }]
        })
        mkdirSync(join(dir, "pair"))
        writeFileSync(join(dir, "pair", "A"), "")
        linkSync(join(dir, "pair", "A"), join(dir, "pair", "b"))
        const storage2 = yield* storage.open(torrent, dir)
        const error = yield* Effect.flip(storage2.writePiece(0, new Uint8Array(16)))
        expect([error.reason, error.path]).toEqual(["Unsafe", join(dir, "pair", "b")])
      })
    ))

  it("turns system errors into one sentence naming the file", () => {
    const error = new StorageError({
      reason: "Write",
      path: "/x/y",
      detail: describeSystemError(Object.assign(new Error("ENOSPC: no space"), { code: "ENOSPC" }))
    })
    expect(error.message).toBe("cannot write /x/y: no space left on device; free some space and resume")
  })
})

describe("file-system storage with skipped files", () => {
  it.effect("creates no skipped file; keeps their boundary bytes in one hidden part file", () =>
    withStorage(() => nodeLayer, (storage, dir) =>
      Effect.gen(function*() {
        const bytes = contentFor(multiTorrent)
        const torrent = yield* storage.open(multiTorrent, dir, { skipped: [false, true, true, false, false, true, false] })
        yield* writeAll(multiTorrent, bytes)(torrent)
        yield* torrent.flush
        const folder = join(dir, multiTorrent.name)
        expect(existsSync(join(folder, "sub", "deep", "b.bin"))).toBe(false)
        expect(existsSync(join(folder, "empty"))).toBe(false)
        expect(existsSync(join(folder, "d", "e", "f.dat"))).toBe(false)
        expect(readFileSync(join(folder, "a.txt"))).toEqual(Buffer.from(bytes.subarray(0, 10)))
        const part = join(dir, `.${multiTorrent.infoHashHex}.parts`)
        expect(readFileSync(part).subarray(10, 13)).toEqual(Buffer.from(bytes.subarray(10, 13)))
        yield* torrent.select(multiTorrent.files.map(() => false))
        expect(readFileSync(join(folder, "sub", "deep", "b.bin"))).toEqual(Buffer.from(bytes.subarray(10, 13)))
        expect(readFileSync(join(folder, "d", "e", "f.dat"))).toEqual(Buffer.from(bytes.subarray(32, 72)))
        expect(existsSync(join(folder, "empty"))).toBe(true)
        expect(existsSync(part)).toBe(false)
      })))
})

describe("memory storage with skipped files", () => {
  it.effect("keeps skipped files' bytes only in the part file", () =>
    Effect.gen(function*() {
      const bytes = contentFor(multiTorrent)
      const memory = yield* MemoryStorage
      const torrent = yield* (yield* Storage).open(multiTorrent, "dl", { skipped: [false, true, false, false, false, false, false] })
      yield* writeAll(multiTorrent, bytes)(torrent)
      expect(memory.contents(multiTorrent.infoHashHex)!.subarray(10, 13)).toEqual(new Uint8Array(3))
      expect(memory.partFile(multiTorrent.infoHashHex)!.subarray(10, 13)).toEqual(bytes.subarray(10, 13))
      yield* torrent.select(multiTorrent.files.map(() => false))
      expect(memory.contents(multiTorrent.infoHashHex)!.subarray(10, 13)).toEqual(bytes.subarray(10, 13))
      expect(memory.partFile(multiTorrent.infoHashHex)).toBeUndefined()
    }).pipe(Effect.scoped, Effect.provide(layerMemory())))
})

describe("memory storage", () => {
  it.effect("starts from seeded contents and lets tests read back what was written", () =>
    Effect.gen(function*() {
      const seeded = contentFor(multiTorrent, 3)
      const other = makeTorrent({ name: "other", pieceLength: 16, files: 20 })
      const layer = layerMemory(new Map([[multiTorrent.infoHashHex, seeded]]))
      yield* Effect.gen(function*() {
        const storage = yield* Storage
        const memory = yield* MemoryStorage
        const torrent = yield* storage.open(multiTorrent, "/anywhere")
        expect(yield* torrent.readPiece(2)).toEqual(pieceOf(multiTorrent, seeded, 2))
        expect((yield* torrent.existing).map((file) => file?.size)).toEqual([10, 3, 0, 5, undefined, 40, 0])
        const written = yield* storage.open(other, "/anywhere")
        expect(memory.contents(other.infoHashHex)).toEqual(new Uint8Array(20))
        yield* written.writePiece(1, new Uint8Array(4).fill(5))
        expect(memory.contents(other.infoHashHex)?.subarray(16)).toEqual(new Uint8Array(4).fill(5))
        expect(memory.contents(multiTorrent.infoHashHex)).toEqual(seeded)
        expect(memory.contents("0".repeat(40))).toBeUndefined()
      }).pipe(Effect.scoped, Effect.provide(layer))
    }))
})
