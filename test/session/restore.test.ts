import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Ref, TestClock } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { encode } from "../../src/bencode/index.js"
import { Merkle, parseMetadata, parseTorrent, pieceCheck, pieceSize, type TorrentInfo } from "../../src/metainfo/index.js"
import { Bitfield } from "../../src/piece/index.js"
import { decodeResume, encodeResume, layerMemory as resumeMemory, ResumeStore } from "../../src/resume/index.js"
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

describe("piece layers kept with the resume state (a v2 magnet)", () => {
  /** A v2 file of 5 pieces of 32 KiB: its piece layer, as peers would send it. */
  const V2_PIECE = 32_768
  const data = randomBytes(4 * V2_PIECE + 1_000)
  const root = Merkle.fileRoot(Merkle.blockHashes(data))
  const pieceLayer = Buffer.concat(
    Array.from({ length: 5 }, (_, i) => Merkle.pieceRoot(data.subarray(i * V2_PIECE, (i + 1) * V2_PIECE), V2_PIECE))
  )
  const infoBytes = encode({
    name: "v2.bin", "piece length": V2_PIECE, "meta version": 2,
    "file tree": { "v2.bin": { "": { length: data.length, "pieces root": root } } }
  })
  /** Piece `i` as storage takes it (the last one as long as the torrent says, zero-filled past the file). */
  const pieceOf = (t: TorrentInfo, i: number) => {
    const out = new Uint8Array(pieceSize(t, i))
    out.set(data.subarray(i * V2_PIECE, Math.min(data.length, i * V2_PIECE + out.length)))
    return out
  }
  /** As a magnet link yields it: the info dictionary alone, no piece layers. */
  const fromMagnet = () => Either.getOrThrow(parseMetadata(infoBytes, { trackers: [], source: "test" }))

  const saveAndRestore = (layer: Uint8Array) =>
    Effect.gen(function*() {
      const first = fromMagnet()
      const storage = yield* (yield* Storage).open(first, "/downloads")
      for (let i = 0; i < 5; i++) yield* storage.writePiece(i, pieceOf(first, i))
      const bits = new Bitfield(5)
      for (let i = 0; i < 5; i++) bits.set(i)
      // One entry per file of the torrent: the v2 file, and the padding after it (none).
      yield* saveResume(first, storage, yield* ResumeStore, bits, [], [layer, undefined])
      // A restart: the torrent again from its metadata, without layers.
      const again = fromMagnet()
      yield* TestClock.adjust("1 second")
      yield* storage.writePiece(0, pieceOf(first, 0))
      const { hashed, layer: verifier } = yield* countingVerifier
      const { have } = yield* restorePieces(again, storage, Option.some(yield* ResumeStore), () => {}).pipe(
        Effect.provide(verifier)
      )
      return { again, have: have.count, hashed: yield* Ref.get(hashed) }
    })

  it.scoped("a restart takes the saved layer (checked against the root) and can check pieces with it at once", () =>
    Effect.gen(function*() {
      const { again, have, hashed } = yield* saveAndRestore(pieceLayer)
      expect(Buffer.from(again.v2!.pieceLayers[0]!).equals(pieceLayer)).toBe(true)
      expect(pieceCheck(again, 3).sha256).toBeDefined()
      // The file changed since the save (piece 0 rewritten): every piece hashed, and every one passes.
      expect({ have, hashed }).toEqual({ have: 5, hashed: 5 })
    }).pipe(Effect.provide(Layers)))

  it.scoped("a corrupt saved layer is dropped: fetched from peers again, and no piece passes without it", () =>
    Effect.gen(function*() {
      const corrupt = Uint8Array.from(pieceLayer)
      corrupt[40] = corrupt[40]! ^ 1
      const { again, have } = yield* saveAndRestore(corrupt)
      expect(again.v2!.pieceLayers[0]).toBeUndefined()
      expect(pieceCheck(again, 3).sha256).toBeUndefined()
      expect(have).toBe(0)
    }).pipe(Effect.provide(Layers)))

  it("the resume file round-trips the layers, and refuses layers that are not strings", () => {
    const state = {
      infoHash: new Uint8Array(20), pieceCount: 5, bitfield: new Uint8Array(1), files: [undefined], peers: [],
      pieceLayers: [pieceLayer, undefined]
    }
    const back = Either.getOrThrow(decodeResume(encodeResume(state)))
    expect(back.pieceLayers).toEqual([Uint8Array.from(pieceLayer), undefined])
    const bad = encode({ version: 1, "info-hash": new Uint8Array(20), pieces: 5, bitfield: new Uint8Array(1), files: [], peers: [], "piece-layers": [1] })
    expect(decodeResume(bad)).toEqual(Either.left("bad piece layers"))
  })
})
