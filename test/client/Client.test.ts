import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Stream } from "effect"
import * as Client from "../../src/client/index.js"
import type { Endpoint } from "../../src/net/Datagram.js"
import { MemoryStorage } from "../../src/storage/index.js"
import { makeSwarmTorrent } from "../session/fixtures.js"
import { startSeeder } from "../session/seederDouble.js"
import * as Tracker from "../../src/tracker/index.js"
import { clientOver, eventually, makeTorrent, world } from "./fixtures.js"

const one = makeTorrent("one", 300_000, 32768, 1)
const two = makeTorrent("two", 200_000, 16384, 2)

const snapshotOf = (ref: Client.TorrentRef) => Effect.flatMap(Client.Client, (client) => client.get(ref))

describe("Client", () => {
  it.scoped("adds by bytes, answers a duplicate with the same torrent, lists, stops, starts and removes", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      const added = yield* client.add(Client.AddSource.metainfo(one.bytes), { paused: true, labels: ["a"] })
      expect(added).toEqual({ id: 1, hashString: one.torrent.infoHashHex, name: "one", duplicate: false })
      const again = yield* client.add(Client.AddSource.metainfo(one.bytes))
      expect(again).toEqual({ ...added, duplicate: true })
      const second = yield* client.add(Client.AddSource.magnet(`magnet:?xt=urn:btih:${two.torrent.infoHashHex}&dn=two`))
      expect(second.id).toBe(2)

      const listed = yield* client.list()
      expect(listed.torrents.map((t) => [t.id, t.name, t.status, t.queuePosition])).toEqual([
        [1, "one", "stopped", 0],
        [2, "two", "downloading", 1]
      ])
      expect(listed.torrents[0]!.settings.labels).toEqual(["a"])
      expect(listed.torrents[0]!.totalSize).toBe(300_000)
      expect(listed.torrents[1]!.metadataPercentComplete).toBe(0)

      yield* client.set([1], { trackerAdd: ["udp://other.test:80"], trackerRemove: [0] })
      expect((yield* snapshotOf(1)).trackers.map((t) => [t.id, t.announce, t.tier])).toEqual([[0, "udp://other.test:80", 0]])
      const badUrl = yield* Effect.flip(client.set([1], { trackerAdd: ["file:///etc/passwd"] }))
      expect(badUrl.reason).toBe("InvalidArgument")

      yield* client.start([1])
      expect((yield* snapshotOf(one.torrent.infoHashHex.toUpperCase())).status).not.toBe("stopped")
      yield* client.stop("all")
      expect((yield* client.list()).torrents.map((t) => t.status)).toEqual(["stopped", "stopped"])

      yield* client.remove([2])
      expect((yield* client.list()).torrents.map((t) => t.id)).toEqual([1])
      expect((yield* client.list("recently-active")).removed).toEqual([2])
      const missing = yield* Effect.flip(client.get(2))
      expect(missing.reason).toBe("NotFound")
    }).pipe(Effect.provide(Client.layerTest())))

  it.scoped("refuses what is not a torrent, with a clear error", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      const bad = yield* Effect.flip(client.add(Client.AddSource.metainfo(new TextEncoder().encode("nonsense"))))
      expect(bad.reason).toBe("InvalidTorrent")
      const link = yield* Effect.flip(client.add(Client.AddSource.fromFilename("magnet:?xt=urn:btih:zz")))
      expect(link.reason).toBe("InvalidTorrent")
      const file = yield* Effect.flip(client.add(Client.AddSource.fromFilename("/nowhere/x.torrent")))
      expect(file.reason).toBe("Storage")
      const negative = yield* Effect.flip(client.setSession({ downloadQueueSize: -1 }))
      expect(negative.reason).toBe("InvalidArgument")
      // Data goes only in the allowed folders.
      const { id } = yield* client.add(Client.AddSource.metainfo(one.bytes), { paused: true, downloadDir: "/downloads/music" })
      const outside = yield* Effect.flip(client.setLocation([id], "/etc", true))
      expect(outside.message).toBe("/etc is outside the folders data may go in")
      const sneaky = yield* Effect.flip(client.add(Client.AddSource.metainfo(two.bytes), { downloadDir: "/downloads/../root" }))
      expect(sneaky.reason).toBe("InvalidArgument")
      expect((yield* Effect.flip(client.setSession({ downloadDir: "/" }))).reason).toBe("InvalidArgument")
      expect((yield* snapshotOf(id)).downloadDir).toBe("/downloads/music")
    }).pipe(Effect.provide(Client.layerTest({ allowedFolders: ["/downloads"] }))))

  it.scoped("queues downloads past the download queue size, and start-now passes the queue", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      yield* client.setSession({ downloadQueueSize: 1 })
      yield* client.add(Client.AddSource.metainfo(one.bytes))
      yield* client.add(Client.AddSource.metainfo(two.bytes))
      const states = Effect.map(client.list(), (listed) => listed.torrents.map((t) => t.status === "download-wait" ? "wait" : "run"))
      expect(yield* states).toEqual(["run", "wait"])
      yield* client.queueMove([2], "top")
      expect((yield* client.list()).torrents.map((t) => t.id)).toEqual([2, 1])
      // Moving ahead does not push a running torrent out.
      expect(yield* states).toEqual(["wait", "run"])
      yield* client.startNow([2])
      expect(yield* states).toEqual(["run", "run"])
    }).pipe(Effect.provide(Client.layerTest())))

  it.scopedLive("downloads from a swarm, emits events, and keeps ids, progress and stopped torrents across restarts", () =>
    Effect.gen(function*() {
      let seeders: ReadonlyArray<Endpoint> = []
      const memory = Client.makeMemoryFileSystem()
      const services = yield* Layer.build(world(() => seeders))
      const seederOne = yield* startSeeder({ torrent: one.torrent, content: one.content }).pipe(Effect.provide(services))
      seeders = [seederOne.address]

      const firstRun = Effect.gen(function*() {
        const client = yield* Client.Client
        const seen: Array<Client.ClientEvent> = []
        yield* client.events.pipe(Stream.runForEach((event) => Effect.sync(() => seen.push(event))), Effect.forkScoped)
        yield* Effect.sleep("20 millis")
        const a = yield* client.add(Client.AddSource.metainfo(one.bytes))
        const b = yield* client.add(Client.AddSource.metainfo(two.bytes), { paused: true })
        yield* eventually("the download", Effect.map(snapshotOf(a.id), (t) => {
          return t.status === "seeding"
        }))
        const done = yield* snapshotOf(a.id)
        expect(done.percentDone).toBe(1)
        expect(done.haveValid).toBe(300_000)
        expect(done.downloadedEver).toBeGreaterThanOrEqual(300_000)
        expect(done.doneDate).toBeGreaterThan(0)
        expect(done.files.map((f) => [f.name, f.bytesCompleted])).toEqual([["one/data.bin", 300_000]])
        const tags = seen.filter((event) => event.id === a.id).map((event) => event._tag)
        expect(tags.slice(0, 2)).toEqual(["Added", "StatusChanged"])
        expect(tags).toContain("Progress")
        expect(tags).toContain("Completed")
        return [a.id, b.id] as const
      }).pipe(Effect.provide(clientOver(memory.fileSystem)))
      const [idA, idB] = yield* firstRun.pipe(Effect.provide(services))
      const servedBefore = seederOne.log.served.length
      expect([...memory.files.keys()].sort()).toEqual([
        "/state/client.json",
        `/state/torrents/${one.torrent.infoHashHex}.json`,
        `/state/torrents/${two.torrent.infoHashHex}.json`
      ])

      const secondRun = Effect.gen(function*() {
        const client = yield* Client.Client
        const listed = yield* client.list()
        expect(listed.torrents.map((t) => [t.id, t.hashString])).toEqual([
          [idA, one.torrent.infoHashHex],
          [idB, two.torrent.infoHashHex]
        ])
        expect(listed.torrents[1]!.status).toBe("stopped")
        yield* eventually("seeding again", Effect.map(snapshotOf(idA), (t) => t.status === "seeding"))
        const back = yield* snapshotOf(idA)
        expect(back.downloadedEver).toBeGreaterThanOrEqual(300_000)
        expect(back.haveValid).toBe(300_000)
        // A new torrent after the restart gets a new id, never a reused one.
        yield* client.remove([idB])
        const c = yield* client.add(Client.AddSource.metainfo(two.bytes), { paused: true })
        expect(c.id).toBe(3)
      }).pipe(Effect.provide(clientOver(memory.fileSystem)))
      yield* secondRun.pipe(Effect.provide(services))
      // Nothing verified was fetched again.
      expect(seederOne.log.served.length).toBe(servedBefore)
    }))

  it.scopedLive("fetches only the wanted files, and a file wanted later at once (files-unwanted / files-wanted)", () =>
    Effect.gen(function*() {
      // Two files; piece 6 holds the end of a.bin and the start of b.bin.
      const album = makeSwarmTorrent({
        pieceLength: 16384,
        seed: 5,
        files: [{ path: ["a.bin"], length: 100_000 }, { path: ["b.bin"], length: 150_000 }]
      })
      const bytes = Buffer.concat([
        Buffer.from("d8:announce28:http://tracker.test/announce4:info"),
        album.torrent.infoBytes,
        Buffer.from("e")
      ])
      let seeders: ReadonlyArray<Endpoint> = []
      const services = yield* Layer.build(world(() => seeders))
      const seeder = yield* startSeeder(album).pipe(Effect.provide(services))
      seeders = [seeder.address]
      const stored = () => Context.get(services, MemoryStorage).contents(album.torrent.infoHashHex)!
      const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b)
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.metainfo(bytes), { filesUnwanted: [0] })
        yield* eventually("b.bin is done", Effect.map(snapshotOf(id), (t) => t.status === "seeding"))
        // Done means done with what is wanted: the pieces b.bin touches (6 to 15, the last one short).
        const done = yield* snapshotOf(id)
        expect([done.sizeWhenDone, done.leftUntilDone, done.percentDone]).toEqual([9 * 16384 + (250_000 - 15 * 16384), 0, 1])
        expect(same(stored().subarray(100_000), album.content.subarray(100_000))).toBe(true)
        // Of a.bin only what shares piece 6 with b.bin came, kept apart: nothing of it is in its file.
        expect(same(stored().subarray(0, 100_000), new Uint8Array(100_000))).toBe(true)
        expect(new Set(seeder.log.requests.map((r) => r.index)).has(0)).toBe(false)
        yield* client.set([id], { filesWanted: [0] })
        yield* eventually("a.bin is done too", Effect.map(snapshotOf(id), (t) => t.haveValid === 250_000))
        expect(same(stored(), album.content)).toBe(true)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("a magnet link added stopped fetches its metadata and no data, stops, and fetches the files chosen once started", () =>
    Effect.gen(function*() {
      const album = makeSwarmTorrent({
        pieceLength: 16384,
        seed: 6,
        files: [{ path: ["a.bin"], length: 100_000 }, { path: ["b.bin"], length: 150_000 }]
      })
      let seeders: ReadonlyArray<Endpoint> = []
      const services = yield* Layer.build(world(() => seeders))
      const seeder = yield* startSeeder({ ...album, metadata: "honest" }).pipe(Effect.provide(services))
      seeders = [seeder.address]
      const stored = () => Context.get(services, MemoryStorage).contents(album.torrent.infoHashHex)
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const link = `magnet:?xt=urn:btih:${album.torrent.infoHashHex}&tr=${encodeURIComponent("http://tracker.test/announce")}`
        const { id } = yield* client.add(Client.AddSource.magnet(link), { paused: true })
        yield* eventually("the metadata, then stopped", Effect.map(snapshotOf(id), (t) => t.totalSize === 250_000 && t.status === "stopped"))
        expect(seeder.log.requests).toEqual([])
        expect((yield* snapshotOf(id)).files.map((f) => [f.name, f.wanted])).toEqual([["album/a.bin", true], ["album/b.bin", true]])
        yield* client.set([id], { filesUnwanted: [1] })
        yield* client.start([id])
        yield* eventually("a.bin is done", Effect.map(snapshotOf(id), (t) => t.status === "seeding"))
        expect(Buffer.from(stored()!.subarray(0, 100_000)).equals(album.content.subarray(0, 100_000))).toBe(true)
        expect([...new Set(seeder.log.requests.map((r) => r.index))].every((piece) => piece <= 6)).toBe(true)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("holds a torrent to its download limit, and lets it finish once the limit is lifted", () =>
    Effect.gen(function*() {
      let seeders: ReadonlyArray<Endpoint> = []
      const services = yield* Layer.build(world(() => seeders))
      const seeder = yield* startSeeder({ torrent: one.torrent, content: one.content }).pipe(Effect.provide(services))
      seeders = [seeder.address]
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.metainfo(one.bytes), { paused: true })
        yield* client.set([id], { downloadLimit: 64 * 1024, downloadLimited: true })
        yield* client.start([id])
        yield* Effect.sleep("1 second")
        // 64 KiB/s for a second, its burst and a block or two: far from the 300,000 bytes.
        expect((yield* snapshotOf(id)).haveValid).toBeLessThan(150_000)
        yield* eventually(
          "the limit named",
          Effect.map(snapshotOf(id), (t) => t.stalledReason === "held to the download limit of 64 KiB/s"),
          Duration.seconds(3)
        )
        yield* client.set([id], { downloadLimited: false })
        yield* eventually("the download", Effect.map(snapshotOf(id), (t) => t.status === "seeding"))
        expect((yield* snapshotOf(id)).secondsDownloading).toBeGreaterThanOrEqual(1)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("verifies a stopped torrent's data and leaves it stopped; moves its data", () =>
    Effect.gen(function*() {
      const half = Uint8Array.from(one.content)
      half.fill(0, 150_000)
      const services = yield* Layer.build(world(() => [], new Map([[one.torrent.infoHashHex, half]])))
      const memory = Client.makeMemoryFileSystem()
      memory.files.set("/downloads/one/data.bin", new Uint8Array(3))
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.metainfo(one.bytes), { paused: true })
        expect((yield* snapshotOf(id)).haveValid).toBe(0)
        yield* client.verify([id])
        // Pieces 0 to 3 (of 32 KiB) lie wholly in the first 150,000 bytes.
        yield* eventually("checked", Effect.map(snapshotOf(id), (t) => t.status === "stopped" && t.haveValid > 0))
        expect((yield* snapshotOf(id)).haveValid).toBe(4 * 32768)

        yield* client.setLocation([id], "/elsewhere", true)
        expect((yield* snapshotOf(id)).downloadDir).toBe("/elsewhere")
        expect([...memory.files.keys()].filter((path) => path.includes("data.bin"))).toEqual(["/elsewhere/one/data.bin"])
      }).pipe(Effect.provide(clientOver(memory.fileSystem)), Effect.provide(services))
    }))

  /** Runs `f` with a Client seeding `two` (its data present, no peers). */
  const withSeed = <E>(f: (client: Client.Client["Type"], id: number) => Effect.Effect<void, E, Client.Client>) =>
    Effect.gen(function*() {
      const services = yield* Layer.build(world(() => [], new Map([[two.torrent.infoHashHex, two.content]])))
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.metainfo(two.bytes))
        yield* eventually("seeding", Effect.map(snapshotOf(id), (t) => t.status === "seeding"))
        yield* f(client, id)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    })

  it.scopedLive("stops a seed that reached its seed ratio, as finished", () =>
    withSeed((client, id) =>
      Effect.gen(function*() {
        yield* client.set([id], { seedRatioMode: "single", seedRatioLimit: 0.5 })
        yield* Effect.sleep("300 millis")
        expect((yield* snapshotOf(id)).status).toBe("seeding")
        yield* client.set([id], { seedRatioLimit: 0 })
        yield* eventually("finished", Effect.map(snapshotOf(id), (t) => t.status === "stopped" && t.isFinished))
      })))

  it.scopedLive("stops a seed idle past its own or the session's seed-idle limit, as finished (a quiet seed too)", () =>
    withSeed((client, id) =>
      Effect.gen(function*() {
        // Its own limit, an hour: not reached. The session's, switched on at 0 minutes, does not apply to it yet.
        yield* client.set([id], { seedIdleMode: "single", seedIdleLimit: 60 })
        yield* client.setSession({ idleSeedingLimitEnabled: true, idleSeedingLimit: 0 })
        yield* Effect.sleep("300 millis")
        expect((yield* snapshotOf(id)).status).toBe("seeding")
        // Following the session's: it has been idle 0 minutes or more, so it stops, finished, without waiting for
        // the 30-s visit a quiet seed otherwise gets.
        yield* client.set([id], { seedIdleMode: "global" })
        yield* eventually("finished", Effect.map(snapshotOf(id), (t) => t.status === "stopped" && t.isFinished))
      })))

  it.scopedLive("reports each tracker's last announce, and announces again when asked", () =>
    Effect.gen(function*() {
      let announces = 0
      const services = yield* Layer.build(world(() => {
        announces++
        return []
      }))
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.metainfo(one.bytes))
        yield* eventually("announced, the next announce set", Effect.map(snapshotOf(id), (t) =>
          t.trackers[0]?.lastAnnounceSucceeded === true && t.trackers[0].nextAnnounceTime > t.trackers[0].lastAnnounceTime))
        const tracker = (yield* snapshotOf(id)).trackers[0]!
        expect(tracker.announce).toBe("http://tracker.test/announce")
        expect(tracker.lastAnnounceResult).toBe("Success")
        // The tracker's 1 s interval is raised to our 30 s floor: only asking brings the next announce now.
        // (The next time is set a moment after the answer is noted: at least the floor, far below the next one.)
        expect(tracker.nextAnnounceTime - tracker.lastAnnounceTime).toBeGreaterThanOrEqual(30_000)
        expect(tracker.nextAnnounceTime - tracker.lastAnnounceTime).toBeLessThan(60_000)
        const before = announces
        yield* client.reannounce([id])
        yield* eventually("announced again", Effect.sync(() => announces > before))
        // A stopped torrent keeps its trackers' last status (no next announce while stopped).
        yield* client.stop([id])
        const kept = (yield* snapshotOf(id)).trackers[0]!
        expect([kept.lastAnnounceSucceeded, kept.lastAnnounceResult, kept.nextAnnounceTime]).toEqual([true, "Success", 0])
        expect(kept.lastAnnounceTime).toBeGreaterThanOrEqual(tracker.lastAnnounceTime)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("stops its torrents in parallel at shutdown, each telling its tracker", () =>
    Effect.gen(function*() {
      let stopped = 0
      const slowStops = Tracker.layerTest({
        announce: (_url, request) =>
          Effect.as(
            request.event === "stopped" ? Effect.sleep("400 millis").pipe(Effect.tap(() => Effect.sync(() => stopped++))) : Effect.void,
            { interval: 1800, minInterval: undefined, peers: [], complete: undefined, incomplete: undefined, warning: undefined, trackerId: undefined }
          )
      })
      const services = yield* Layer.build(Layer.merge(world(() => []), slowStops))
      const torrents = Array.from({ length: 10 }, (_, i) => makeTorrent(`t${i}`, 20_000, 16384, 100 + i))
      const started = yield* Effect.gen(function*() {
        const client = yield* Client.Client
        yield* client.setSession({ downloadQueueEnabled: false })
        for (const torrent of torrents) yield* client.add(Client.AddSource.metainfo(torrent.bytes))
        yield* eventually("announced", Effect.map(client.list("all", { trackers: true }), ({ torrents }) =>
          torrents.every((t) => t.trackers[0]?.lastAnnounceSucceeded === true)))
        // Stopping one stops it now: its tracker hears `stopped` before `stop` returns.
        const { torrents: listed } = yield* client.list()
        yield* client.stop([listed[0]!.id])
        expect(stopped).toBe(1)
        return Date.now()
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
      expect(stopped).toBe(10)
      // Nine stops of 400 ms each, one after another, would take 3.6 s.
      expect(Date.now() - started).toBeLessThan(2000)
    }))

  it.scoped("skips a corrupt torrent file in the state folder, reports it, and loads the others", () =>
    Effect.gen(function*() {
      const memory = Client.makeMemoryFileSystem()
      const services = yield* Layer.build(world(() => []))
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        yield* client.add(Client.AddSource.metainfo(one.bytes), { paused: true })
        yield* client.add(Client.AddSource.metainfo(two.bytes), { paused: true })
      }).pipe(Effect.provide(clientOver(memory.fileSystem)), Effect.provide(services))
      memory.files.set(`/state/torrents/${one.torrent.infoHashHex}.json`, new TextEncoder().encode("{\"version\": 1, \"id"))
      const ids = yield* Effect.flatMap(Client.Client, (client) => client.list()).pipe(
        Effect.map((listed) => listed.torrents.map((t) => t.id)),
        Effect.provide(clientOver(memory.fileSystem)),
        Effect.provide(services)
      )
      expect(ids).toEqual([2])
    }))

  it.scoped("removes with its data: only the torrent's own files", () =>
    Effect.gen(function*() {
      const memory = Client.makeMemoryFileSystem()
      memory.files.set("/downloads/one/data.bin", new Uint8Array(10))
      memory.files.set("/downloads/one/keep.txt", new Uint8Array(1))
      memory.files.set("/downloads/other.bin", new Uint8Array(1))
      const services = yield* Layer.build(world(() => []))
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const added = yield* client.add(Client.AddSource.metainfo(one.bytes), { paused: true })
        yield* client.remove([added.id], { deleteData: true })
      }).pipe(Effect.provide(clientOver(memory.fileSystem)), Effect.provide(services))
      expect([...memory.files.keys()].filter((path) => path.startsWith("/downloads")).sort()).toEqual([
        "/downloads/one/keep.txt",
        "/downloads/other.bin"
      ])
      expect(yield* Effect.map(MemoryStorage, () => true).pipe(Effect.provide(services))).toBe(true)
    }))
  it.scoped("renames a file and the torrent's folder, on disk and in its state, and keeps them across a restart", () =>
    Effect.gen(function*() {
      const memory = Client.makeMemoryFileSystem()
      memory.files.set("/downloads/one/data.bin", new Uint8Array(10))
      const services = yield* Layer.build(world(() => []))
      const names = (ref: Client.TorrentRef) => Effect.map(snapshotOf(ref), (t) => [t.name, ...t.files.map((f) => f.name)])
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.metainfo(one.bytes), { paused: true })
        expect(yield* client.renamePath(id, "one/data.bin", "renamed.bin")).toEqual({ id, path: "one/data.bin", name: "renamed.bin" })
        expect(yield* client.renamePath(one.torrent.infoHashHex, "one", "uno")).toEqual({ id, path: "one", name: "uno" })
        expect(yield* names(id)).toEqual(["uno", "uno/renamed.bin"])
        const refused = yield* Effect.all([
          client.renamePath(id, "uno/renamed.bin", "../escape"),
          client.renamePath(id, "uno/renamed.bin", "a/b"),
          client.renamePath(id, "uno/../renamed.bin", "x"),
          client.renamePath(id, "uno/missing.bin", "x"),
          client.renamePath(id, "one/renamed.bin", "x"),
          client.renamePath(id, "uno/renamed.bin", "")
        ].map(Effect.flip))
        expect(refused.map((error) => error.reason)).toEqual(Array(6).fill("InvalidArgument"))
        expect((yield* Effect.flip(client.renamePath(9, "one", "x"))).reason).toBe("NotFound")
      }).pipe(Effect.provide(clientOver(memory.fileSystem)), Effect.provide(services))
      expect([...memory.files.keys()].filter((path) => path.startsWith("/downloads"))).toEqual(["/downloads/uno/renamed.bin"])
      const after = yield* names(1).pipe(Effect.provide(clientOver(memory.fileSystem)), Effect.provide(services))
      expect(after).toEqual(["uno", "uno/renamed.bin"])
    }))

  it.scoped("refuses a rename onto a name the torrent or the disk has already", () =>
    Effect.gen(function*() {
      const memory = Client.makeMemoryFileSystem()
      yield* memory.fileSystem.writeFile("/downloads/one/data.bin", new Uint8Array(10))
      yield* memory.fileSystem.writeFile("/downloads/taken", new Uint8Array(1))
      const services = yield* Layer.build(world(() => []))
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.metainfo(one.bytes), { paused: true })
        const onDisk = yield* Effect.flip(client.renamePath(id, "one", "taken"))
        expect(onDisk.message).toBe("cannot rename /downloads/one: /downloads/taken exists")
        expect((yield* snapshotOf(id)).name).toBe("one")
      }).pipe(Effect.provide(clientOver(memory.fileSystem)), Effect.provide(services))
      expect(memory.files.has("/downloads/one/data.bin")).toBe(true)
    }))
})
