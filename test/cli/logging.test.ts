/**
 * Logs a user can hand to someone else: `bt daemon --log-file` writes its journal there (text with times, or JSON
 * lines), rotated by size; a log file that cannot be written is one line naming it, exit 1; `--quiet` keeps the
 * daemon's journal to errors.
 */
import { describe, expect, it } from "@effect/vitest"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { btAsync, linesOf, startBt, workDir } from "./bt.js"

const dir = workDir()

/** Nothing that reaches past 127.0.0.1: no DHT, no gateway asked for a port mapping, no LSD multicast. */
const OFFLINE = ["--no-dht", "--no-port-mapping", "--no-lsd"]

/** A TCP port free on 127.0.0.1 a moment ago. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer().once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** Runs `bt daemon` until its log file says it is up, then stops it with SIGTERM (by its pid); bounded. */
const runDaemon = async (name: string, extra: ReadonlyArray<string>) => {
  const log = join(dir, `${name}.log`)
  const data = join(dir, `${name}-data`)
  mkdirSync(data, { recursive: true })
  const child = startBt(
    ["daemon", ...OFFLINE, "--rpc-port", "0", "--port", "0", "--download-dir", data, "--log-file", log, ...extra],
    { cwd: dir }
  )
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
  const up = (): boolean => existsSync(log) && readFileSync(log, "utf8").includes("RPC at")
  for (let i = 0; i < 600 && !up() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100))
  const wasUp = up()
  child.kill("SIGTERM")
  const code = await exited
  return { log, code, stderr, wasUp }
}

/**
 * A daemon started, waited for (up to 60 s) and stopped: on a loaded machine Node's start alone can take seconds,
 * so these tests get more than the unit suite's 30 s.
 */
const DAEMON_TEST_MS = 90_000

describe("logs", () => {
  it("bt daemon --log-file: its journal goes to the file, each line with its time, nothing on stderr", async () => {
    const run = await runDaemon("text", [])
    expect(run.wasUp, run.stderr).toBe(true)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toBe("")
    const lines = linesOf(readFileSync(run.log, "utf8"))
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: bt daemon: RPC at http:\/\/127\.0\.0\.1:\d+\//)
    expect(lines.at(-1)).toMatch(/Z info: stopped$/)
  }, DAEMON_TEST_MS)

  it("--log-format json writes one JSON object a line; --log-max-size rotates the file, keeping the older lines", async () => {
    const run = await runDaemon("json", ["--log-format", "json", "--log-max-size", "300"])
    expect(run.wasUp, run.stderr).toBe(true)
    expect(run.code, run.stderr).toBe(0)
    const older = linesOf(readFileSync(`${run.log}.1`, "utf8")).map((line) => JSON.parse(line))
    const newer = linesOf(readFileSync(run.log, "utf8")).map((line) => JSON.parse(line))
    expect(older[0]).toMatchObject({ level: "info", message: expect.stringMatching(/^bt daemon: RPC at /) })
    expect(typeof older[0].time).toBe("string")
    expect(newer.at(-1)).toMatchObject({ level: "info", message: "stopped" })
  }, DAEMON_TEST_MS)

  it("--quiet keeps the journal to errors: a daemon that started, served and stopped cleanly logs nothing", async () => {
    const log = join(dir, "quiet.log")
    const port = await freePort()
    const data = join(dir, "quiet-data")
    mkdirSync(data, { recursive: true })
    const child = startBt(
      ["daemon", ...OFFLINE, "--rpc-port", String(port), "--port", "0", "--download-dir", data, "--quiet", "--log-file", log],
      { cwd: dir }
    )
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
    // Up once its RPC answers (409 and a session id, as Transmission's does); bounded.
    let answered = false
    for (let i = 0; i < 600 && !answered && child.exitCode === null; i++) {
      answered = await fetch(`http://127.0.0.1:${port}/transmission/rpc`, { signal: AbortSignal.timeout(2_000) })
        .then(() => true, () => false)
      if (!answered) await new Promise((r) => setTimeout(r, 100))
    }
    child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(answered).toBe(true)
    // Without --quiet the same run logs its start, the signal and "stopped" (the test above).
    expect(readFileSync(log, "utf8")).toBe("")
  }, DAEMON_TEST_MS)

  it("a log file that cannot be written is one line naming it, exit 1", async () => {
    const result = await btAsync(["info", "x.torrent", "--log-file", join(dir, "no", "such", "folder", "bt.log")], { cwd: dir })
    expect(result.code).toBe(1)
    expect(linesOf(result.stderr)).toEqual([`bt: --log-file ${join(dir, "no", "such", "folder", "bt.log")}: cannot write it (its folder does not exist)`])
  })

  it("--log-format other than text or json is a usage error", async () => {
    const result = await btAsync(["info", "x.torrent", "--log-format", "yaml"], { cwd: dir })
    expect(result.code).toBe(2)
    expect(linesOf(result.stderr)[0]).toBe("bt: --log-format yaml: expected text or json")
  })
})
