import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Ref, TestClock } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { encode } from "../../src/bencode/index.js"
import { parseTorrent, type TorrentInfo } from "../../src/metainfo/index.js"
import { Bitfield } from "../../src/piece/index.js"
import { layerMemory as resumeMemory, ResumeStore } from "../../src/resume/index.js"
import { restorePieces, saveResume } from "../../src/session/restore.js"
import { layer as nodeStorage, layerMemory as storageMemory, Storage } from "../../src/storage/index.js"
import { passes, Verifier } from "../../src/verifier/index.js"

const PIECE = 16384

/** Two files over five pieces: piece 2 spans both; real SHA-1 piece hashes. */
const content = randomBytes(5 * PIECE - 100)
const torrent: TorrentInfo = Either.getOrThrow(parseTorrent(encode({
  info: {
    name: "restore",
    "piece length": PIECE,
    pieces: Buffer.concat(
      Array.from({ length: 5 }, (_, i) => createHash("sha1").update(content.subarray(i * PIECE, (i + 1) * PIECE)).digest())
    ),
    files: [{ length: 2 * PIECE + 500, path: ["a.bin"] }, { length: content.length - (2 * PIECE + 500), path: ["b.bin"] }]
  }
})))
const piece = (i: number) => content.subarray(i * PIECE, (i + 1) * PIECE)

/** A Verifier that counts what it hashes. */
const countingVerifier = Effect.gen(function*() {
  const hashed = yield* Ref.make(0)
  const layer = Layer.succeed(Verifier, Verifier.of({
    verify: (data, expected) =>
      Effect.zipRight(
        Ref.update(hashed, (n) => n + 1),
        Effect.sync(() => passes(data, expected))
      )
  }))
  return { hashed, layer }
})

const restore = (store: Option.Option<ResumeStore["Type"]>) =>
  Effect.gen(function*() {
    const { hashed, layer } = yield* countingVerifier
    const storage = yield* (yield* Storage).open(torrent, "/downloads")
    const { have, upToDate } = yield* restorePieces(torrent, storage, store, () => {}).pipe(Effect.provide(layer))
    return {
      have: Array.from({ length: torrent.pieceCount }, (_, i) => have.has(i)),
      hashed: yield* Ref.get(hashed),
      upToDate
    }
  })

const write = (indexes: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const storage = yield* (yield* Storage).open(torrent, "/downloads")
    for (const i of indexes) yield* storage.writePiece(i, piece(i))
    return storage
  })

const save = (verified: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const storage = yield* (yield* Storage).open(torrent, "/downloads")
    const bits = new Bitfield(torrent.pieceCount)
    for (const i of verified) bits.set(i)
    yield* saveResume(torrent, storage, yield* ResumeStore, bits, ["127.0.0.1:6881"])
  })

const Layers = Layer.merge(storageMemory(), resumeMemory)

describe("restorePieces", () => {
  it.scoped("hashes nothing when no file has data", () =>
    Effect.gen(function*() {
      const result = yield* restore(Option.some(yield* ResumeStore))
      // No state saved: the next save has something to say even though nothing was hashed.
      expect(result).toEqual({ have: [false, false, false, false, false], hashed: 0, upToDate: false })
    }).pipe(Effect.provide(Layers)))

  it.scoped("without a state, hashes the pieces that have data and keeps the good ones", () =>
    Effect.gen(function*() {
      yield* write([0, 1, 4])
      const result = yield* restore(Option.none())
      expect(result.have).toEqual([true, true, false, false, true])
      // Piece 2 lies in a.bin, which has data; piece 3 lies only in b.bin, which has data (piece 4) too.
      expect(result.hashed).toBe(5)
      expect(result.upToDate).toBe(false)
    }).pipe(Effect.provide(Layers)))

  it.scoped("with a state matching the files, trusts it without hashing anything", () =>
    Effect.gen(function*() {
      yield* write([0, 1, 4])
      yield* save([0, 1, 4])
      const result = yield* restore(Option.some(yield* ResumeStore))
      // The state says it all: saving it again would write the same.
      expect(result).toEqual({ have: [true, true, false, false, true], hashed: 0, upToDate: true })
    }).pipe(Effect.provide(Layers)))

  it.scoped("hashes only the pieces touching a file written after the state was saved", () =>
    Effect.gen(function*() {
      yield* write([0, 4])
      yield* save([0, 4])
      yield* TestClock.adjust("1 second")
      // A crash after writing piece 3 (in b.bin) but before the next save.
      yield* write([3])
      const result = yield* restore(Option.some(yield* ResumeStore))
      expect(result.have).toEqual([true, false, false, true, true])
      // Pieces 2, 3 and 4 touch b.bin; 0 and 1 lie only in the unchanged a.bin.
      expect(result.hashed).toBe(3)
      expect(result.upToDate).toBe(false)
    }).pipe(Effect.provide(Layers)))

  it.scoped("never trusts a state for another layout", () =>
    Effect.gen(function*() {
      yield* write([0])
      const store = yield* ResumeStore
      yield* store.save({
        infoHash: torrent.infoHash,
        pieceCount: 4,
        bitfield: new Uint8Array([0xf0]),
        files: [undefined, undefined],
        peers: []
      })
      const result = yield* restore(Option.some(store))
      expect(result.have).toEqual([true, false, false, false, false])
      expect(result.hashed).toBe(3)
    }).pipe(Effect.provide(Layers)))
})

describe("restorePieces with a skipped file (on disk)", () => {
  const skipped = [true, false]
  const openSkipping = (dir: string) => Effect.flatMap(Storage, (s) => s.open(torrent, dir, { skipped }))
  const restoreIn = (dir: string) =>
    Effect.gen(function*() {
      const { hashed, layer } = yield* countingVerifier
      const storage = yield* openSkipping(dir)
      const { have } = yield* restorePieces(torrent, storage, Option.some(yield* ResumeStore), () => {}).pipe(
        Effect.provide(layer)
      )
      return { have: Array.from({ length: torrent.pieceCount }, (_, i) => have.has(i)), hashed: yield* Ref.get(hashed) }
    })

  it.scoped("trusts the state while the part file is unchanged, and hashes again the pieces it held once it is gone", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "bt-restore-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      // b.bin wanted: pieces 2 (shared with the skipped a.bin), 3 and 4 are fetched and verified.
      yield* Effect.scoped(Effect.gen(function*() {
        const storage = yield* openSkipping(dir)
        for (const i of [2, 3, 4]) yield* storage.writePiece(i, piece(i))
        const bits = new Bitfield(torrent.pieceCount)
        for (const i of [2, 3, 4]) bits.set(i)
        yield* saveResume(torrent, storage, yield* ResumeStore, bits, [])
      }))
      expect(existsSync(join(dir, "restore", "a.bin"))).toBe(false)
      // A restart neither fetches again nor hashes: the files and the part file are as recorded.
      expect(yield* Effect.scoped(restoreIn(dir))).toEqual({ have: [false, false, true, true, true], hashed: 0 })
      // The part file lost: piece 2's bytes in a.bin are missing, so it is not trusted (hashed, found wrong).
      rmSync(join(dir, `.${torrent.infoHashHex}.parts`))
      const after = yield* Effect.scoped(restoreIn(dir))
      expect(after.have).toEqual([false, false, false, true, true])
    }).pipe(Effect.provide(Layer.merge(nodeStorage, resumeMemory))))
})
