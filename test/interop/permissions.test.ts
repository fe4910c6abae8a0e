/**
 * A download folder bt may not write (EACCES), for real: the tests run as root, which ignores permissions, so bt
 * runs here as another user (`setpriv` to uid/gid 65534, nobody) against a folder owned by root, mode 0755, with a
 * libtorrent seeder on 127.0.0.1 sending it data. `bt download` stops with one `bt: ...` line naming the folder and
 * the permission problem, exit 1; the daemon shows the same in torrent-get's errorString and keeps answering; `bt
 * create` into that folder and `bt verify` of a file only root may read say so in one line too.
 *
 * Not root: the test cannot become another user; it fails under CI=true and is skipped, loudly, elsewhere.
 */
import { spawnSync } from "node:child_process"
import { chmod, chown, mkdir, readdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { expect, test, type TestContext } from "vitest"
import {
  btArgs,
  freePort,
  interopSuite,
  lt,
  rpcCall,
  run,
  type RunResult,
  spawnTracked,
  startLtSeeder,
  tempDir,
  until,
  writeFiles
} from "./harness.js"

const NOBODY = 65534
const AS_NOBODY = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"]

const describeRun = (result: RunResult): string => `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`

/** Root, and setpriv there: else the test fails under CI and is skipped elsewhere. */
const needRoot = (ctx: TestContext): void => {
  const setpriv = spawnSync("setpriv", ["--version"], { encoding: "utf8", timeout: 10_000 })
  if (process.getuid?.() === 0 && setpriv.status === 0) return
  const message = `bt cannot run as another user here (uid ${process.getuid?.()}, setpriv ` +
    `${setpriv.status === 0 ? "found" : "missing"}); this test needs root and util-linux's setpriv, as CI has`
  if (process.env.CI === "true") throw new Error(message)
  process.stderr.write(`\n!!! SKIPPING: ${message}\n\n`)
  ctx.skip()
}

/**
 * A folder for one test that nobody can read: the torrent and the seeder's data (root's), `locked` (root's, 0755:
 * nobody may not write it), and nobody's own state folder and working directory.
 */
const setUp = async (seed: number) => {
  const work = await tempDir()
  await chmod(work, 0o755)
  await writeFiles(join(work, "src"), [{ path: "small.bin", size: 300_000 }], seed)
  const torrent = join(work, "t.torrent")
  await lt(["create", join(work, "src", "small.bin"), "--out", torrent, "--piece-length", "32768"])
  await chmod(torrent, 0o644)
  const locked = join(work, "locked")
  const state = join(work, "state")
  await Promise.all([mkdir(locked, { mode: 0o755 }), mkdir(state)])
  await chmod(locked, 0o755)
  await chown(state, NOBODY, NOBODY)
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: state, XDG_CONFIG_HOME: join(state, "config"), BT_STATE_DIR: state }
  delete env["BT_CONFIG"]
  return { work, torrent, locked, state, env }
}

/** The built bt must be readable by nobody (it is run from the worktree): a clear failure if it is not. */
const checkReadable = async (env: NodeJS.ProcessEnv, cwd: string): Promise<void> => {
  const version = await run("setpriv", [...AS_NOBODY, process.execPath, ...btArgs(["--version"])], { cwd, env })
  expect(version.code, `bt --version as uid ${NOBODY} (is dist/ readable by all?)\n${describeRun(version)}`).toBe(0)
}

