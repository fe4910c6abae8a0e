/**
 * Disk faults through the Storage layer: a storage whose writes start failing ("no space left on device") part way
 * through a download. The torrent stops with that error; the pieces written before stay verified in the resume
 * state; and a second run, with the fault gone, fetches only the rest.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Schedule, type Scope } from "effect"
import type { TorrentInfo } from "../../src/metainfo/index.js"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import { Transport } from "../../src/peer/transport/Transport.js"
import { Bitfield } from "../../src/piece/index.js"
import { layerMemory as resumeMemory, ResumeStore } from "../../src/resume/index.js"
import { layerConfig, Session, type SessionConfig, TorrentError } from "../../src/session/index.js"
import { makeMemory, Storage, StorageError, type TorrentStorage } from "../../src/storage/index.js"
import { layerTest as trackerTest } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import { makeSwarmTorrent, pieceBytes } from "./fixtures.js"
import { piecesOf, startSeeder } from "./seederDouble.js"

/** 36 pieces of 32 KiB over three files. */
const fixture = makeSwarmTorrent({
  pieceLength: 32768,
  seed: 11,
  files: [
    { path: ["one.bin"], length: 400_000 },
    { path: ["sub", "two.bin"], length: 654_321 },
    { path: ["three.bin"], length: 123_457 }
  ]
})
const { torrent } = fixture
const allPieces = Array.from({ length: torrent.pieceCount }, (_, i) => i)
const sizeOf = (index: number) => pieceBytes(fixture, index).length

/** Where piece `index` starts, as a path: what a real disk error names. */
const fileOf = (info: TorrentInfo, directory: string, index: number): string => {
  const offset = index * info.pieceLength
  const file = info.files.find((f) => offset >= f.offset && offset < f.offset + f.length) ?? info.files[0]!
  return [directory, info.name, ...file.path].join("/")
}

/**
 * A storage that passes everything through to `inner`, except that after `fault.afterWrites` writes every further
 * write fails as a full disk would. `written` lists the pieces written, in order.
 */
const faultyStorage = (inner: Storage["Type"], fault: { afterWrites: number | undefined }) => {
  const written: Array<number> = []
  let attempts = 0
  const storage = Storage.of({
    open: (info, directory) =>
      Effect.map(inner.open(info, directory), (opened): TorrentStorage => ({
        ...opened,
        writePiece: (index, data) =>
          Effect.suspend(() => {
            if (fault.afterWrites !== undefined && attempts >= fault.afterWrites) {
              return new StorageError({
                reason: "Write",
                path: fileOf(info, directory, index),
                detail: "no space left on device; free some space and resume"
              })
            }
            attempts++
            return Effect.tap(opened.writePiece(index, data), () => Effect.sync(() => written.push(index)))
          })
      }))
  })
  return { storage, written }
}

const config: Partial<SessionConfig> = {
  // The doubles speak plaintext only (encrypted dialling and its fallback have tests of their own).
  encryption: "disable",
  handshakeTimeout: Duration.millis(500),
  requestTimeout: Duration.millis(500)
}

