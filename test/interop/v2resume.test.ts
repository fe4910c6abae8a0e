/**
 * A v2 magnet's piece layers kept with the resume state: bt downloads a v2-only magnet from a libtorrent seeder
 * (fetching the layers: the info dictionary carries none), the seeder goes away, the file's mtime changes (so the
 * restart must hash it), and a second run with the same state folder finishes from the disk alone. Without the
 * saved layers it could check no piece of a v2-only torrent, and with no peer to fetch them from it would never end.
 */
import { utimes } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import { type FileSpec, interopSuite, lt, type LtInfo, runBt, startLtSeeder, tempDir, writeFiles } from "./harness.js"
import { btEvents, describeProc, type HashFigures, hashFiles } from "./leechers.js"

const NAME = "v2resume"
const spec: ReadonlyArray<FileSpec> = [
  { path: "a.bin", size: 1_000_003 },
  { path: "b.bin", size: 200_000 }
]

interopSuite("v2 piece layers kept with the resume state", ["libtorrent"], () => {
  test("a restarted v2 magnet download takes its piece layers from the resume state, not from peers", async () => {
    const work = await tempDir()
    const src = join(work, "src")
    await writeFiles(join(src, NAME), spec, 71)
    const torrent = join(work, `${NAME}.torrent`)
    const ref = (await lt(["create", join(src, NAME), "--out", torrent, "--kind", "v2", "--piece-length", "32768"])) as LtInfo
    const magnet = `magnet:?xt=urn:btmh:1220${ref.info_hash_v2}&dn=${NAME}`
    const seeder = await startLtSeeder({ torrent, save: src })
    const out = join(work, "out")
    const state = await tempDir()
    const args = ["download", magnet, "-o", out, "--no-trackers", "--no-dht", "--port", "0", "--json", "--state-dir", state]
    const first = await runBt([...args, "--peer", `127.0.0.1:${seeder.port}`], { timeoutMs: 60_000 })
    const context = `${first.stderr}\n${describeProc("lt.py seed", seeder.proc)}`
    expect(first.code, context).toBe(0)
    const hashesOf = (stdout: string) =>
      (btEvents(stdout).find((e) => e.event === "done") as { hashes?: HashFigures } | undefined)?.hashes
    expect(hashesOf(first.stdout)?.received, context).toBeGreaterThan(0)
    seeder.proc.child.kill("SIGTERM")
    await seeder.proc.exited
    // Touched: the resume state no longer vouches for these files, so every piece is hashed at the restart.
    for (const file of spec) await utimes(join(out, NAME, file.path), 1_700_000_000, 1_700_000_000)
    // The same peer named, gone: nothing answers there.
    const second = await runBt([...args, "--peer", `127.0.0.1:${seeder.port}`], { timeoutMs: 30_000 })
    expect(second.code, second.stderr).toBe(0)
    expect(hashesOf(second.stdout), second.stdout.slice(-2000)).toMatchObject({ received: 0, missingLayers: 0 })
    expect(await hashFiles(join(out, NAME), spec)).toEqual(await hashFiles(join(src, NAME), spec))
  }, 120_000)
})
