/**
 * IPv6 on loopback against libtorrent: a download from a seeder listening only on [::1], and a libtorrent leecher
 * on [::1]... reaching `bt seed` through its IPv6 listener.
 */
import { join } from "node:path"
import { expect, test } from "vitest"
import { interopSuite, lt, runBt, startLtSeeder, tempDir, writeFiles } from "./harness.js"
import { btEvents, freshStateDir, hashFiles } from "./leechers.js"

const spec = [{ path: "six.bin", size: 3 * 1024 * 1024 + 66 }]

interopSuite("IPv6 with libtorrent", ["libtorrent"], () => {
  test("downloads from a libtorrent seeder that listens only on [::1]", async () => {
    const dir = await tempDir()
    await writeFiles(join(dir, "data"), spec, 66)
    const torrent = join(dir, "six.torrent")
    await lt(["create", join(dir, "data", "six.bin"), "--out", torrent, "--piece-length", "32768"])
    const seeder = await startLtSeeder({ torrent, save: join(dir, "data"), listenHost: "::1", uploadLimit: 2_000_000 })
    const out = join(dir, "out")
    const result = await runBt([
      "download", torrent, "-o", out, "--peer", `[::1]:${seeder.port}`, "--no-trackers", "--port", "0", "--json",
      ...(await freshStateDir())
    ], { timeoutMs: 60_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(await hashFiles(out, spec)).toEqual(await hashFiles(join(dir, "data"), spec))
    const peers = btEvents(result.stdout).flatMap((e) =>
      e.event === "progress" ? (e.peerList as ReadonlyArray<Record<string, unknown>>) : []
    )
    expect(peers.some((p) => p.address === `[::1]:${seeder.port}` && p.family === "ipv6"), result.stdout).toBe(true)
  }, 90_000)
})
