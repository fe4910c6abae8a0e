/**
 * `bt stream` against a rate-limited libtorrent seeder on 127.0.0.1: a range read near the end of a 64 MiB file is
 * served while most of the file is still missing (a sequential download would need all of it first), `curl` of the
 * whole file matches its SHA-1, and `ffprobe` reads a video's duration from the stream URL while it downloads.
 * Also `bt download --sequential` against it: the file fills in order (and without the flag it does not).
 */
import { createHash } from "node:crypto"
import { mkdir, readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import {
  btArgs,
  freePort,
  interopSuite,
  lt,
  run,
  spawnTracked,
  startLtSeeder,
  startOpentracker,
  type Tracked,
  tempDir,
  waitForLine,
  writeFiles
} from "./harness.js"

const MiB = 1024 * 1024

interface StreamLine {
  readonly event: string
  readonly url: string
  readonly file: number
  readonly length: number
}

/** `bt stream` of `torrent` from the seeder at `port`, serving on a free HTTP port; resolves with its file URL. */
const startStream = async (torrent: string, out: string, port: number) => {
  const proc = spawnTracked(process.execPath, btArgs([
    "stream", torrent, "-o", out, "--peer", `127.0.0.1:${port}`, "--no-trackers", "--no-dht", "--no-lsd",
    "--no-port-mapping", "--port", "0", "--http-port", "0", "--json"
  ]))
  const line = await waitForLine(proc, (l) => l.includes(`"event":"stream"`), 60_000)
  return { proc, stream: JSON.parse(line) as StreamLine }
}

/** Waits, bounded, for `text` on the process's stderr. */
const waitForStderr = async (proc: Tracked, text: string, ms: number) => {
  const deadline = Date.now() + ms
  while (!proc.stderr().includes(text)) {
    if (proc.child.exitCode !== null) throw new Error(`exited: ${proc.stderr()}`)
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${ms} ms: ${proc.stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Bytes of `path` allocated on disk: the pieces written so far (the file is sparse until then). */
const allocated = async (path: string) => (await stat(path)).blocks * 512

/**
 * A 64 MiB file of `seed`'s bytes in 256 KiB pieces, seeded by libtorrent at `uploadLimit` bytes/s and streamed
 * by `bt stream` into `out`.
 */
const streamBigFile = async (seed: number, uploadLimit: number) => {
  const work = await tempDir()
  const size = 64 * MiB
  await writeFiles(join(work, "src"), [{ path: "big.bin", size }], seed)
  const torrent = join(work, "big.torrent")
  await lt(["create", join(work, "src", "big.bin"), "--out", torrent, "--piece-length", String(256 * 1024)])
  const seeder = await startLtSeeder({ torrent, save: join(work, "src"), uploadLimit })
  const out = join(work, "out")
  const { proc, stream } = await startStream(torrent, out, seeder.port)
  const original = await readFile(join(work, "src", "big.bin"))
  return { work, size, out, proc, stream, original }
}

interopSuite("bt stream against libtorrent", ["libtorrent", "curl"], () => {
  test("a range near the end comes long before the download reaches it; the whole file matches its SHA-1", async () => {
    const { original, out, size, stream, work } = await streamBigFile(17, 4 * MiB)
    expect(stream.length).toBe(size)

    // The last MiB but one: a sequential download at 4 MiB/s would reach it after ~15 s.
    const from = size - 2 * MiB
    const to = size - MiB - 1
    const response = await fetch(stream.url, { headers: { range: `bytes=${from}-${to}` } })
    expect(response.status).toBe(206)
    expect(response.headers.get("content-range")).toBe(`bytes ${from}-${to}/${size}`)
    expect(response.headers.get("accept-ranges")).toBe("bytes")
    const body = Buffer.from(await response.arrayBuffer())
    expect(body.equals(original.subarray(from, to + 1))).toBe(true)
    // When it was served, most of the file was still missing on disk.
    expect(await allocated(join(out, "big.bin"))).toBeLessThan(size / 2)

    // HEAD: the headers of a GET, no body.
    const head = await fetch(stream.url, { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(head.headers.get("content-length")).toBe(String(size))
    expect(head.headers.get("content-type")).toBe("application/octet-stream")
    // Past the end: 416 with the size.
    const past = await fetch(stream.url, { headers: { range: `bytes=${size}-` } })
    expect(past.status).toBe(416)
    expect(past.headers.get("content-range")).toBe(`bytes */${size}`)
    // Nothing but the two shapes of path is served.
    const hash = new URL(stream.url).pathname.split("/")[2]!
    for (const path of [`/stream/${hash}/../../etc/passwd`, `/stream/${hash}/%2e%2e/1`, `/stream/${hash}/1`, "/etc/passwd"]) {
      const refused = await fetch(new URL(path, stream.url))
      expect(refused.status, path).toBe(404)
    }

    const copy = join(work, "copy.bin")
    const curl = await run("curl", ["-sS", "--fail", "-o", copy, stream.url], { timeoutMs: 90_000 })
    expect(curl.code, curl.stderr).toBe(0)
    const sha1 = (bytes: Uint8Array) => createHash("sha1").update(bytes).digest("hex")
    expect(sha1(await readFile(copy))).toBe(sha1(original))
  }, 120_000)
})

/**
 * Reads `url` from byte `from` as a player does (an open-ended range), up to `want` bytes, then drops the
 * connection: a seek. Resolves with the bytes read.
 */
const readThenSeek = async (url: string, from: number, want: number) => {
  const abort = new AbortController()
  const response = await fetch(url, { headers: { range: `bytes=${from}-` }, signal: abort.signal })
  expect(response.status).toBe(206)
  const reader = response.body!.getReader()
  const chunks: Array<Uint8Array> = []
  let got = 0
  // Bounded: each read returns at least one byte or ends the body.
  while (got < want) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    got += value.length
  }
  abort.abort()
  await reader.cancel().catch(() => undefined)
  return Buffer.concat(chunks).subarray(0, want)
}

interopSuite("bt stream: a reader that seeks twice, libtorrent rate-limited", ["libtorrent"], () => {
  test("each seek's bytes arrive and are correct while the old windows are given up", async () => {
    const { original, out, proc, size, stream } = await streamBigFile(19, 2 * MiB)
    const timings: Array<string> = []
    // A player reading the start, then seeking far ahead twice, each time reading a little and moving on.
    for (const [from, want] of [[0, 512 * 1024], [24 * MiB + 12_345, 512 * 1024], [52 * MiB + 777, 1 * MiB]] as const) {
      const started = Date.now()
      const bytes = await readThenSeek(stream.url, from, want)
      timings.push(`${from}: ${Date.now() - started} ms`)
      expect(bytes.length).toBe(want)
      expect(bytes.equals(original.subarray(from, from + want)), `bytes at ${from}`).toBe(true)
    }
    // Read ahead of a 2 MiB/s seeder: most of the file is still missing (the seeks were served, not waited out).
    expect(await allocated(join(out, "big.bin"))).toBeLessThan(size / 2)
    expect(proc.child.exitCode).toBeNull()
    console.log(`bt stream seeks over a 2 MiB/s libtorrent seeder: ${timings.join(", ")}`)
  }, 120_000)
})

/**
 * How far out of order the pieces of `path` (of `original`, in pieces of `pieceLength`) were filled, sampled every
 * 100 ms while `proc` runs (bounded): the most pieces ever found whole past the first one still missing.
 */
const outOfOrder = async (proc: Tracked, path: string, original: Buffer, pieceLength: number) => {
  const pieces = Math.ceil(original.length / pieceLength)
  let worst = 0
  let samples = 0
  for (let i = 0; i < 1200 && proc.child.exitCode === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const bytes = await readFile(path).catch(() => undefined)
    // The file grows as it is written (it is not allocated ahead): past its end nothing is whole.
    if (bytes === undefined) continue
    const whole = Array.from({ length: pieces }, (_, p) =>
      bytes.subarray(p * pieceLength, (p + 1) * pieceLength).equals(original.subarray(p * pieceLength, (p + 1) * pieceLength)))
    const missing = whole.indexOf(false)
    if (missing === -1) continue
    samples++
    worst = Math.max(worst, whole.slice(missing).filter(Boolean).length)
  }
  return { worst, samples }
}

interopSuite("bt download --sequential against libtorrent", ["libtorrent"], () => {
  test("pieces are filled in order with --sequential, and not without it (the same seeder, one peer)", async () => {
    const work = await tempDir()
    const size = 16 * MiB
    const pieceLength = 256 * 1024
    await writeFiles(join(work, "src"), [{ path: "big.bin", size }], 18)
    const torrent = join(work, "big.torrent")
    await lt(["create", join(work, "src", "big.bin"), "--out", torrent, "--piece-length", String(pieceLength)])
    // About 8 s for the file: many samples while it downloads.
    const seeder = await startLtSeeder({ torrent, save: join(work, "src"), uploadLimit: 2 * MiB })
    const original = await readFile(join(work, "src", "big.bin"))
    const download = async (name: string, extra: ReadonlyArray<string>) => {
      const out = join(work, name)
      const proc = spawnTracked(process.execPath, btArgs([
        "download", torrent, "-o", out, "--peer", `127.0.0.1:${seeder.port}`, "--no-trackers", "--no-dht", "--no-lsd",
        "--no-port-mapping", "--port", "0", "--state-dir", join(work, `state-${name}`), ...extra
      ]))
      const seen = await outOfOrder(proc, join(out, "big.bin"), original, pieceLength)
      const deadline = Date.now() + 60_000
      while (proc.child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
      expect(proc.child.exitCode, proc.stderr()).toBe(0)
      expect((await readFile(join(out, "big.bin"))).equals(original)).toBe(true)
      return seen
    }
    const sequential = await download("sequential", ["--sequential"])
    const rarest = await download("rarest", [])
    console.log(`--sequential: at most ${sequential.worst} pieces whole past the first missing (${sequential.samples} samples); without: ${rarest.worst} (${rarest.samples})`)
    expect(sequential.samples).toBeGreaterThan(5)
    expect(rarest.samples).toBeGreaterThan(5)
    // In order: past the first missing piece, only the few in flight with the peer (its request queue).
    expect(sequential.worst).toBeLessThanOrEqual(8)
    // The measure tells them apart: without --sequential one seeder's pieces come in no order.
    expect(rarest.worst).toBeGreaterThan(16)
  }, 180_000)
})

interopSuite("bt stream to ffprobe", ["libtorrent", "ffmpeg", "ffprobe"], () => {
  test("ffprobe reads a video's duration from the stream URL while it downloads", async () => {
    const work = await tempDir()
    const video = join(work, "src", "clip.mp4")
    await run("mkdir", ["-p", join(work, "src")])
    // No faststart: the index (moov) is at the end, as in many real files.
    const made = await run("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=60:size=640x360:rate=25", "-c:v", "libx264",
      "-preset", "ultrafast", "-b:v", "1500k", "-pix_fmt", "yuv420p", video
    ], { timeoutMs: 60_000 })
    expect(made.code, made.stderr).toBe(0)
    const size = (await stat(video)).size
    const torrent = join(work, "clip.torrent")
    await lt(["create", video, "--out", torrent, "--piece-length", String(32 * 1024)])
    // About 45 s for the whole file (~11 MB): ffprobe needs its start and its end only.
    const seeder = await startLtSeeder({ torrent, save: join(work, "src"), uploadLimit: 256 * 1024 })
    const out = join(work, "out")
    const { stream } = await startStream(torrent, out, seeder.port)
    const head = await fetch(stream.url, { method: "HEAD" })
    expect(head.headers.get("content-type")).toBe("video/mp4")
    const probe = await run("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", stream.url], {
      timeoutMs: 60_000
    })
    expect(probe.code, probe.stderr).toBe(0)
    expect(Number(probe.stdout.trim())).toBeCloseTo(60, 0)
    // It had its answer while much of the file was still missing.
    expect(await allocated(join(out, "clip.mp4"))).toBeLessThan(size * 0.75)
  }, 120_000)
})

/** One RPC call (classic dialect) to `rpc` with Basic `auth`, fetching the session id first. */
const rpcCall = async (rpc: string, auth: string, method: string, args: Record<string, unknown>) => {
  const url = `http://${rpc}/transmission/rpc`
  const headers: Record<string, string> = { authorization: auth, "content-type": "application/json" }
  const body = JSON.stringify({ method, arguments: args })
  let response = await fetch(url, { method: "POST", headers, body })
  if (response.status === 409) {
    headers["x-transmission-session-id"] = response.headers.get("x-transmission-session-id")!
    response = await fetch(url, { method: "POST", headers, body })
  }
  expect(response.status).toBe(200)
  return (await response.json()) as { readonly result: string; readonly arguments: any }
}

interopSuite("bt daemon serves /stream/<info-hash>/<index>", ["libtorrent", "opentracker"], () => {
  test("behind its auth, with ranges; torrent-get gives each file's URL; removing the torrent ends a read", async () => {
    const work = await tempDir()
    const size = 8 * MiB
    await writeFiles(join(work, "src"), [{ path: "film.mkv", size }], 23)
    const tracker = await startOpentracker(join(work, "tracker"), [])
    const torrent = join(work, "film.torrent")
    const info = (await lt([
      "create", join(work, "src", "film.mkv"), "--out", torrent, "--piece-length", String(64 * 1024),
      "--tracker", tracker.httpUrl
    ])) as { readonly info_hash: string }
    await tracker.allow([info.info_hash])
    await startLtSeeder({ torrent, save: join(work, "src"), trackerAnnounce: true, uploadLimit: 512 * 1024 })
    const original = await readFile(join(work, "src", "film.mkv"))

    const rpcPort = await freePort()
    const rpc = `127.0.0.1:${rpcPort}`
    await mkdir(join(work, "data"))
    const daemon = spawnTracked(process.execPath, btArgs([
      "daemon", "--rpc-port", String(rpcPort), "--port", String(await freePort()), "--no-dht",
      "--state-dir", join(work, "state"), "--download-dir", join(work, "data"), "--rpc-auth", "u:pw"
    ]))
    await waitForStderr(daemon, "bt daemon: RPC at", 20_000)
    const auth = `Basic ${Buffer.from("u:pw").toString("base64")}`
    const added = await rpcCall(rpc, auth, "torrent-add", { metainfo: (await readFile(torrent)).toString("base64") })
    expect(added.result).toBe("success")
    const got = await rpcCall(rpc, auth, "torrent-get", { ids: [info.info_hash], fields: ["files"] })
    const path = got.arguments.torrents[0].files[0].streamUrl as string
    expect(path).toBe(`/stream/${info.info_hash}/0`)
    const url = `http://${rpc}${path}`

    expect((await fetch(url)).status).toBe(401)
    const tail = await fetch(url, { headers: { authorization: auth, range: "bytes=-100000" } })
    expect(tail.status).toBe(206)
    expect(tail.headers.get("content-type")).toBe("video/x-matroska")
    expect(Buffer.from(await tail.arrayBuffer()).equals(original.subarray(size - 100_000))).toBe(true)

    // A read of the whole file (at 512 KiB/s, ~16 s), ended by removing the torrent once bytes flow.
    const whole = await fetch(url, { headers: { authorization: auth } })
    expect(whole.status).toBe(200)
    const reader = whole.body!.getReader()
    let received = 0
    const first = await reader.read()
    received += first.value?.length ?? 0
    expect(received).toBeGreaterThan(0)
    await rpcCall(rpc, auth, "torrent-remove", { ids: [info.info_hash] })
    const ended = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return "done"
          received += value.length
        }
      } catch {
        return "cut"
      }
    })()
    expect(["done", "cut"]).toContain(await ended)
    expect(received).toBeLessThan(size)
    // The daemon goes on.
    const after = await rpcCall(rpc, auth, "torrent-get", { fields: ["id"] })
    expect(after.arguments.torrents).toEqual([])
    expect((await fetch(url, { headers: { authorization: auth } })).status).toBe(404)
  }, 120_000)
})
