/**
 * `add`'s file choices number files as the Client lists them (BEP 47 padding files left out, as the RPC's `files`),
 * and a magnet's wait for its metadata: applied when it comes, across a restart too; `set`'s on a magnet without
 * its metadata wait with them (later choices win per file).
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Either, Layer } from "effect"
import fc from "fast-check"
import { createHash } from "node:crypto"
import { encode } from "../../src/bencode/index.js"
import * as Client from "../../src/client/index.js"
import { parseTorrent } from "../../src/metainfo/index.js"
import type { Endpoint } from "../../src/net/Datagram.js"
import type { TorrentRecord } from "../../src/client/ClientState.js"
import { defaultSessionSettings, initialTorrentSettings, mergePending, withFilesKnown } from "../../src/client/settings.js"
import { ResumeStore } from "../../src/resume/index.js"
import { MemoryStorage, Storage } from "../../src/storage/index.js"
import { randomBytes } from "../session/fixtures.js"
import { startSeeder } from "../session/seederDouble.js"
import { clientOver, eventually, world } from "./fixtures.js"

// a.bin (pieces 0 to 2), a padding file up to piece 3, b.bin (pieces 3 and 4): the torrent's files 0, 1 and 2, listed
// as 0 (a.bin) and 1 (b.bin).
const pieceLength = 16384
const a = randomBytes(40_000, 7)
const b = randomBytes(30_000, 8)
const content = Buffer.concat([a, Buffer.alloc(3 * pieceLength - 40_000), b])
const padded = Either.getOrThrow(parseTorrent(encode({
  info: {
    name: "padded",
    "piece length": pieceLength,
    pieces: Buffer.concat(Array.from({ length: Math.ceil(content.length / pieceLength) }, (_, i) =>
      createHash("sha1").update(content.subarray(i * pieceLength, (i + 1) * pieceLength)).digest())),
    files: [
      { length: 40_000, path: ["a.bin"] },
      { attr: "p", length: 3 * pieceLength - 40_000, path: [".pad", String(3 * pieceLength - 40_000)] },
      { length: 30_000, path: ["b.bin"] }
    ]
  }
})))
const link = `magnet:?xt=urn:btih:${padded.infoHashHex}&tr=${encodeURIComponent("http://tracker.test/announce")}`
// b.bin unwanted, a.bin high.
const choices = { filesUnwanted: [1], priorityHigh: [0] }

const snapshotOf = (ref: Client.TorrentRef) => Effect.flatMap(Client.Client, (client) => client.get(ref))
const chosen = (ref: Client.TorrentRef) =>
  Effect.map(snapshotOf(ref), (t) => t.files.map((f) => [f.index, f.name, f.wanted, f.priority]))
const LISTED_CHOSEN = [[0, "padded/a.bin", true, 1], [2, "padded/b.bin", false, 0]]

/** A memory world with one seeder of the padded torrent that also serves its metadata. */
const swarm = Effect.gen(function*() {
  let seeders: ReadonlyArray<Endpoint> = []
  const services = yield* Layer.build(world(() => seeders))
  const seeder = yield* startSeeder({ torrent: padded, content, metadata: "honest" }).pipe(Effect.provide(services))
  const stored = () => Context.get(services, MemoryStorage).contents(padded.infoHashHex)
  return { services, seeder, stored, open: () => (seeders = [seeder.address]) }
})

/** Waits for the torrent to finish a.bin alone, chosen as `choices` say, with nothing of b.bin asked for. */
const aBinAlone = (
  id: Client.TorrentRef,
  seeder: { readonly log: { readonly requests: ReadonlyArray<{ readonly index: number }> } },
  stored: () => Uint8Array | undefined
) =>
  Effect.gen(function*() {
    yield* eventually("a.bin is done", Effect.map(snapshotOf(id), (t) => t.status === "seeding"))
    expect(yield* chosen(id)).toEqual(LISTED_CHOSEN)
    expect(Buffer.from(stored()!.subarray(0, 40_000)).equals(a)).toBe(true)
    // Nothing of b.bin (pieces 3 and 4) was asked for.
    expect(seeder.log.requests.length).toBeGreaterThan(0)
    expect(seeder.log.requests.every((r) => r.index < 3)).toBe(true)
  })

