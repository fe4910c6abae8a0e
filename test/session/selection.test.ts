import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule, type Scope } from "effect"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import type { Transport } from "../../src/peer/transport/Transport.js"
import {
  type FilePriority,
  layerConfig,
  matchFiles,
  piecePriorities,
  selectFiles,
  Session,
  type SessionConfig,
  type TorrentHandle
} from "../../src/session/index.js"
import { layerMemory, MemoryStorage } from "../../src/storage/index.js"
import { layerTest as trackerTest } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import { makeSwarmTorrent } from "./fixtures.js"
import { startSeeder } from "./seederDouble.js"

/** 36 pieces of 32 KiB over three files: pieces 0-11 in one.bin, 12 spans one and two, 13-31 two, 32 spans two and three. */
const fixture = makeSwarmTorrent({
  pieceLength: 32768,
  seed: 7,
  files: [
    { path: ["one.bin"], length: 400_000 },
    { path: ["sub", "two.mkv"], length: 654_321 },
    { path: ["three.bin"], length: 123_457 }
  ]
})
const { content, torrent } = fixture
const fileBytes = (index: number) => {
  const file = torrent.files[index]!
  return content.subarray(file.offset, file.offset + file.length)
}

/** Byte arrays equal (vitest's deep equality is slow on megabytes). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)

const config: Partial<SessionConfig> = {
  encryption: "disable",
  connectTimeout: Duration.seconds(1),
  requestTimeout: Duration.millis(500),
  reconnect: Schedule.spaced(Duration.millis(100)).pipe(Schedule.intersect(Schedule.recurs(3))),
  tick: Duration.millis(50)
}

const inSwarm = <A, E>(body: Effect.Effect<A, E, Session | Transport | MemoryStorage | Scope.Scope>) =>
  body.pipe(
    Effect.scoped,
    Effect.provide(layerConfig(config).pipe(Layer.provideMerge(Layer.mergeAll(
      MemoryTransport.layerMemory,
      layerMemory(),
      Verifier.layer,
      trackerTest({})
    ))))
  )

const seeder = () => startSeeder(fixture)

/** Guards against a hang; not a timing assertion. */
const finish = (handle: TorrentHandle) =>
  handle.done.pipe(Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => new Error("not done") }))

const waitFor = (what: string, condition: Effect.Effect<boolean>) =>
  condition.pipe(
    Effect.flatMap((ok) => (ok ? Effect.void : Effect.fail("not yet" as const))),
    Effect.retry(Schedule.spaced(Duration.millis(10))),
    Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => new Error(`timed out waiting until ${what}`) })
  )

describe("file selection helpers", () => {
  it("gives each piece the highest priority of the files it touches", () => {
    const pieces = piecePriorities(torrent, ["low", "skip", "high"])
    expect([...pieces.subarray(0, 13)]).toEqual(Array(13).fill(1))
    expect([...pieces.subarray(13, 32)]).toEqual(Array(19).fill(0))
    expect([...pieces.subarray(32)]).toEqual(Array(4).fill(3))
  })

  it("matches indices, ranges and globs, and says what is wrong with a bad spec", () => {
    expect(matchFiles(torrent, "0,2")).toEqual(new Set([0, 2]))
    expect(matchFiles(torrent, "1-2")).toEqual(new Set([1, 2]))
    expect(matchFiles(torrent, "*.mkv")).toEqual(new Set([1]))
    expect(matchFiles(torrent, "sub/*")).toEqual(new Set([1]))
    expect(matchFiles(torrent, "*.bin")).toEqual(new Set([0, 2]))
    expect(matchFiles(torrent, "3")).toMatch(/file 3 does not exist/)
    expect(matchFiles(torrent, "*.avi")).toMatch(/no file .* matches \*\.avi/)
    const all: ReadonlyArray<FilePriority> = ["normal", "normal", "normal"]
    expect(selectFiles(torrent, all, "*.bin", "2")).toMatch(/both in --only and in --exclude/)
    expect(selectFiles(torrent, all, undefined, "*.mkv")).toEqual(["normal", "skip", "normal"])
    expect(selectFiles(torrent, ["skip", "normal", "normal"], "0-1", undefined)).toEqual(["skip", "normal", "skip"])
  })
})

