/**
 * The stream routes driven in-process (HttpApp.toWebHandler) over a memory torrent whose pieces the test makes
 * ready one by one: ranges and their edge cases, a body that waits for its piece and moves the reader's window, a
 * torrent that stops ending the body, the playlist, and paths that name nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type { FilePriority } from "../../src/session/selection.js"
import { TorrentError } from "../../src/session/TorrentError.js"
import { fileStream, mediaType, streamRouter, type Streamable } from "../../src/stream/index.js"
import { contentFor, makeTorrent } from "../storage/fixtures.js"

const torrent = makeTorrent({
  name: "show",
  pieceLength: 16 * 1024,
  files: [
    { path: ["ep1.mkv"], length: 100_000 },
    { path: ["notes.txt"], length: 1_000 },
    { path: ["ep2.mp4"], length: 60_000 }
  ]
})
const content = contentFor(torrent)
const fileBytes = (index: number) => {
  const file = torrent.files[index]!
  return content.subarray(file.offset, file.offset + file.length)
}

/** A memory torrent: pieces are ready when `release`d (or all from the start); `stop` fails every waiter. */
const memorySource = (allReady: boolean, files: ReadonlyArray<FilePriority> = ["normal", "normal", "normal"]) => {
  const ready = new Set<number>(allReady ? [...Array(torrent.pieceCount).keys()] : [])
  const waiters = new Map<number, Array<(error?: TorrentError) => void>>()
  const windows = new Map<symbol, { readonly from: number; readonly to: number }>()
  let stopped = false
  const source: Streamable = {
    torrent,
    files: Effect.succeed(files),
    pieceReady: (index) =>
      Effect.async<void, TorrentError>((resume) => {
        if (stopped) return resume(Effect.fail(new TorrentError({ reason: "Stopped", detail: "stopped" })))
        if (ready.has(index)) return resume(Effect.void)
        const list = waiters.get(index) ?? []
        list.push((error) => resume(error === undefined ? Effect.void : Effect.fail(error)))
        waiters.set(index, list)
      }),
    read: (index, begin, length) =>
      Effect.sync(() => content.slice(index * torrent.pieceLength + begin, index * torrent.pieceLength + begin + length)),
    setWindow: (reader, window) =>
      Effect.sync(() => {
        if (window === undefined) windows.delete(reader)
        else windows.set(reader, window)
      })
  }
  return {
    source,
    windows,
    release: (index: number) => {
      ready.add(index)
      for (const wake of waiters.get(index) ?? []) wake()
      waiters.delete(index)
    },
    stop: () => {
      stopped = true
      for (const list of waiters.values()) for (const wake of list) wake(new TorrentError({ reason: "Stopped", detail: "stopped" }))
      waiters.clear()
    }
  }
}

const handlerFor = (source: Streamable) =>
  HttpApp.toWebHandler(
    HttpRouter.toHttpApp(
      streamRouter((hash) => Effect.succeed(hash === torrent.infoHashHex ? Option.some(source) : Option.none()))
    ).pipe(Effect.runSync)
  )

const url = (path: string) => `http://bt.test${path}`
const fileUrl = (index: number) => url(`/stream/${torrent.infoHashHex}/${index}`)

