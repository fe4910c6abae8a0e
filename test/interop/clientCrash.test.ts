/**
 * The Client killed with SIGKILL during two downloads (one added as a `.torrent` file with a peer, one as a magnet
 * link with `x.pe`), both from rate-limited libtorrent seeders, then started again over the same state folder: the
 * same ids come back, both finish with the original bytes, and the second run fetches only what the first had not
 * verified.
 */
import { createHash } from "node:crypto"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import { freePort, interopSuite, lt, spawnTracked, startLtSeeder, tempDir, type Tracked, writeFiles } from "./harness.js"

const MiB = 1024 * 1024
const PIECE = 256 * 1024
const SIZE = 12 * MiB + 4321
const RATE = 3 * MiB
/** What a kill may cost per torrent beyond what was verified: pieces in flight and in the write backlog. */
const PER_TORRENT_LOSS = 2 * MiB + 4 * PIECE

interface Line {
  readonly added?: ReadonlyArray<{ readonly id: number; readonly hashString: string; readonly duplicate: boolean }>
  readonly freeSpace?: { readonly path: string; readonly sizeBytes: number; readonly totalSize: number }
  readonly downloadedThisRun?: number
  readonly torrents?: ReadonlyArray<{
    readonly id: number
    readonly hash: string
    readonly status: string
    readonly haveValid: number
    readonly totalSize: number
    readonly error: string
  }>
}

const lines = (proc: Tracked): ReadonlyArray<Line> =>
  proc.stdout().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Line)
const last = (proc: Tracked) => lines(proc).filter((line) => line.torrents !== undefined).at(-1)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const sha1 = async (path: string) => createHash("sha1").update(await readFile(path)).digest("hex")

const waitFor = async (proc: Tracked, what: string, condition: (line: Line) => boolean, ms: number): Promise<Line> => {
  const deadline = Date.now() + ms
  for (;;) {
    const line = last(proc)
    if (line !== undefined && condition(line)) return line
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${what}: not seen\nstdout:\n${proc.stdout().slice(-3000)}\nstderr:\n${proc.stderr().slice(-3000)}`)
    }
    await sleep(50)
  }
}

interopSuite("the Client killed with SIGKILL during two downloads and restarted", ["libtorrent"], () => {
  test("both resume, ids unchanged, nothing verified fetched again", async () => {
    const work = await tempDir()
    await writeFiles(join(work, "src", "first"), [{ path: "one.bin", size: SIZE }], 41)
    await writeFiles(join(work, "src", "second"), [{ path: "two.bin", size: SIZE }], 42)
    const torrents = [join(work, "first.torrent"), join(work, "second.torrent")]
    await lt(["create", join(work, "src", "first"), "--out", torrents[0]!, "--piece-length", String(PIECE)])
    await lt(["create", join(work, "src", "second"), "--out", torrents[1]!, "--piece-length", String(PIECE)])
    const seeders = await Promise.all(torrents.map((torrent) => startLtSeeder({ torrent, save: join(work, "src"), uploadLimit: RATE })))
    const { magnet } = (await lt(["magnet", torrents[1]!])) as { readonly magnet: string }

    const job = join(work, "job.json")
    await writeFile(job, JSON.stringify({
      stateDir: join(work, "state"),
      downloadDir: join(work, "out"),
      port: await freePort(),
      add: [
        { path: torrents[0], peers: [`127.0.0.1:${seeders[0]!.port}`] },
        { magnet: `${magnet}&x.pe=127.0.0.1:${seeders[1]!.port}` }
      ]
    }))
    const start = () => spawnTracked(process.execPath, ["test/interop/clientProcess.mjs", job])

    const first = start()
    await waitFor(
      first,
      "both downloading, a quarter done",
      (line) => line.torrents!.length === 2 && line.torrents!.every((t) => t.totalSize > 0 && t.haveValid >= SIZE / 4),
      60_000
    )
    const atKill = last(first)!
    first.child.kill("SIGKILL")
    await first.exited
    const firstAdded = lines(first).find((line) => line.added !== undefined)!.added!
    expect(firstAdded.map((a) => [a.id, a.duplicate])).toEqual([[1, false], [2, false]])
    const space = lines(first).find((line) => line.added !== undefined)!.freeSpace!
    expect(space.sizeBytes).toBeGreaterThan(0)
    expect(space.totalSize).toBeGreaterThanOrEqual(space.sizeBytes)
    expect(atKill.torrents!.every((t) => t.haveValid < SIZE), "the first run finished before its kill").toBe(true)

    const second = start()
    const done = await waitFor(second, "both seeding", (line) => line.torrents!.every((t) => t.status === "seeding"), 60_000)
    const secondAdded = lines(second).find((line) => line.added !== undefined)!.added!
    expect(secondAdded).toEqual(firstAdded.map((a) => ({ ...a, duplicate: true })))
    expect(done.torrents!.map((t) => [t.id, t.hash])).toEqual(atKill.torrents!.map((t) => [t.id, t.hash]))
    // What the first run had verified (its last line, under 200 ms before the kill) is not fetched again.
    const verifiedAtKill = atKill.torrents!.reduce((sum, t) => sum + t.haveValid, 0)
    expect(done.downloadedThisRun!).toBeLessThanOrEqual(2 * SIZE - verifiedAtKill + 2 * PER_TORRENT_LOSS)

    expect(await sha1(join(work, "out", "first", "one.bin"))).toBe(await sha1(join(work, "src", "first", "one.bin")))
    expect(await sha1(join(work, "out", "second", "two.bin"))).toBe(await sha1(join(work, "src", "second", "two.bin")))
  }, 150_000)
})