describe("file selection in a swarm on the memory transport", () => {
  it.live("fetches only the pieces of the wanted file, creates no skipped file, then fetches a file selected later", () =>
    inSwarm(Effect.gen(function*() {
      const honest = yield* seeder()
      const session = yield* Session
      const handle = yield* session.add(torrent, {
        directory: "/downloads",
        peers: [honest.address],
        trackers: false,
        files: () => ["skip", "normal", "skip"]
      })
      yield* finish(handle)
      const memory = yield* MemoryStorage
      const stored = () => memory.contents(torrent.infoHashHex)!
      const file = torrent.files[1]!
      expect(same(stored().subarray(file.offset, file.offset + file.length), fileBytes(1))).toBe(true)
      // Only pieces 12-32 (those two.mkv touches) were asked for; the skipped files' bytes are in the part file.
      expect(new Set(honest.log.requests.map((r) => r.index))).toEqual(new Set(Array.from({ length: 21 }, (_, i) => 12 + i)))
      expect(same(stored().subarray(0, torrent.files[0]!.length), new Uint8Array(torrent.files[0]!.length))).toBe(true)
      const part = memory.partFile(torrent.infoHashHex)!
      expect(same(part.subarray(12 * 32768, 400_000), content.subarray(12 * 32768, 400_000))).toBe(true)
      const progress = yield* handle.progress
      expect(progress.state).toBe("seeding")
      expect(progress.wantedVerified).toBe(progress.wantedLength)
      expect(progress.wantedLength).toBe(21 * 32768)

      // three.bin selected now: its bytes in piece 32 move out of the part file, the rest is fetched.
      yield* handle.setFiles(["skip", "normal", "high"])
      yield* waitFor("three.bin is verified", Effect.map(handle.progress, (p) => p.wantedVerified === p.wantedLength))
      const three = torrent.files[2]!
      expect(same(stored().subarray(three.offset), fileBytes(2))).toBe(true)
      expect(honest.log.requests.some((r) => r.index < 12)).toBe(false)
      expect(yield* handle.files).toEqual(["skip", "normal", "high"])
    })))

  it.live("a selection changed mid-download stops fetching the skipped file at once", () =>
    inSwarm(Effect.gen(function*() {
      // 2 MiB in 16 KiB pieces (one block each) before a small file, and a slow seeder: the change lands while
      // most of the big file is still to fetch.
      const big = makeSwarmTorrent({
        pieceLength: 16384,
        seed: 9,
        files: [{ path: ["big.bin"], length: 2 * 1024 * 1024 }, { path: ["small.bin"], length: 100_000 }]
      })
      const slow = yield* startSeeder({ ...big, delayMs: 5 })
      const session = yield* Session
      const handle = yield* session.add(big.torrent, {
        directory: "/downloads",
        peers: [slow.address],
        trackers: false
      })
      yield* waitFor("a piece is verified", Effect.map(handle.progress, (p) => p.verifiedPieces > 0))
      yield* handle.setFiles(["skip", "normal"])
      yield* finish(handle)
      const stored = (yield* MemoryStorage).contents(big.torrent.infoHashHex)!
      const small = big.torrent.files[1]!
      expect(same(stored.subarray(small.offset), big.content.subarray(small.offset))).toBe(true)
      // Of big.bin's 128 pieces only those asked for before the change (a pipeline's worth) were fetched.
      const bigPieces = new Set(slow.log.requests.map((r) => r.index).filter((index) => index < 128))
      expect(bigPieces.size).toBeLessThan(100)
      expect((yield* handle.progress).state).toBe("seeding")
    })))
})
