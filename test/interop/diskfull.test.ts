/**
 * `bt download` onto a disk that fills up: a 2 MiB tmpfs as the download folder for a 4 MiB torrent from a
 * libtorrent seeder. bt must stop with one `bt: ...` line naming the file and the lack of space, exit non-zero,
 * write nothing outside the folder, and (the tmpfs grown) finish in a second run without fetching again what the
 * first run verified.
 *
 * Mounting needs root (CAP_SYS_ADMIN), which CI has: there a refused mount fails the test; elsewhere it is skipped,
 * loudly.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdir, readdir, readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { afterEach, expect, test, type TestContext } from "vitest"
import {
  freePort,
  interopSuite,
  lt,
  type LtInfo,
  type RunResult,
  runBt,
  startLtSeeder,
  tempDir,
  writeFiles
} from "./harness.js"
import { listFiles } from "./leechers.js"

const MiB = 1024 * 1024

// ---------------------------------------------------------------------------------------------------------------
// tmpfs mounts, always unmounted after the test

const mounts = new Set<string>()

const sh = (cmd: string, args: ReadonlyArray<string>) => {
  const result = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 })
  const output = `${result.stderr ?? ""}${result.stdout ?? ""}${result.error?.message ?? ""}`.trim()
  return { ok: result.status === 0, output }
}

/**
 * Mounts a tmpfs of `size` (mount's syntax: "2m") on `dir`. Without the right to mount, the test fails under
 * CI=true and is skipped elsewhere.
 */
const mountTmpfs = (ctx: TestContext, dir: string, size: string): void => {
  const mounted = sh("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir])
  if (mounted.ok) {
    mounts.add(dir)
    return
  }
  const message = `cannot mount a tmpfs on ${dir} (uid ${process.getuid?.()}): ${mounted.output || "mount failed"}; ` +
    "this test needs root (CAP_SYS_ADMIN), as CI runs it"
  if (process.env.CI === "true") throw new Error(message)
  process.stderr.write(`\n!!! SKIPPING: ${message}\n\n`)
  ctx.skip()
}

const unmountAll = (): void => {
  for (const dir of mounts) {
    // A lazy unmount if something still holds a file there: the mount must not outlive the test.
    if (!sh("umount", [dir]).ok) sh("umount", ["-l", dir])
    mounts.delete(dir)
  }
}

// ---------------------------------------------------------------------------------------------------------------

const sha1 = async (path: string): Promise<string> => createHash("sha1").update(await readFile(path)).digest("hex")

const describeRun = (result: RunResult): string =>
  `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`

interface ProgressLine {
  readonly event: "progress" | "done"
  readonly bytesVerified?: number
  readonly downloaded: number
}

const jsonLines = (result: RunResult): ReadonlyArray<ProgressLine> =>
  result.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as ProgressLine)

interopSuite("bt download onto a full disk", ["libtorrent"], () => {
  afterEach(unmountAll)

  test("4 MiB into a 2 MiB tmpfs: one error line naming the file, nothing written elsewhere; then it resumes", async (ctx) => {
    const work = await tempDir()
    const size = 4 * MiB + 12_345
    await writeFiles(join(work, "src"), [{ path: "big.bin", size }], 77)
    const torrent = join(work, "t.torrent")
    const pieceLength = 64 * 1024
    const info = (await lt(
      ["create", join(work, "src", "big.bin"), "--out", torrent, "--piece-length", String(pieceLength)]
    )) as LtInfo
    // About 1.5 MiB/s, so the first run reports progress before the disk is full.
    const seeder = await startLtSeeder({ torrent, save: join(work, "src"), uploadLimit: 1536 * 1024 })

    const folder = join(work, "mnt")
    const state = join(work, "state")
    const cwd = join(work, "cwd")
    await Promise.all([mkdir(folder), mkdir(state), mkdir(cwd)])
    mountTmpfs(ctx, folder, "2m")
    const outside = await listFiles(work)

    const args = [
      "download", torrent, "-o", folder, "--peer", `127.0.0.1:${seeder.port}`, "--no-trackers",
      "--state-dir", state, "--port", String(await freePort()), "--json"
    ]
    const full = await runBt(args, { cwd, timeoutMs: 60_000 })
    const context = describeRun(full)

    expect(full.code, context).toBe(1)
    const lines = full.stderr.split("\n").filter((line) => line.trim() !== "")
    expect(lines, context).toEqual([
      `bt: cannot write ${join(folder, "big.bin")}: no space left on device; free some space and resume`
    ])
    expect(jsonLines(full).some((line) => line.event === "done"), context).toBe(false)

    // Inside the folder only the torrent's file, as large as the disk let it be; outside it nothing new but the
    // resume state, in the state folder.
    expect(Object.keys(await listFiles(folder)), context).toEqual(["big.bin"])
    expect((await stat(join(folder, "big.bin"))).blocks * 512, context).toBeLessThanOrEqual(2 * MiB)
    const after = await listFiles(work)
    const added = Object.keys(after).filter((path) => !(path in outside) && !path.startsWith("mnt/"))
    expect(added, context).toEqual([`state/${info.info_hash}.resume`])
    for (const [path, bytes] of Object.entries(outside)) if (!path.startsWith("mnt/")) expect(after[path], path).toBe(bytes)

    // Room again (a tmpfs grows in place, keeping its files): the second run fetches only what the first did not
    // verify. The first run's last progress line is a lower bound of what it had verified.
    const verifiedBefore = Math.max(0, ...jsonLines(full).map((line) => line.bytesVerified ?? 0))
    expect(verifiedBefore, context).toBeGreaterThan(0)
    expect(sh("mount", ["-o", "remount,size=8m", folder]).ok).toBe(true)
    const resumed = await runBt(args, { cwd, timeoutMs: 60_000 })
    const resumedContext = describeRun(resumed)
    expect(resumed.code, resumedContext).toBe(0)
    const done = jsonLines(resumed).find((line) => line.event === "done")
    expect(done, resumedContext).toBeDefined()
    expect(done!.downloaded, resumedContext).toBeLessThanOrEqual(size - verifiedBefore)
    expect(await sha1(join(folder, "big.bin"))).toBe(await sha1(join(work, "src", "big.bin")))
    expect(await readdir(cwd)).toEqual([])
  }, 120_000)

  test("a read-only download folder: one error line naming it, exit 1, nothing written", async (ctx) => {
    const work = await tempDir()
    await writeFiles(join(work, "src"), [{ path: "small.bin", size: 300_000 }], 78)
    const torrent = join(work, "t.torrent")
    await lt(["create", join(work, "src", "small.bin"), "--out", torrent, "--piece-length", "32768"])
    const seeder = await startLtSeeder({ torrent, save: join(work, "src") })
    const folder = join(work, "ro")
    await mkdir(folder)
    mountTmpfs(ctx, folder, "1m")
    expect(sh("mount", ["-o", "remount,ro", folder]).ok).toBe(true)

    const result = await runBt([
      "download", torrent, "-o", folder, "--peer", `127.0.0.1:${seeder.port}`, "--no-trackers",
      "--state-dir", join(work, "state"), "--port", String(await freePort())
    ], { timeoutMs: 60_000 })
    const context = describeRun(result)
    expect(result.code, context).toBe(1)
    const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
    expect(lines.length, context).toBe(1)
    expect(lines[0], context).toMatch(/^bt: cannot \w+ .*small\.bin: .*read-only/)
    expect(await readdir(folder)).toEqual([])
  }, 120_000)
})
