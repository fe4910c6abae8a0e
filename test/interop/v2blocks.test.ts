/**
 * BitTorrent v2 block hashes (BEP 52 `hash request` at `base layer` 0) against libtorrent 2.0 on 127.0.0.1. A lying
 * seed is needed to make a piece fail: a `bt seed` whose resume state vouches for its files, one of which was then
 * changed in place (one byte in one block of every piece, size and mtime kept), so it serves them unhashed. It
 * listens on 127.0.0.2, so strikes against it (by address) never touch the honest peer on 127.0.0.1.
 * - bt downloads from a libtorrent seeder and the liar: each piece the liar spoils is held while libtorrent is asked
 *   for its block hashes (libtorrent 2.0.8 answers them), and only the bad block is fetched again.
 * - libtorrent downloads from an honest `bt seed` and the liar: libtorrent asks for the failed pieces' block hashes,
 *   the honest seed answers them from its data, and the liar refuses (its data no longer matches its piece layer).
 */
import { copyFile, mkdir, open, readdir, utimes } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import { type FileSpec, interopSuite, lt, startLtSeeder, tempDir, type Tracked, waitForLine, writeFiles } from "./harness.js"
import {
  btDownloadFrom,
  btEvents,
  describeProc,
  type HashFigures,
  hashFiguresOf,
  hashFiles,
  spawnBt,
  startBtSeed,
  startLtLeecher
} from "./leechers.js"

const NAME = "v2blocks"
const PIECE = 65_536
const spec: ReadonlyArray<FileSpec> = [
  { path: "a.bin", size: 1_500_000 },
  { path: "b.bin", size: 700_001 }
]

/** A v2 torrent libtorrent made of fresh files (`seed` picks their bytes), and a liar serving spoiled copies. */
const setUp = async (seed: number) => {
  const work = await tempDir()
  const src = join(work, "src")
  await writeFiles(join(src, NAME), spec, seed)
  const torrent = join(work, `${NAME}.torrent`)
  await lt(["create", join(src, NAME), "--out", torrent, "--kind", "v2", "--piece-length", String(PIECE)])
  return { work, src, torrent, liar: await startLiar(torrent, src, work) }
}

/** A whole second, exact through `utimes` (a fractional time comes back a microsecond off). */
const MTIME = 1_700_000_000

/** Flips one byte in one block of every piece of each file, keeping its size and modification time (MTIME). */
const spoil = async (dir: string): Promise<void> => {
  for (const file of spec) {
    const path = join(dir, NAME, file.path)
    const handle = await open(path, "r+")
    for (let piece = 0; piece * PIECE < file.size; piece++) {
      const at = Math.min(file.size - 1, piece * PIECE + (piece % 4) * 16_384 + 7)
      const byte = Buffer.alloc(1)
      await handle.read(byte, 0, 1, at)
      byte[0] = byte[0]! ^ 0x5a
      await handle.write(byte, 0, 1, at)
    }
    await handle.close()
    await utimes(path, MTIME, MTIME)
  }
}

