/**
 * `--download-limit` and `--upload-limit` on the one-shot commands, against libtorrent on loopback: the bytes moved
 * over every 5-second window stay within 10 % of the limit, and the limit is not far undershot either.
 */
import { join } from "node:path"
import { expect, test } from "vitest"
import { interopSuite, lt, spawnTracked, startLtSeeder, tempDir, writeFiles } from "./harness.js"
import { btArgs } from "./harness.js"
import { describeProc, startBtSeed, startLtLeecher } from "./leechers.js"

const MiB = 1024 * 1024
const LIMIT = MiB
const SIZE = 8 * MiB + 1234
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The last `downloaded` (or `uploaded`) of bt's JSON progress lines so far. */
const lastCount = (stdout: string, field: "downloaded" | "uploaded"): number => {
  const lines = stdout.split("\n").filter((line) => line.startsWith("{") && line.includes(`"${field}"`))
  const last = lines.at(-1)
  return last === undefined ? 0 : (JSON.parse(last) as Record<string, number>)[field] ?? 0
}

/** The fastest and slowest 5-second windows of samples (time ms, bytes) taken while bytes moved. */
const windows = (samples: ReadonlyArray<readonly [number, number]>, total: number) => {
  const rates: Array<number> = []
  for (const [t0, b0] of samples) {
    if (b0 === 0) continue
    const end = samples.find(([t]) => t >= t0 + 5000)
    if (end === undefined || end[1] >= total) break
    rates.push(((end[1] - b0) / (end[0] - t0)) * 1000)
  }
  return { max: Math.max(...rates), min: Math.min(...rates), count: rates.length }
}

interopSuite("rate limits of bt download and bt seed", ["libtorrent"], () => {
  test("bt download --download-limit 1M from libtorrent keeps to 1 MiB/s over every 5 s window", async () => {
    const work = await tempDir()
    await writeFiles(join(work, "src", "limited"), [{ path: "data.bin", size: SIZE }], 51)
    const torrent = join(work, "t.torrent")
    await lt(["create", join(work, "src", "limited"), "--out", torrent, "--piece-length", "65536"])
    const seeder = await startLtSeeder({ torrent, save: join(work, "src") })
    const bt = spawnTracked(process.execPath, btArgs([
      "download", torrent, "-o", join(work, "out"), "--peer", `127.0.0.1:${seeder.port}`, "--no-trackers", "--no-dht",
      "--port", "0", "--state-dir", join(work, "state"), "--json", "--download-limit", "1M"
    ]))
    const samples: Array<readonly [number, number]> = []
    const deadline = Date.now() + 30_000
    while (bt.child.exitCode === null && Date.now() < deadline) {
      samples.push([Date.now(), lastCount(bt.stdout(), "downloaded")])
      await sleep(100)
    }
    const result = await bt.exited
    expect(result.code, describeProc("bt download", bt)).toBe(0)
    const { count, max, min } = windows(samples, SIZE)
    expect(count, describeProc("bt download", bt)).toBeGreaterThan(5)
    // Progress lines come once a second, so a window's figure is itself off by up to a second of transfer.
    expect(max).toBeLessThanOrEqual(LIMIT * 1.1 + LIMIT / 5)
    expect(min).toBeGreaterThanOrEqual(LIMIT * 0.9 - LIMIT / 5)
  }, 60_000)

  test("bt seed --upload-limit 1M to libtorrent takes the time the limit says", async () => {
    const work = await tempDir()
    await writeFiles(join(work, "src", "limited"), [{ path: "data.bin", size: SIZE }], 52)
    const torrent = join(work, "t.torrent")
    await lt(["create", join(work, "src", "limited"), "--out", torrent, "--piece-length", "65536"])
    const seeder = await startBtSeed({ torrent, dir: join(work, "src"), extraArgs: ["--upload-limit", "1M", "--no-dht"] })
    const leecher = await startLtLeecher({ torrent, save: join(work, "out"), peers: [`127.0.0.1:${seeder.port}`], timeoutSeconds: 40 })
    const done = await leecher.done
    const seconds = done.seconds
    // 8 MiB at 1 MiB/s, less a quarter second of burst; libtorrent's own start costs a little more.
    expect(seconds, describeProc("bt seed", seeder.proc)).toBeGreaterThanOrEqual((SIZE / LIMIT) * 0.9)
    expect(seconds).toBeLessThanOrEqual((SIZE / LIMIT) * 1.1 + 2)
  }, 60_000)
})