describe("a disk that fills up during a download", () => {
  it.live("stops the torrent with the disk's error, keeps what was written, and a second run fetches only the rest", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.makeMemory
      const memory = yield* makeMemory()
      const store = yield* Effect.provide(ResumeStore, resumeMemory)
      const fault: { afterWrites: number | undefined } = { afterWrites: 10 }
      const { storage, written } = faultyStorage(memory, fault)
      let hashed = 0
      const countingVerifier = Layer.effect(
        Verifier.Verifier,
        Effect.map(Verifier.Verifier, (real) => ({
          verify: (data: Uint8Array, expected: Verifier.Expected) =>
            Effect.tap(real.verify(data, expected), () => Effect.sync(() => hashed++))
        }))
      ).pipe(Layer.provide(Verifier.layer))
      const services = Layer.mergeAll(
        Layer.succeed(Transport, network),
        Layer.succeed(Storage, storage),
        Layer.succeed(ResumeStore, store),
        countingVerifier,
        trackerTest({})
      )
      /** One run of the client: a fresh session, stopped (and its resume state saved) when `body` ends. */
      const run = <A, E>(body: Effect.Effect<A, E, Session | Scope.Scope>) =>
        body.pipe(Effect.scoped, Effect.provide(layerConfig(config).pipe(Layer.provide(services))))
      const download = Effect.flatMap(Session, (session) =>
        session.add(torrent, { directory: "/downloads", peers: [seeder.address], trackers: false }))

      const seeder = yield* startSeeder(fixture).pipe(Effect.provide(Layer.succeed(Transport, network)))

      // First run: ten pieces are written, then the disk is full.
      const error = yield* run(Effect.gen(function*() {
        const handle = yield* download
        const failure = yield* handle.done.pipe(
          Effect.timeoutFail({ duration: Duration.seconds(5), onTimeout: () => new Error("the torrent did not stop") }),
          Effect.flip
        )
        // A write that was under way when another failed still lands and counts.
        yield* handle.progress.pipe(
          Effect.repeat({
            until: (progress) => progress.verifiedPieces === written.length,
            schedule: Schedule.spaced("10 millis")
          }),
          Effect.timeoutFail({ duration: Duration.seconds(1), onTimeout: () => new Error("written pieces not verified") })
        )
        return failure
      }))
      expect(error).toBeInstanceOf(TorrentError)
      expect(error.message).toMatch(
        /^cannot write \/downloads\/album\/.+: no space left on device; free some space and resume$/
      )
      expect(written).toHaveLength(10)

      // What the resume state holds: exactly the pieces written, and they are on "disk".
      const saved = yield* store.load(torrent.infoHashHex)
      expect(Option.isSome(saved)).toBe(true)
      const verified = Bitfield.fromBytes(Option.getOrThrow(saved).bitfield, torrent.pieceCount)
      expect(allPieces.filter((i) => verified.has(i))).toEqual([...written].sort((a, b) => a - b))
      const stored = memory.contents(torrent.infoHashHex)!
      for (const index of written) {
        const start = index * torrent.pieceLength
        expect(Buffer.from(stored.subarray(start, start + sizeOf(index))).equals(pieceBytes(fixture, index))).toBe(true)
      }

      // Second run, the disk has room again: the ten pieces are trusted without hashing and not fetched again.
      fault.afterWrites = undefined
      const firstRunConnections = seeder.log.connections
      const firstRunRequests = seeder.log.requests.length
      hashed = 0
      const downloaded = yield* run(Effect.gen(function*() {
        const handle = yield* download
        yield* handle.done.pipe(
          Effect.timeoutFail({ duration: Duration.seconds(5), onTimeout: () => new Error("the second run did not finish") })
        )
        return (yield* handle.progress).downloaded
      }))

      expect(Buffer.from(memory.contents(torrent.infoHashHex)!).equals(fixture.content)).toBe(true)
      const secondRun = seeder.log.requests.slice(firstRunRequests)
      expect(secondRun.every((request) => request.connection > firstRunConnections)).toBe(true)
      const missing = allPieces.filter((i) => !written.slice(0, 10).includes(i))
      expect([...piecesOf(secondRun)].sort((a, b) => a - b)).toEqual(missing)
      expect(downloaded).toBe(missing.reduce((sum, i) => sum + sizeOf(i), 0))
      // Only what was downloaded was hashed: the resume state spared a check of the rest.
      expect(hashed).toBe(missing.length)
    }).pipe(Effect.scoped))
})

describe("a file deleted during a download", () => {
  it.live("fails the torrent, naming the file, instead of claiming a complete download", () =>
    Effect.gen(function*() {
      const network = yield* MemoryTransport.makeMemory
      const memory = yield* makeMemory()
      // The disk as seen after someone deleted sub/two.bin: our writes went to the deleted file.
      const storage = Storage.of({
        open: (info, directory) =>
          Effect.map(memory.open(info, directory), (opened): TorrentStorage => ({
            ...opened,
            existing: Effect.map(opened.existing, (files) => files.map((file, i) => (i === 1 ? undefined : file)))
          }))
      })
      const seeder = yield* startSeeder(fixture).pipe(Effect.provide(Layer.succeed(Transport, network)))
      const services = Layer.mergeAll(
        Layer.succeed(Transport, network),
        Layer.succeed(Storage, storage),
        Verifier.layer,
        trackerTest({})
      )
      const error = yield* Effect.gen(function*() {
        const handle = yield* (yield* Session).add(torrent, { directory: "/downloads", peers: [seeder.address], trackers: false })
        return yield* handle.done.pipe(
          Effect.timeoutFail({ duration: Duration.seconds(5), onTimeout: () => new Error("the torrent did not stop") }),
          Effect.flip
        )
      }).pipe(Effect.scoped, Effect.provide(layerConfig(config).pipe(Layer.provide(services))))
      expect(error).toBeInstanceOf(TorrentError)
      expect(error.message).toBe("album/sub/two.bin disappeared or shrank during the download; run again to fetch it")
    }).pipe(Effect.scoped))
})
