/**
 * `bt stream` against a rate-limited libtorrent seeder on 127.0.0.1: a range read near the end of a 64 MiB file is
 * served while most of the file is still missing (a sequential download would need all of it first), `curl` of the
 * whole file matches its SHA-1, and `ffprobe` reads a video's duration from the stream URL while it downloads.
 */
import { createHash } from "node:crypto"
import { readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import { btArgs, interopSuite, lt, run, spawnTracked, startLtSeeder, tempDir, waitForLine, writeFiles } from "./harness.js"

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

/** Bytes of `path` allocated on disk: the pieces written so far (the file is sparse until then). */
const allocated = async (path: string) => (await stat(path)).blocks * 512

interopSuite("bt stream against libtorrent", ["libtorrent", "curl"], () => {
  test("a range near the end comes long before the download reaches it; the whole file matches its SHA-1", async () => {
    const work = await tempDir()
    const size = 64 * MiB
    await writeFiles(join(work, "src"), [{ path: "big.bin", size }], 17)
    const torrent = join(work, "big.torrent")
    await lt(["create", join(work, "src", "big.bin"), "--out", torrent, "--piece-length", String(256 * 1024)])
    const seeder = await startLtSeeder({ torrent, save: join(work, "src"), uploadLimit: 4 * MiB })
    const out = join(work, "out")
    const { stream } = await startStream(torrent, out, seeder.port)
    expect(stream.length).toBe(size)
    const original = await readFile(join(work, "src", "big.bin"))

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

interopSuite("bt stream to ffprobe", ["libtorrent", "ffmpeg", "ffprobe"], () => {
  test("ffprobe reads a video's duration from the stream URL while it downloads", async () => {
    const work = await tempDir()
    const video = join(work, "src", "clip.mp4")
    await run("mkdir", ["-p", join(work, "src")])
    // No faststart: the index (moov) is at the end, as in many real files.
    const made = await run("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=20:size=640x360:rate=25", "-c:v", "libx264",
      "-preset", "ultrafast", "-b:v", "1500k", "-pix_fmt", "yuv420p", video
    ], { timeoutMs: 60_000 })
    expect(made.code, made.stderr).toBe(0)
    const size = (await stat(video)).size
    const torrent = join(work, "clip.torrent")
    await lt(["create", video, "--out", torrent, "--piece-length", String(32 * 1024)])
    // About ten seconds for the whole file: ffprobe needs its start and its end only.
    const seeder = await startLtSeeder({ torrent, save: join(work, "src"), uploadLimit: Math.ceil(size / 10) })
    const out = join(work, "out")
    const { stream } = await startStream(torrent, out, seeder.port)
    const head = await fetch(stream.url, { method: "HEAD" })
    expect(head.headers.get("content-type")).toBe("video/mp4")
    const probe = await run("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", stream.url], {
      timeoutMs: 60_000
    })
    expect(probe.code, probe.stderr).toBe(0)
    expect(Number(probe.stdout.trim())).toBeCloseTo(20, 0)
    expect(await allocated(join(out, "clip.mp4"))).toBeLessThan(size)
  }, 120_000)
})