/** A `bt seed` on 127.0.0.2 serving spoiled copies of `src`'s files as if they were verified (see above). */
const startLiar = async (torrent: string, src: string, work: string): Promise<{ readonly port: number; readonly proc: Tracked }> => {
  const dir = join(work, "liar")
  const state = join(work, "liar-state")
  await mkdir(join(dir, NAME), { recursive: true })
  for (const file of spec) {
    await copyFile(join(src, NAME, file.path), join(dir, NAME, file.path))
    await utimes(join(dir, NAME, file.path), MTIME, MTIME)
  }
  const args = ["seed", torrent, "-d", dir, "--json", "--port", "0", "--bind", "127.0.0.2", "--no-trackers", "--no-dht",
    "--encryption", "disable", "--state-dir", state]
  // A first run hashes the files and records them as verified when it stops.
  const first = spawnBt(args)
  await waitForLine(first, (l) => l.includes(`"event":"seeding"`), 30_000)
  for (let i = 0; i < 200 && !(await readdir(state).catch(() => [])).some((f) => f.endsWith(".resume")); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  first.child.kill("SIGTERM")
  await first.exited
  expect(first.stdout(), describeProc("bt seed (first run)", first)).toContain(`"event":"stopped"`)
  await spoil(dir)
  const proc = spawnBt(args)
  const line = await waitForLine(proc, (l) => l.includes(`"event":"seeding"`), 30_000)
  return { port: (JSON.parse(line) as { port: number }).port, proc }
}

interopSuite("BEP 52 block hashes between bt and libtorrent", ["libtorrent"], () => {
  test("bt pins a bad block on the peer that sent it, with the block hashes libtorrent serves", async () => {
    const { liar, src, torrent, work } = await setUp(61)
    // libtorrent slowed, so the liar surely delivers some pieces before it is banned.
    const seeder = await startLtSeeder({ torrent, save: src, uploadLimit: 400_000 })
    const out = join(work, "out")
    const { result } = await btDownloadFrom(torrent, out, `127.0.0.1:${seeder.port}`, [
      "--peer", `127.0.0.2:${liar.port}`, "--no-dht", "--encryption", "disable"
    ])
    const context = `${result.stderr}\n${describeProc("liar", liar.proc)}\n${describeProc("lt.py seed", seeder.proc)}`
    expect(result.code, context).toBe(0)
    const done = btEvents(result.stdout).find((e) => e.event === "done") as
      | { hashes?: HashFigures; downloaded?: number }
      | undefined
    // Block hashes came from libtorrent (the liar refuses: its data does not match its piece layer), and each one
    // found a bad block; the liar's pieces were not fetched again whole.
    expect(done?.hashes?.blockHashes, context).toBeGreaterThan(0)
    expect(done?.hashes?.badBlocks, context).toBeGreaterThanOrEqual(done?.hashes?.blockHashes ?? 1)
    // Bytes taken past one copy of every block (blocks partly in the implied padding are asked whole): the bad
    // blocks of held pieces fetched again (a bad block refused on arrival is not counted as taken), well under what
    // fetching their pieces again whole would cost.
    const once = spec.reduce((sum, file) => sum + Math.ceil(file.size / 16_384) * 16_384, 0)
    const extra = (done?.downloaded ?? 0) - once
    expect(extra, context).toBeGreaterThanOrEqual(16_384 * done!.hashes!.blockHashes)
    expect(extra, context).toBeLessThan(PIECE * done!.hashes!.badBlocks)
    expect(await hashFiles(join(out, NAME), spec)).toEqual(await hashFiles(join(src, NAME), spec))
  }, 120_000)

  test("libtorrent asks bt for a failed piece's block hashes, and an honest bt seed answers them", async () => {
    const { liar, src, torrent, work } = await setUp(62)
    // The honest seed slowed, so libtorrent is still downloading when it asks for block hashes.
    const honest = await startBtSeed({
      torrent, dir: src, extraArgs: ["--bind", "127.0.0.1", "--no-dht", "--encryption", "disable", "--upload-limit", "300K"]
    })
    const save = join(work, "lt-out")
    const leecher = await startLtLeecher({
      torrent, save, peers: [`127.0.0.2:${liar.port}`, `127.0.0.1:${honest.port}`], timeoutSeconds: 90
    })
    const context = () =>
      `${describeProc("bt seed", honest.proc)}\n${describeProc("liar", liar.proc)}\n${describeProc("lt.py leech", leecher.proc)}`
    await leecher.done.catch((error: unknown) => {
      throw new Error(`${String(error)}\n${context()}`)
    })
    expect(await hashFiles(join(save, NAME), spec), context()).toEqual(await hashFiles(join(src, NAME), spec))
    // The honest seed answered base-layer requests (libtorrent had the piece layers from the .torrent: no other
    // requests come); the progress line is printed each second.
    const line = await waitForLine(honest.proc, (l) => (hashFiguresOf(l)?.answered ?? 0) > 0, 15_000).catch(() => "")
    expect(hashFiguresOf(line)?.answered, context()).toBeGreaterThan(0)
  }, 150_000)
})
