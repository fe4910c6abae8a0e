/**
 * A torrent's progress tells its trackers' state and, when it is stuck, why: on the memory transport, with a
 * Tracker double.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Schedule, type Scope } from "effect"
import { decode, encode } from "../../src/bencode/index.js"
import { parseMagnet, parseTorrent } from "../../src/metainfo/index.js"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import type { Transport } from "../../src/peer/transport/Transport.js"
import { layerConfig, Session, type TorrentHandle } from "../../src/session/index.js"
import { layerMemory } from "../../src/storage/index.js"
import { layerTest as trackerTest, TrackerError } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import { makeSwarmTorrent } from "./fixtures.js"
import { startSeeder } from "./seederDouble.js"

const fixture = makeSwarmTorrent({ pieceLength: 32768, seed: 7, files: [{ path: ["a.bin"], length: 100_000 }] })
const DEAD = "udp://dead.example:6969/announce"
const EMPTY = "http://empty.example/announce"
const torrent = Either.getOrThrow(parseTorrent(encode({
  announce: DEAD,
  "announce-list": [[DEAD], [EMPTY]],
  // The fixture's own info dictionary, so its seeder double serves this torrent (same info-hash).
  info: Either.getOrThrow(decode(fixture.torrent.infoBytes))
})))

const Tracker = trackerTest({
  scrape: (url, hashes) =>
    url === EMPTY
      ? Effect.succeed(new Map([[Buffer.from(hashes[0]!).toString("hex"), { complete: 0, incomplete: 1, downloaded: 5 }]]))
      : Effect.fail(new TrackerError({ reason: "BadUrl", url, detail: "no scrape URL" })),
  announce: (url) =>
    url === DEAD
      ? Effect.fail(new TrackerError({ reason: "Timeout", url, detail: "no answer after 3 retransmissions" }))
      : Effect.succeed({
        interval: 1800,
        minInterval: undefined,
        peers: [],
        complete: 0,
        incomplete: 1,
        warning: undefined,
        trackerId: undefined
      })
})

const inSession = <A, E>(body: Effect.Effect<A, E, Session | Transport | Scope.Scope>) =>
  body.pipe(
    Effect.scoped,
    Effect.provide(
      layerConfig({
        encryption: "disable",
        tick: Duration.millis(50),
        chokedTimeout: Duration.minutes(5),
        stallSettling: Duration.millis(200)
      }).pipe(
        Layer.provideMerge(Layer.mergeAll(MemoryTransport.layerMemory, layerMemory(), Verifier.layer, Tracker))
      )
    )
  )

/** Polls the torrent's progress until `until` holds (bounded). */
const progressWhen = (handle: TorrentHandle, until: (p: Effect.Effect.Success<TorrentHandle["progress"]>) => boolean) =>
  handle.progress.pipe(
    Effect.filterOrFail(until, () => "not yet"),
    Effect.retry(Schedule.spaced(Duration.millis(20))),
    Effect.timeoutFail({ duration: Duration.seconds(3), onTimeout: () => new Error("progress never got there") })
  )

describe("a torrent's progress: trackers and why it is stuck", () => {
  it.live("lists every tracker with its state, and says no tracker gave peers", () =>
    inSession(Effect.gen(function*() {
      const session = yield* Session
      const handle = yield* session.add(torrent, { directory: "/downloads" })
      const progress = yield* progressWhen(handle, (p) => p.trackers.every((t) => t.state === "error" || t.state === "working"))
      expect(progress.trackers.map((t) => [t.url, t.tier, t.state, t.errorReason])).toEqual([
        [DEAD, 1, "error", "Timeout"],
        [EMPTY, 2, "working", undefined]
      ])
      expect(progress.trackers[1]).toMatchObject({ seeders: 0, leechers: 1, peers: 0 })
      // The scrape after the announce adds the swarm's completed count.
      const scrapedProgress = yield* progressWhen(handle, (p) => p.trackers[1]?.downloaded !== undefined)
      expect(scrapedProgress.trackers[1]!.downloaded).toBe(5)
      expect(progress.reason).toBe("no peers: 1 tracker gave 0 peers, 1 failed (timeout), DHT off")
    })))

  it.live("says a peer that has what we need keeps us choked", () =>
    inSession(Effect.gen(function*() {
      const seeder = yield* startSeeder({ ...fixture, chokeForever: true })
      const session = yield* Session
      const handle = yield* session.add(torrent, { directory: "/downloads", peers: [seeder.address], trackers: false })
      const progress = yield* progressWhen(handle, (p) => p.peers === 1 && p.reason !== undefined && !p.reason.startsWith("no peers"))
      expect(progress.trackers).toEqual([])
      expect(progress.reason).toBe("1 peer has what we need, and is choking us")
    })))

  it.live("a magnet link's metadata progress and then its torrent's progress list the magnet's trackers", () =>
    inSession(Effect.gen(function*() {
      const session = yield* Session
      const link = `magnet:?xt=urn:btih:${fixture.torrent.infoHashHex}&tr=${encodeURIComponent(DEAD)}&tr=${encodeURIComponent(EMPTY)}`
      const magnet = Either.getOrThrow(parseMagnet(link))
      const waiting = yield* session.addMagnet(magnet, { directory: "/downloads" })
      const fetching = yield* Effect.sync(() => waiting.metadataProgress()).pipe(
        Effect.filterOrFail((p) => p.trackers.every((t) => t.state === "error" || t.state === "working"), () => "not yet"),
        Effect.retry(Schedule.spaced(Duration.millis(20))),
        Effect.timeoutFail({ duration: Duration.seconds(3), onTimeout: () => new Error("the trackers never answered") })
      )
      expect(fetching.trackers.map((t) => [t.url, t.state])).toEqual([[DEAD, "error"], [EMPTY, "working"]])
      expect(fetching.reason).toBe("no peers: 1 tracker gave 0 peers, 1 failed (timeout), DHT off")

      // A peer with the metadata arrives: the torrent starts, and its progress shows the same trackers.
      const seeder = yield* startSeeder({ ...fixture, metadata: "honest" })
      const magnetWithPeer = Either.getOrThrow(parseMagnet(`${link}&x.pe=${seeder.address.host}:${seeder.address.port}`))
      const added = yield* session.addMagnet(magnetWithPeer, { directory: "/downloads2" })
      const handle = yield* added.torrent.pipe(Effect.timeout(Duration.seconds(3)))
      const progress = yield* handle.progress
      expect(progress.trackers.map((t) => t.url)).toEqual([DEAD, EMPTY])
    })))
})