interopSuite("a download folder bt may not write (EACCES)", ["libtorrent"], () => {
  test("bt download as another user into root's 0755 folder: one line naming the folder and the permission", async (ctx) => {
    needRoot(ctx)
    const { env, locked, state, torrent, work } = await setUp(81)
    await checkReadable(env, state)
    const seeder = await startLtSeeder({ torrent, save: join(work, "src") })

    const result = await run("setpriv", [
      ...AS_NOBODY, process.execPath, ...btArgs([
        "download", torrent, "-o", locked, "--peer", `127.0.0.1:${seeder.port}`, "--no-trackers",
        "--state-dir", state, "--port", String(await freePort())
      ])
    ], { cwd: state, env, timeoutMs: 60_000 })
    const context = describeRun(result)
    expect(result.code, context).toBe(1)
    const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
    expect(lines, context).toEqual([
      `bt: cannot open ${join(locked, "small.bin")}: permission denied: this user (uid ${NOBODY}) may not create ` +
      `anything in ${locked}; change that folder's permissions or choose another download folder`
    ])
    expect(result.stdout + result.stderr, context).not.toMatch(/\n\s+at |Error:/)
    expect(await readdir(locked)).toEqual([])
  }, 120_000)

  test("bt create into root's folder, bt verify of a file only root may read: one line each naming the path", async (ctx) => {
    needRoot(ctx)
    const { env, locked, state, torrent, work } = await setUp(83)
    await checkReadable(env, state)
    const asNobody = (args: ReadonlyArray<string>) =>
      run("setpriv", [...AS_NOBODY, process.execPath, ...btArgs(args)], { cwd: state, env, timeoutMs: 60_000 })
    const created = await asNobody(["create", join(work, "src", "small.bin"), "-o", join(locked, "x.torrent")])
    expect(created.code, describeRun(created)).toBe(1)
    expect(created.stderr.split("\n").filter((l) => l !== ""), describeRun(created)).toEqual([
      `bt: cannot write ${join(locked, "x.torrent")}: permission denied`
    ])
    // The seeder's data, mode 0600 and root's: readable by root only.
    await chmod(join(work, "src", "small.bin"), 0o600)
    const verified = await asNobody(["verify", torrent, "-d", join(work, "src")])
    expect(verified.code, describeRun(verified)).toBe(1)
    expect(verified.stderr.split("\n").filter((l) => l !== ""), describeRun(verified)).toEqual([
      `bt: cannot open ${join(work, "src", "small.bin")}: permission denied; check the permissions of the file and its folder`
    ])
    expect(await readdir(locked)).toEqual([])
  }, 120_000)

  test("bt daemon as another user: torrent-add into root's folder shows the error in errorString; the daemon runs on", async (ctx) => {
    needRoot(ctx)
    const { env, locked, state, torrent, work } = await setUp(82)
    await checkReadable(env, state)
    const rpcPort = await freePort()
    const peerPort = await freePort()
    const log = join(state, "daemon.log")
    await writeFile(log, "")
    await chown(log, NOBODY, NOBODY)
    const daemon = spawnTracked("setpriv", [
      ...AS_NOBODY, process.execPath, ...btArgs([
        "daemon", "--rpc-port", String(rpcPort), "--port", String(peerPort), "--download-dir", locked,
        "--state-dir", state, "--log-file", log
      ])
    ], { cwd: state, env })
    const address = `127.0.0.1:${rpcPort}`
    // Every wait bounded, and a failure shows what the daemon said.
    const bounded = <A>(what: string, ms: number, promise: Promise<A>): Promise<A> => {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
      })
      return Promise.race([promise, timeout]).finally(() => clearTimeout(timer)).catch(async (error: Error) => {
        throw new Error(`${error.message}\ndaemon stderr: ${daemon.stderr()}\ndaemon log: ${await readFile(log, "utf8")}`)
      })
    }
    const call = (method: string, args: Record<string, unknown>) => bounded(method, 10_000, rpcCall(address, method, args))
    const step = <A>(what: string, ms: number, check: () => Promise<A | undefined>): Promise<A> =>
      bounded(what, ms + 10_000, until(what, ms, check))
    await step("the daemon's RPC", 60_000, () =>
      call("session-get", {}).then((answer) => answer.result === "success" ? true : undefined, () => undefined))

    const metainfo = (await readFile(torrent)).toString("base64")
    const added = await call("torrent-add", { metainfo })
    expect(added.result, JSON.stringify(added)).toBe("success")
    // libtorrent dials the daemon itself: a torrent-add names no peers, and there is no tracker.
    await startLtSeeder({ torrent, save: join(work, "src"), peers: [`127.0.0.1:${peerPort}`] })

    const errorString = await step("an errorString on the torrent", 60_000, async () => {
      const got = await call("torrent-get", { fields: ["id", "error", "errorString"] })
      const first = got.arguments?.torrents?.[0] as { error: number; errorString: string } | undefined
      return first !== undefined && first.error !== 0 ? first.errorString : undefined
    })
    expect(errorString).toContain(join(locked, "small.bin"))
    expect(errorString).toContain(`may not create anything in ${locked}`)
    // Still there, still answering.
    expect(daemon.child.exitCode).toBe(null)
    expect((await call("session-get", {})).result).toBe("success")
    daemon.child.kill("SIGTERM")
    const stopped = await bounded("the daemon's stop", 30_000, daemon.exited)
    expect(stopped.code, describeRun(stopped)).toBe(0)
    expect(await readdir(locked)).toEqual([])
  }, 150_000)
})
