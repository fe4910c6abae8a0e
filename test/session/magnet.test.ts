import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Schedule, type Scope } from "effect"
import * as Dht from "../../src/dht/Dht.js"
import { type MagnetLink, parseMagnet } from "../../src/metainfo/index.js"
import * as MemoryDatagram from "../../src/net/MemoryDatagram.js"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import type { Transport } from "../../src/peer/transport/Transport.js"
import { layerConfig, Session, type SessionConfig } from "../../src/session/index.js"
import * as ResumeStore from "../../src/resume/index.js"
import { layerMemory, MemoryStorage } from "../../src/storage/index.js"
import { layerTest as trackerTest } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import { MAX_METADATA_SIZE, METADATA_PIECE_SIZE } from "../../src/wire/index.js"
import { makeSwarmTorrent } from "./fixtures.js"
import { type SeederOptions, startSeeder } from "./seederDouble.js"

/** 1,200 pieces of 1 KiB: an info dictionary of about 24 KiB, two metadata pieces. */
const fixture = makeSwarmTorrent({ pieceLength: 1024, seed: 7, files: [{ path: ["data.bin"], length: 1_228_000 }] })
const { torrent } = fixture

const fastConfig: Partial<SessionConfig> = {
  // The doubles speak plaintext only (encrypted dialling and its fallback have tests of their own).
  encryption: "disable",
  connectTimeout: Duration.seconds(1),
  handshakeTimeout: Duration.millis(500),
  requestTimeout: Duration.millis(300),
  reconnect: Schedule.spaced(Duration.millis(100)).pipe(Schedule.intersect(Schedule.recurs(3))),
  tick: Duration.millis(50)
}

type Env = Session | Transport | MemoryStorage | Scope.Scope

const inSwarm = <A, E>(body: Effect.Effect<A, E, Env>) =>
  body.pipe(
    Effect.scoped,
    Effect.provide(layerConfig(fastConfig).pipe(Layer.provideMerge(Layer.mergeAll(
      MemoryTransport.layerMemory,
      layerMemory(),
      Verifier.layer,
      trackerTest({})
    ))))
  )

const seeder = (options: Omit<SeederOptions, "torrent" | "content">) => startSeeder({ ...fixture, ...options })

const magnet: MagnetLink = Either.getOrThrow(parseMagnet(`magnet:?xt=urn:btih:${torrent.infoHashHex}&dn=data.bin`))

const within = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string, duration = Duration.seconds(5)) =>
  effect.pipe(Effect.timeoutFail({ duration, onTimeout: () => new Error(`${what} took too long`) }))

describe("a magnet link on the memory transport", () => {
  it("is fixture-sized as meant: its metadata spans two pieces", () => {
    expect(Math.ceil(torrent.infoBytes.length / METADATA_PIECE_SIZE)).toBe(2)
  })

  it.live("fetches the metadata from peers that have it, verifies it, then downloads the torrent", () =>
    inSwarm(Effect.gen(function*() {
      const one = yield* seeder({ metadata: "honest" })
      const two = yield* seeder({ metadata: "honest" })
      const session = yield* Session
      const added = yield* session.addMagnet(magnet, {
        directory: "/downloads",
        peers: [one.address, two.address],
        trackers: false
      })
      const handle = yield* within(added.torrent, "the metadata")
      expect(Buffer.from(handle.torrent.infoBytes).equals(torrent.infoBytes)).toBe(true)
      expect(handle.torrent.name).toBe(torrent.name)
      yield* within(handle.done, "the download")
      const stored = (yield* MemoryStorage).contents(torrent.infoHashHex)
      expect(Buffer.from(stored!).equals(fixture.content)).toBe(true)
      // Each piece of metadata was asked for once, from one of them.
      expect([...one.log.metadataRequests, ...two.log.metadataRequests].sort()).toEqual([0, 1])
      expect([...one.log.errors, ...two.log.errors]).toEqual([])
    })))

  it.live("gets it from the honest peer past one serving corrupt metadata (banned) and one stating a huge size", () =>
    inSwarm(Effect.gen(function*() {
      const liar = yield* seeder({ metadata: "corrupt" })
      const huge = yield* seeder({ metadata: { statedSize: MAX_METADATA_SIZE + 1 } })
      const honest = yield* seeder({ metadata: "honest" })
      const session = yield* Session
      const added = yield* session.addMagnet(magnet, {
        directory: "/downloads",
        peers: [liar.address, huge.address, honest.address],
        trackers: false
      })
      const handle = yield* within(added.torrent, "the metadata")
      yield* within(handle.done, "the download")
      expect(huge.log.metadataRequests).toEqual([])
      // Whatever mix it got first, the liar ends up convicted and its connection closed by us.
      if (liar.log.metadataRequests.length > 0) {
        expect(liar.log.closes.some((close) => close.by === "client")).toBe(true)
      }
      expect(Buffer.from((yield* MemoryStorage).contents(torrent.infoHashHex)!).equals(fixture.content)).toBe(true)
    })))

  it.live("never takes metadata that does not hash to the info-hash", () =>
    inSwarm(Effect.gen(function*() {
      const liar = yield* seeder({ metadata: "corrupt" })
      const session = yield* Session
      const added = yield* session.addMagnet(magnet, { directory: "/downloads", peers: [liar.address], trackers: false })
      const outcome = yield* added.torrent.pipe(Effect.timeout(Duration.seconds(1)), Effect.either)
      expect(Either.isLeft(outcome)).toBe(true)
      expect([...liar.log.metadataRequests].sort()).toEqual([0, 1])
      // Convicted: its connection closed, and it is not dialled again.
      expect(liar.log.connections).toBe(1)
      expect(liar.log.open).toBe(0)
      expect(added.metadataProgress().peers).toBe(0)
    })))

  it.live("does not ask a peer for metadata it does not offer", () =>
    inSwarm(Effect.gen(function*() {
      const plain = yield* seeder({})
      const honest = yield* seeder({ metadata: "honest" })
      const session = yield* Session
      const added = yield* session.addMagnet(magnet, {
        directory: "/downloads",
        peers: [plain.address, honest.address],
        trackers: false
      })
      const handle = yield* within(added.torrent, "the metadata")
      yield* within(handle.done, "the download")
      expect(plain.log.errors).toEqual([])
    })))
})

