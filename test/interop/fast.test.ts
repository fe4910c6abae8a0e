/**
 * The Fast extension (BEP 6) and BEP 10 flags against libtorrent on 127.0.0.1: a download from a libtorrent seeder
 * (which, with BEP 6 agreed, sends `have all` instead of a bitfield) shows the peer as fast in `--json` progress,
 * and a libtorrent leecher downloads from `bt seed` with both sides speaking BEP 6.
 */
import { join } from "node:path"
import { expect, test } from "vitest"
import { interopSuite, runBt, startLtSeeder } from "./harness.js"
import { btEvents, freshStateDir, hashFiles, makeLtTorrent, startBtSeed, startLtLeecher } from "./leechers.js"

const spec = [{ path: "fast.bin", size: 6 * 1024 * 1024 + 333 }]
const makeTorrent = () => makeLtTorrent("fast.bin", spec[0]!.size, 61)

interopSuite("BEP 6 with libtorrent", ["libtorrent"], () => {
  test("a libtorrent seeder is a fast peer, seen in --json progress, and its `have all` counts as every piece", async () => {
    const { dir, hashes, torrent } = await makeTorrent()
    // Slow enough for a few progress lines: ~3 s for 6 MiB.
    const seeder = await startLtSeeder({ torrent, save: join(dir, "data"), uploadLimit: 2_000_000 })
    const out = join(dir, "out")
    const result = await runBt([
      "download", torrent, "-o", out, "--peer", `127.0.0.1:${seeder.port}`, "--no-trackers", "--port", "0",
      "--json", ...(await freshStateDir())
    ], { timeoutMs: 60_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(await hashFiles(out, spec)).toEqual(hashes)
    const peers = btEvents(result.stdout).flatMap((e) =>
      e.event === "progress" ? (e.peerList as ReadonlyArray<Record<string, unknown>>) : []
    )
    // The last sighting: an early progress line can come between its handshake and its extended handshake.
    const seen = peers.filter((p) => p.address === `127.0.0.1:${seeder.port}`).at(-1)
    expect(seen, result.stdout.slice(0, 2000)).toMatchObject({ fast: true, extensions: true, family: "ipv4" })
    expect(String(seen!.client)).toMatch(/libtorrent/i)
  }, 90_000)

  test("a libtorrent leecher downloads from bt seed with both sides on BEP 6", async () => {
    const { dir, hashes, torrent } = await makeTorrent()
    const seed = await startBtSeed({ torrent, dir: join(dir, "data") })
    const leecher = await startLtLeecher({ torrent, save: join(dir, "lt"), peers: [`127.0.0.1:${seed.port}`] })
    const done = await leecher.done
    expect(done.downloaded).toBeGreaterThanOrEqual(spec[0]!.size)
    expect(await hashFiles(join(dir, "lt"), spec)).toEqual(hashes)
  }, 90_000)
})
