import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule } from "effect"
import type { TorrentInfo } from "../../src/metainfo/index.js"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import { layerConfig, Session, type TorrentHandle } from "../../src/session/index.js"
import { layerMemory, MemoryStorage } from "../../src/storage/index.js"
import { layerTest as trackerTest } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import * as WebSeed from "../../src/webseed/index.js"
import { makeSwarmTorrent } from "../session/fixtures.js"
import { startSeeder } from "../session/seederDouble.js"
import { type Handler, hugeBody, memoryWeb } from "./memoryWeb.js"

/** 36 pieces of 32 KiB over three files (pieces 12 and 32 span two files). */
const fixture = makeSwarmTorrent({
  pieceLength: 32768,
  seed: 7,
  files: [
    { path: ["one.bin"], length: 400_000 },
    { path: ["sub dir", "two.bin"], length: 654_321 },
    { path: ["three.bin"], length: 123_457 }
  ]
})

/** The fixture's torrent with `url-list` set. */
const withUrls = (urls: ReadonlyArray<string>): TorrentInfo => ({ ...fixture.torrent, urlList: urls })

/** Each file's bytes at its URL under `base` (BEP 19 multi-file layout). */
const served = (base: string, corrupt = false): Array<[string, Uint8Array]> =>
  fixture.torrent.files.map((file, i) => {
    const bytes = Uint8Array.from(fixture.content.subarray(file.offset, file.offset + file.length))
    if (corrupt) for (let at = 0; at < bytes.length; at += 4096) bytes[at] = bytes[at]! ^ 0xff
    return [WebSeed.fileUrl(new URL(base), fixture.torrent, i), bytes]
  })

const download = (
  urls: ReadonlyArray<string>,
  files: Map<string, Uint8Array>,
  handler?: Handler,
  /** Also download from a seeder double on the memory network. */
  withPeer = false
) => {
  const web = memoryWeb(files, handler)
  const layers = layerConfig({ port: 0, listenHosts: ["memory"], encryption: "disable", tick: Duration.millis(50) }).pipe(
    Layer.provideMerge(Layer.mergeAll(
      MemoryTransport.layerMemory,
      layerMemory(),
      Verifier.layer,
      trackerTest({}),
      WebSeed.layerConfig({
        rangeBytes: 128 * 1024,
        inFlight: 2,
        retry: Schedule.spaced(Duration.millis(50))
      }).pipe(Layer.provide(web.layer))
    ))
  )
  return Effect.gen(function*() {
    const session = yield* Session
    const peers = withPeer ? [(yield* startSeeder(fixture)).address] : []
    const handle = yield* session.add(withUrls(urls), { directory: "/downloads", trackers: false, dht: false, peers })
    yield* finish(handle)
    const progress = yield* handle.progress
    const stored = (yield* MemoryStorage).contents(fixture.torrent.infoHashHex)
    return { progress, stored, seen: web.seen }
  }).pipe(Effect.scoped, Effect.provide(layers))
}

const finish = (handle: TorrentHandle) =>
  handle.done.pipe(Effect.timeoutFail({ duration: Duration.seconds(20), onTimeout: () => new Error("the download did not finish") }))

const same = (stored: Uint8Array | undefined) => stored !== undefined && Buffer.compare(stored, fixture.content) === 0