/** The magnet added with the choices by a Client that then stops, before any metadata could come: its id. */
const addedAlone = (fileSystem: FileSystem.FileSystem, services: Context.Context<Layer.Layer.Success<ReturnType<typeof world>>>) =>
  Effect.flatMap(Client.Client, (client) => client.add(Client.AddSource.magnet(link), choices)).pipe(
    Effect.map((added) => added.id),
    Effect.provide(clientOver(fileSystem)),
    Effect.provide(services),
    Effect.scoped
  )

describe("add's file choices", () => {
  it.scopedLive("a magnet's apply once its metadata comes, numbered as its files are listed", () =>
    Effect.gen(function*() {
      const { open, seeder, services, stored } = yield* swarm
      open()
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.magnet(link), choices)
        yield* aBinAlone(id, seeder, stored)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("a magnet added stopped keeps them while it fetches its metadata alone", () =>
    Effect.gen(function*() {
      const { open, services } = yield* swarm
      open()
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.magnet(link), { ...choices, paused: true })
        yield* eventually("the metadata, then stopped", Effect.map(snapshotOf(id), (t) => t.totalSize > 0 && t.status === "stopped"))
        expect(yield* chosen(id)).toEqual(LISTED_CHOSEN)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("a magnet's are kept across a restart until its metadata comes", () =>
    Effect.gen(function*() {
      const { open, seeder, services } = yield* swarm
      const fileSystem = Client.makeMemoryFileSystem().fileSystem
      // No peer yet: the metadata cannot come before the Client stops.
      const id = yield* addedAlone(fileSystem, services)
      open()
      yield* Effect.gen(function*() {
        yield* eventually("a.bin is done", Effect.map(snapshotOf(id), (t) => t.status === "seeding"))
        expect(yield* chosen(id)).toEqual(LISTED_CHOSEN)
        expect(seeder.log.requests.every((r) => r.index < 3)).toBe(true)
      }).pipe(Effect.provide(clientOver(fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("a magnet whose metadata was saved but not its record (a crash between): applied when it loads", () =>
    Effect.gen(function*() {
      const { services } = yield* swarm
      const fileSystem = Client.makeMemoryFileSystem().fileSystem
      const id = yield* addedAlone(fileSystem, services)
      // The metadata in the resume store, the record still waiting for it; no peer to fetch anything from.
      yield* Context.get(services, ResumeStore).saveMetadata(padded.infoHashHex, padded.infoBytes)
      yield* Effect.gen(function*() {
        yield* Effect.flatMap(Client.Client, (client) => client.stop([id]))
        expect(yield* chosen(id)).toEqual(LISTED_CHOSEN)
      }).pipe(Effect.provide(clientOver(fileSystem)), Effect.provide(services))
    }))

  it.scoped("a .torrent's are numbered the same way", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      const bytes = Buffer.concat([Buffer.from("d4:info"), padded.infoBytes, Buffer.from("e")])
      const { id } = yield* client.add(Client.AddSource.metainfo(bytes), { ...choices, paused: true })
      expect(yield* chosen(id)).toEqual(LISTED_CHOSEN)
    }).pipe(Effect.provide(Client.layerTest())))

  it.scoped("set's on a .torrent are numbered the same way", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      const bytes = Buffer.concat([Buffer.from("d4:info"), padded.infoBytes, Buffer.from("e")])
      const { id } = yield* client.add(Client.AddSource.metainfo(bytes), { paused: true })
      yield* client.set([id], choices)
      expect(yield* chosen(id)).toEqual(LISTED_CHOSEN)
    }).pipe(Effect.provide(Client.layerTest())))
})

/** The magnet added bare, then `sets` applied, by a Client that then stops before any metadata could come: its id. */
const setAlone = (
  fileSystem: FileSystem.FileSystem,
  services: Context.Context<Layer.Layer.Success<ReturnType<typeof world>>>,
  sets: ReadonlyArray<Client.TorrentSettingsPatch>
) =>
  Effect.gen(function*() {
    const client = yield* Client.Client
    const { id } = yield* client.add(Client.AddSource.magnet(link))
    for (const patch of sets) yield* client.set([id], patch)
    // Before the metadata there are no files to list (as Transmission: empty lists).
    expect((yield* client.get(id)).files).toEqual([])
    return id
  }).pipe(Effect.provide(clientOver(fileSystem)), Effect.provide(services), Effect.scoped)

describe("set's file choices on a magnet without its metadata", () => {
  it.scopedLive("wait for the metadata and apply when it comes, in a running Client", () =>
    Effect.gen(function*() {
      const { open, seeder, services, stored } = yield* swarm
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.magnet(link))
        yield* client.set([id], { ...choices, downloadLimit: 1000 })
        const before = yield* client.get(id)
        expect(before.files).toEqual([])
        expect(before.totalSize).toBe(0)
        open()
        yield* aBinAlone(id, seeder, stored)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("set while the session takes the metadata (its files read, its storage opening): applied at once", () =>
    Effect.gen(function*() {
      const { open, seeder, services, stored } = yield* swarm
      const opening = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      const storage = Context.get(services, Storage)
      const held = Context.add(services, Storage, Storage.of({
        open: (...args) => Deferred.succeed(opening, undefined).pipe(Effect.zipRight(Deferred.await(proceed)), Effect.zipRight(storage.open(...args)))
      }))
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.magnet(link))
        open()
        yield* Deferred.await(opening)
        yield* client.set([id], choices)
        yield* Deferred.succeed(proceed, undefined)
        yield* aBinAlone(id, seeder, stored)
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(held))
    }))

  it.scopedLive("set twice: the later choice wins per file, over add's too, across a restart", () =>
    Effect.gen(function*() {
      const { open, seeder, services } = yield* swarm
      const fileSystem = Client.makeMemoryFileSystem().fileSystem
      // a.bin unwanted and b.bin wanted high, then a.bin wanted high and b.bin unwanted (and a place past the list).
      const id = yield* setAlone(fileSystem, services, [
        { filesUnwanted: [0], filesWanted: [1], priorityHigh: [1] },
        { filesWanted: [0], filesUnwanted: [1, 5], priorityHigh: [0], priorityNormal: [1] }
      ])
      open()
      yield* Effect.gen(function*() {
        yield* eventually("a.bin is done", Effect.map(snapshotOf(id), (t) => t.status === "seeding"))
        expect(yield* chosen(id)).toEqual(LISTED_CHOSEN)
        expect(seeder.log.requests.length).toBeGreaterThan(0)
        expect(seeder.log.requests.every((r) => r.index < 3)).toBe(true)
      }).pipe(Effect.provide(clientOver(fileSystem)), Effect.provide(services))
    }))

  it.scopedLive("every file unwanted, then one wanted: only that one (added stopped, metadata fetched alone)", () =>
    Effect.gen(function*() {
      const { open, services } = yield* swarm
      open()
      yield* Effect.gen(function*() {
        const client = yield* Client.Client
        const { id } = yield* client.add(Client.AddSource.magnet(link), { paused: true, priorityLow: [] })
        yield* client.set([id], { filesUnwanted: [] })
        yield* client.set([id], { filesWanted: [1], priorityHigh: [1] })
        yield* eventually("the metadata, then stopped", Effect.map(snapshotOf(id), (t) => t.totalSize > 0 && t.status === "stopped"))
        expect(yield* chosen(id)).toEqual([[0, "padded/a.bin", false, -1], [2, "padded/b.bin", true, 1]])
      }).pipe(Effect.provide(clientOver(Client.makeMemoryFileSystem().fileSystem)), Effect.provide(services))
    }))

  it("merged, they choose as the same choices applied one after another", () => {
    const settings = initialTorrentSettings(defaultSessionSettings("/d"), 0, {})
    const places = fc.option(fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 4 }), { nil: undefined })
    const choice = fc.record({
      filesWanted: places,
      filesUnwanted: places,
      priorityHigh: places,
      priorityNormal: places,
      priorityLow: places
    }).map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as Client.FileChoices)
    const known = (pendingFiles: TorrentRecord["pendingFiles"], padding: ReadonlyArray<boolean>) =>
      withFilesKnown({ settings, pendingFiles } as TorrentRecord, padding.map((p) => ({ padding: p }))).settings
    fc.assert(
      fc.property(fc.array(choice, { minLength: 1, maxLength: 5 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }), (sets, padding) => {
        const merged = sets.reduce<ReadonlyArray<Client.FileChoices> | undefined>(
          (pending, later) => mergePending(pending, later),
          undefined
        )!
        expect(merged.length).toBeLessThanOrEqual(2)
        expect(known(merged, padding)).toEqual(known(sets, padding))
      }),
      { numRuns: 500 }
    )
  })
})