describe("a magnet link's metadata across runs", () => {
  it.live("is saved with the resume state, so the next run needs no peer that has it", () =>
    Effect.gen(function*() {
      const session = yield* Session
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const honest = yield* seeder({ metadata: "honest" })
        const added = yield* session.addMagnet(magnet, { directory: "/downloads", peers: [honest.address], trackers: false })
        yield* within(Effect.flatMap(added.torrent, (handle) => handle.done), "the first run")
        return added.savedMetadata
      }))
      expect(first).toBe(false)
      yield* Effect.scoped(Effect.gen(function*() {
        // It speaks no BEP 10: without the saved metadata this run could not start.
        const plain = yield* seeder({})
        const added = yield* session.addMagnet(magnet, { directory: "/downloads", peers: [plain.address], trackers: false })
        expect(added.savedMetadata).toBe(true)
        const handle = yield* within(added.torrent, "the second run's start")
        expect(Buffer.from(handle.torrent.infoBytes).equals(torrent.infoBytes)).toBe(true)
      }))
    }).pipe(
      Effect.provide(layerConfig(fastConfig).pipe(Layer.provideMerge(Layer.mergeAll(
        MemoryTransport.layerMemory,
        layerMemory(),
        Verifier.layer,
        trackerTest({}),
        ResumeStore.layerMemory
      ))))
    ))
})

describe("a magnet link and the DHT", () => {
  /** Lookups the session's DHT node has run, sampled after `ms` of real time. */
  const lookupsAfter = (dht: Dht.Dht["Type"], ms: number) =>
    Effect.zipRight(Effect.sleep(Duration.millis(ms)), Effect.map(dht.stats, (stats) => stats.lookups))

  const withDht = (privateTorrent: boolean) =>
    Effect.gen(function*() {
      const own = makeSwarmTorrent({
        pieceLength: 16384,
        seed: 9,
        files: [{ path: ["p.bin"], length: 100_000 }],
        private: privateTorrent
      })
      const honest = yield* startSeeder({ ...own, metadata: "honest" })
      const session = yield* Session
      const dht = yield* Dht.Dht
      const link = Either.getOrThrow(parseMagnet(`magnet:?xt=urn:btih:${own.torrent.infoHashHex}`))
      const added = yield* session.addMagnet(link, { directory: "/downloads", peers: [honest.address], trackers: false })
      yield* within(added.torrent, "the metadata")
      const atStart = yield* lookupsAfter(dht, 100)
      return (yield* lookupsAfter(dht, 400)) - atStart
    }).pipe(
      Effect.scoped,
      Effect.provide(
        layerConfig({ ...fastConfig, dhtAnnounce: Schedule.spaced(Duration.millis(50)) }).pipe(
          Layer.provideMerge(Layer.mergeAll(
            MemoryTransport.layerMemory,
            layerMemory(),
            Verifier.layer,
            trackerTest({}),
            Dht.layerConfig({ port: 6881 }).pipe(Layer.provide(MemoryDatagram.layerMemory), Layer.orDie)
          ))
        )
      )
    )

  it.live("goes on looking for a public torrent's peers on the DHT, and stops for a private one (BEP 27)", () =>
    Effect.gen(function*() {
      expect(yield* withDht(false)).toBeGreaterThan(0)
      expect(yield* withDht(true)).toBe(0)
    }))
})