describe("downloading from web seeds", () => {
  it.live("a multi-file torrent from its web seed alone, in ranges of several pieces cut at file boundaries", () =>
    Effect.gen(function*() {
      const base = "http://seed.test/files/"
      const { progress, seen, stored } = yield* download([base], new Map(served(base)))
      expect(same(stored)).toBe(true)
      expect(progress.peers).toBe(0)
      expect(progress.webSeeds).toMatchObject([{ url: base, downloaded: fixture.torrent.totalLength }])
      const lengths = seen.map((request) => {
        const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(request.range!)!
        return Number(b) - Number(a) + 1
      })
      // Several pieces at a time (at most rangeBytes), and fewer requests than pieces.
      expect(Math.max(...lengths)).toBeGreaterThan(fixture.torrent.pieceLength)
      expect(Math.max(...lengths)).toBeLessThanOrEqual(128 * 1024)
      expect(seen.length).toBeLessThan(fixture.torrent.pieceCount)
      // Every request was for a file's own URL, each within that file.
      const files = new Map(served(base))
      for (const request of seen) expect(files.has(request.url)).toBe(true)
    }))

  it.live("sets aside a web seed whose data fails the hash check, and one that ignores Range, and finishes from a good one", () =>
    Effect.gen(function*() {
      const good = "http://good.test/"
      const bad = "http://bad.test/"
      const whole = "http://whole.test/"
      const files = new Map([...served(good), ...served(bad, true), ...served(whole)])
      const { progress, stored } = yield* download([bad, whole, good], files, (url) =>
        url.hostname === "whole.test" ? new Response(files.get(url.href) ?? null, { status: 200 }) : undefined)
      expect(same(stored)).toBe(true)
      const byUrl = new Map(progress.webSeeds!.map((seed) => [seed.url, seed]))
      expect(byUrl.get(whole)).toMatchObject({ state: "dropped", downloaded: 0 })
      expect(byUrl.get(whole)!.reason).toMatch(/ignores Range/)
      expect(byUrl.get(good)!.state).not.toBe("dropped")
      expect(byUrl.get(bad)).toMatchObject({ state: "dropped", reason: "its data failed a hash check" })
    }))

  it.live("waits out a busy server (503) and then downloads from it", () =>
    Effect.gen(function*() {
      const base = "http://busy.test/"
      let refusals = 0
      const { progress, stored } = yield* download([base], new Map(served(base)), () =>
        refusals++ < 3 ? new Response("busy", { status: 503 }) : undefined)
      expect(same(stored)).toBe(true)
      expect(refusals).toBeGreaterThan(3)
      expect(progress.webSeeds![0]!.state).not.toBe("dropped")
    }))

  it.live("hostile web seeds (too many bytes, a redirect loop, a 2 GB error page) are set aside or bounded; peers finish it", () =>
    Effect.gen(function*() {
      const [long, loop, huge] = ["http://long.test/", "http://loop.test/", "http://huge.test/"]
      const files = new Map([...served(long), ...served(loop), ...served(huge)])
      const pulled = { bytes: 0 }
      const { progress, stored } = yield* download([long, loop, huge], files, (url, range) => {
        const match = /^bytes=(\d+)-(\d+)$/.exec(range ?? "")
        if (url.hostname === "long.test" && match !== null) {
          // The range asked, and 1,000 bytes more.
          const body = files.get(url.href)!.slice(Number(match[1]), Number(match[2]) + 1001)
          return new Response(body, { status: 206, headers: { "content-range": `bytes ${match[1]}-${match[2]}/*` } })
        }
        if (url.hostname === "loop.test") return new Response(null, { status: 302, headers: { location: url.href } })
        if (url.hostname === "huge.test") return new Response(hugeBody(2 * 1024 ** 3, pulled), { status: 404 })
        return undefined
      }, true)
      expect(same(stored)).toBe(true)
      const byUrl = new Map(progress.webSeeds!.map((seed) => [seed.url, seed]))
      expect(byUrl.get(long)).toMatchObject({ state: "dropped" })
      expect(byUrl.get(long)!.reason).toMatch(/sent more than/)
      expect(byUrl.get(loop)).toMatchObject({ state: "dropped", downloaded: 0 })
      expect(byUrl.get(loop)!.reason).toMatch(/more than 5 redirects/)
      expect(byUrl.get(huge)).toMatchObject({ state: "dropped", downloaded: 0 })
      expect(pulled.bytes).toBeLessThan(1024 * 1024)
    }))
})
