import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeMemoryFileSystem } from "../../src/client/index.js"
import { makeStateFiles, type SessionRecord, type TorrentRecord } from "../../src/client/ClientState.js"
import { FileSystem } from "@effect/platform/FileSystem"
import { defaultSessionSettings } from "../../src/client/settings.js"

const record = (id: number, hash: string): TorrentRecord => ({
  version: 1,
  id,
  hash,
  name: `t${id}`,
  magnet: `magnet:?xt=urn:btih:${hash}`,
  trackers: [["http://tracker.test/announce"]],
  downloadDir: "/downloads",
  peers: ["127.0.0.1:6881"],
  paused: id % 2 === 0,
  finished: false,
  queuePosition: id,
  addedDate: 1000 * id,
  doneDate: 0,
  activityDate: 0,
  downloadedEver: 123 * id,
  uploadedEver: 0,
  corruptEver: 0,
  secondsSeeding: 0,
  secondsDownloading: 0,
  settings: {
    downloadLimit: 0,
    downloadLimited: false,
    uploadLimit: 0,
    uploadLimited: false,
    honorsSessionLimits: true,
    seedRatioMode: "global",
    seedRatioLimit: 2,
    seedIdleMode: "global",
    seedIdleLimit: 30,
    peerLimit: 50,
    labels: ["x"],
    wanted: [true, false],
    priorities: [0, 1]
  }
})

const session: SessionRecord = {
  version: 1,
  nextId: 4,
  settings: { ...defaultSessionSettings("/downloads") },
  cumulative: { uploadedBytes: 1, downloadedBytes: 2, filesAdded: 3, secondsActive: 4, sessionCount: 5 },
  queue: [3, 1]
}

const hash = (digit: string) => digit.repeat(40)

describe("the Client's state folder", () => {
  it.effect("round-trips the session and every torrent; removing a torrent removes its file", () =>
    Effect.gen(function*() {
      const memory = makeMemoryFileSystem()
      const files = yield* makeStateFiles("/state").pipe(Effect.provideService(FileSystem, memory.fileSystem))
      yield* files.saveSession(session)
      yield* files.saveTorrent(record(1, hash("a")))
      yield* files.saveTorrent(record(3, hash("c")))
      yield* files.saveTorrent(record(2, hash("b")))
      yield* files.removeTorrent(hash("b"))
      yield* files.removeTorrent(hash("f"))
      const loaded = yield* files.load
      expect(loaded.session).toEqual(session)
      expect(loaded.torrents).toEqual([record(1, hash("a")), record(3, hash("c"))])
      expect(loaded.skipped).toEqual([])
      // Written through a temporary file, renamed over: none is left behind.
      expect([...memory.files.keys()].filter((path) => path.endsWith(".tmp"))).toEqual([])
    }))

  it.effect("skips, and names, a torn or foreign file; the others load", () =>
    Effect.gen(function*() {
      const memory = makeMemoryFileSystem()
      const files = yield* makeStateFiles("/state").pipe(Effect.provideService(FileSystem, memory.fileSystem))
      yield* files.saveTorrent(record(1, hash("a")))
      yield* files.saveTorrent(record(2, hash("b")))
      yield* files.saveTorrent(record(3, hash("c")))
      const text = (path: string) => new TextDecoder().decode(memory.files.get(path))
      const torn = text(`/state/torrents/${hash("a")}.json`)
      memory.files.set(`/state/torrents/${hash("a")}.json`, new TextEncoder().encode(torn.slice(0, torn.length / 2)))
      memory.files.set(`/state/torrents/${hash("b")}.json`, new TextEncoder().encode(JSON.stringify({ ...record(2, hash("b")), id: -1 })))
      // A copy under another torrent's name, and a leftover temporary file from a crash.
      memory.files.set(`/state/torrents/${hash("d")}.json`, memory.files.get(`/state/torrents/${hash("c")}.json`)!)
      memory.files.set(`/state/torrents/${hash("e")}.json.tmp`, new Uint8Array([1, 2]))
      memory.files.set("/state/client.json", new TextEncoder().encode("{"))
      const loaded = yield* files.load
      expect(loaded.torrents.map((t) => t.id)).toEqual([3])
      expect(loaded.session).toBeUndefined()
      expect(loaded.skipped.map((s) => s.file).sort()).toEqual([
        "/state/client.json",
        `/state/torrents/${hash("a")}.json`,
        `/state/torrents/${hash("b")}.json`,
        `/state/torrents/${hash("d")}.json`
      ])
      expect(loaded.skipped.find((s) => s.file.includes(hash("d")))!.problem).toBe("named for another torrent")
    }))

  it.effect("a fresh folder loads as empty", () =>
    Effect.gen(function*() {
      const memory = makeMemoryFileSystem()
      const files = yield* makeStateFiles("/state").pipe(Effect.provideService(FileSystem, memory.fileSystem))
      expect(yield* files.load).toEqual({ session: undefined, torrents: [], skipped: [] })
    }))
})