describe("stream routes", () => {
  it("serves a whole file, single ranges and suffixes, with the headers a player needs", async () => {
    const handler = handlerFor(memorySource(true).source)
    const whole = await handler(new Request(fileUrl(0)))
    assert.strictEqual(whole.status, 200)
    assert.strictEqual(whole.headers.get("accept-ranges"), "bytes")
    assert.strictEqual(whole.headers.get("content-type"), "video/x-matroska")
    assert.strictEqual(whole.headers.get("content-length"), "100000")
    assert.deepStrictEqual(new Uint8Array(await whole.arrayBuffer()), fileBytes(0))

    for (const [range, start, end] of [["bytes=16000-40000", 16000, 40000], ["bytes=-10", 59990, 59999], ["bytes=59000-", 59000, 59999]] as const) {
      const partial = await handler(new Request(fileUrl(2), { headers: { range } }))
      assert.strictEqual(partial.status, 206, range)
      assert.strictEqual(partial.headers.get("content-range"), `bytes ${start}-${end}/60000`)
      assert.strictEqual(partial.headers.get("content-length"), String(end - start + 1))
      assert.strictEqual(partial.headers.get("content-type"), "video/mp4")
      assert.deepStrictEqual(new Uint8Array(await partial.arrayBuffer()), fileBytes(2).subarray(start, end + 1))
    }

    const past = await handler(new Request(fileUrl(1), { headers: { range: "bytes=1000-" } }))
    assert.strictEqual(past.status, 416)
    assert.strictEqual(past.headers.get("content-range"), "bytes */1000")
    // Several ranges: ignored, the whole file (RFC 9110 lets a server do so).
    const multi = await handler(new Request(fileUrl(1), { headers: { range: "bytes=0-1,5-6" } }))
    assert.strictEqual(multi.status, 200)
    assert.strictEqual((await multi.arrayBuffer()).byteLength, 1000)
  })

  it("answers 404 for anything but a file or playlist of a running torrent, 405 for other methods", async () => {
    const handler = handlerFor(memorySource(true).source)
    const hash = torrent.infoHashHex
    for (
      const path of [
        `/stream/${hash}/3`,
        `/stream/${hash}/../../etc/passwd`,
        `/stream/${hash}/%2e%2e%2fetc`,
        `/stream/${hash}/0/extra`,
        `/stream/${hash}/-1`,
        `/stream/${hash}/99999999`,
        `/stream/${"0".repeat(40)}/0`,
        `/stream/${hash}`,
        "/stream/"
      ]
    ) {
      const response = await handler(new Request(url(path)))
      assert.strictEqual(response.status, 404, path)
    }
    assert.strictEqual((await handler(new Request(fileUrl(0), { method: "POST", body: "x" }))).status, 405)
  })

  it("lists the wanted files in the playlist, relative to it", async () => {
    const handler = handlerFor(memorySource(true, ["normal", "skip", "high"]).source)
    const response = await handler(new Request(url(`/stream/${torrent.infoHashHex}/playlist.m3u`)))
    assert.strictEqual(response.status, 200)
    assert.strictEqual(await response.text(), "#EXTM3U\n#EXTINF:-1,ep1.mkv\n0\n#EXTINF:-1,ep2.mp4\n2\n")
  })

  it("a body waits for its pieces, moving the reader's window; a torrent that stops ends it", async () => {
    const memory = memorySource(false)
    const handler = handlerFor(memory.source)
    const response = await handler(new Request(fileUrl(0), { headers: { range: "bytes=20000-" } }))
    assert.strictEqual(response.status, 206)
    const reader = response.body!.getReader()
    // Nothing is ready: the reader's window is set from piece 1 (byte 20,000) to the file's end, and the body waits.
    for (let i = 0; i < 100 && memory.windows.size < 1; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.deepStrictEqual([...memory.windows.values()], [{ from: 1, to: 6 }])
    memory.release(1)
    const first = await reader.read()
    assert.deepStrictEqual(first.value, fileBytes(0).subarray(20000, 32768))
    memory.stop()
    let done = false
    for (let i = 0; i < 10 && !done; i++) done = (await reader.read()).done
    assert.isTrue(done)
  })

  it.effect("fileStream reads a range across pieces and fails with Stopped when the torrent stops", () =>
    Effect.gen(function*() {
      const memory = memorySource(true)
      const bytes = yield* Stream.runCollect(fileStream(memory.source, 2, { start: 100, end: 50_000 }))
      const joined = Buffer.concat([...bytes])
      assert.deepStrictEqual(new Uint8Array(joined), fileBytes(2).subarray(100, 50_000))
      assert.strictEqual(memory.windows.size, 0) // the reader's windows go with it
      memory.stop()
      const error = yield* Effect.flip(Stream.runDrain(fileStream(memory.source, 0)))
      assert.strictEqual(error.reason, "Stopped")
      const bad = yield* Effect.flip(Stream.runDrain(fileStream(memory.source, 7)))
      assert.strictEqual(bad.reason, "Selection")
    }))

  it.scoped("a reader that stops pulling gives its windows up after the idle time, and asks again with its next pull", () =>
    Effect.gen(function*() {
      const memory = memorySource(true)
      const pull = yield* Stream.toPull(fileStream(memory.source, 0, { idleRelease: "10 seconds" }))
      const first = yield* pull
      assert.strictEqual(first.pipe(Chunk.toReadonlyArray)[0]!.length, 16 * 1024)
      // Its window from where it reads, and the media file's last piece (its index may be there).
      assert.deepStrictEqual([...memory.windows.values()], [{ from: 6, to: 6 }, { from: 0, to: 6 }])
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(memory.windows.size, 2)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(memory.windows.size, 0)
      yield* pull
      assert.deepStrictEqual([...memory.windows.values()], [{ from: 1, to: 6 }])
      // Pulling again in time keeps it: each pull starts the idle time over.
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("6 seconds")
        yield* pull
      }
      assert.deepStrictEqual([...memory.windows.values()], [{ from: 4, to: 6 }])
    }))

  it("names media types by extension", () => {
    assert.strictEqual(mediaType("a.MKV"), "video/x-matroska")
    assert.strictEqual(mediaType("song.flac"), "audio/flac")
    assert.strictEqual(mediaType("README"), "application/octet-stream")
  })
})
