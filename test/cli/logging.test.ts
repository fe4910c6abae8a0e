/**
 * Logs a user can hand to someone else: `bt daemon --log-file` writes its journal there (text with times, or JSON
 * lines), rotated by size; a log file that cannot be written is one line naming it, exit 1; `--quiet` keeps the
 * daemon's journal to errors.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs"
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
 * Starts `bt daemon` with its RPC on a free port and its log in NAME.log (on stderr with `toFile` false); the caller
 * waits for it and stops it.
 */
const startDaemon = async (name: string, extra: ReadonlyArray<string>, toFile = true) => {
  const log = join(dir, `${name}.log`)
  const port = await freePort()
  const data = join(dir, `${name}-data`)
  mkdirSync(data, { recursive: true })
  const child = startBt(
    ["daemon", ...OFFLINE, "--rpc-port", String(port), "--port", "0", "--download-dir", data, ...extra, ...(toFile ? ["--log-file", log] : [])],
    { cwd: dir }
  )
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
  return { log, port, child, exited }
}

/** The RPC's answer to a session-get (after the 409 that hands out the session id), or undefined; bounded. */
const sessionGet = async (port: number): Promise<string | undefined> => {
  const url = `http://127.0.0.1:${port}/transmission/rpc`
  const body = JSON.stringify({ method: "session-get" })
  const first = await fetch(url, { method: "POST", body, signal: AbortSignal.timeout(5_000) })
  const id = first.headers.get("x-transmission-session-id") ?? ""
  const second = await fetch(url, {
    method: "POST",
    body,
    headers: { "x-transmission-session-id": id },
    signal: AbortSignal.timeout(5_000)
  })
  return second.ok ? (await second.json() as { result: string }).result : undefined
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
    const { child, exited, log, port } = await startDaemon("quiet", ["--quiet"])
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

  it("SIGHUP reopens the daemon's log file (as logrotate's postrotate expects); the daemon carries on", async () => {
    const { child, exited, log, port } = await startDaemon("hup", [])
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
    const waitFor = async (ok: () => boolean) => {
      for (let i = 0; i < 600 && !ok() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100))
      return ok()
    }
    const has = (file: string, text: string) => existsSync(file) && readFileSync(file, "utf8").includes(text)
    try {
      expect(await waitFor(() => has(log, "RPC at")), stderr).toBe(true)
      renameSync(log, `${log}.1`)
      child.kill("SIGHUP")
      // The daemon says it reopened the log: that line lands in a new file at the same path.
      expect(await waitFor(() => has(log, "SIGHUP: log")), stderr).toBe(true)
      expect(child.exitCode).toBe(null)
      expect(await sessionGet(port)).toBe("success")
    } finally {
      child.kill("SIGTERM")
    }
    expect(await exited, stderr).toBe(0)
    expect(stderr).toBe("")
    const older = readFileSync(`${log}.1`, "utf8")
    const newer = linesOf(readFileSync(log, "utf8"))
    expect(older).toContain("RPC at")
    expect(older).not.toContain("SIGHUP")
    expect(older).not.toContain("stopped")
    expect(newer[0]).toMatch(/Z info: SIGHUP: log \S+ reopened; torrents carry on$/)
    expect(newer[0]).toContain(` ${log} `)
    expect(newer.join("\n")).not.toContain("RPC at")
    expect(newer.at(-1)).toMatch(/Z info: stopped$/)
  }, DAEMON_TEST_MS)

  it("SIGHUP to a daemon that logs to stderr: nothing to reopen, it says so and carries on", async () => {
    const { child, exited, port } = await startDaemon("hup-stderr", [], false)
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
    const waitFor = async (ok: () => boolean) => {
      for (let i = 0; i < 600 && !ok() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100))
      return ok()
    }
    try {
      expect(await waitFor(() => stderr.includes("RPC at")), stderr).toBe(true)
      child.kill("SIGHUP")
      expect(await waitFor(() => stderr.includes("SIGHUP")), stderr).toBe(true)
      expect(child.exitCode).toBe(null)
      expect(await sessionGet(port)).toBe("success")
    } finally {
      child.kill("SIGTERM")
    }
    expect(await exited, stderr).toBe(0)
    expect(linesOf(stderr)).toContain("bt: info: SIGHUP: no --log-file to reopen (the log goes to stderr); torrents carry on")
  }, DAEMON_TEST_MS)

  it("SIGHUP while the daemon starts (a reload racing the start) does not end it", async () => {
    // Its configuration file is a FIFO that nobody writes yet, so the daemon stops at reading it, early in its start.
    const config = join(dir, "hup-early.json")
    execFileSync("mkfifo", [config])
    const { child, exited, port } = await startDaemon("hup-early", ["--config", config], false)
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
    // Node takes signals over only once its JavaScript runs (before that, ~50 ms of its own start, a SIGHUP ends any
    // Node program). The daemon must catch SIGHUP (bit 0 of SigCgt in /proc/PID/status) once it waits there.
    const catchesHangup = () => {
      try {
        const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1]
        return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n
      } catch {
        return false
      }
    }
    const waitFor = async (ok: () => boolean) => {
      for (let i = 0; i < 1500 && !ok() && child.exitCode === null && child.signalCode === null; i++) {
        await new Promise((r) => setTimeout(r, 20))
      }
      return ok()
    }
    // Opening the FIFO to write without waiting succeeds only once the daemon has it open to read (ENXIO before).
    let fifo: number | undefined
    const readingConfig = () => {
      if (fifo !== undefined) return true
      try {
        fifo = openSync(config, constants.O_WRONLY | constants.O_NONBLOCK)
        return true
      } catch {
        return false
      }
    }
    try {
      expect(await waitFor(readingConfig), stderr).toBe(true)
      expect(catchesHangup(), stderr).toBe(true)
      child.kill("SIGHUP")
      // The configuration arrives, and from then until the RPC is up, a hangup every 20 ms: through loading its
      // state and binding its ports.
      writeSync(fifo!, "{}")
      closeSync(fifo!)
      expect(await waitFor(() => {
        child.kill("SIGHUP")
        return stderr.includes("RPC at")
      }), `exit ${child.exitCode} ${child.signalCode}: ${stderr}`).toBe(true)
      expect(child.signalCode, stderr).toBe(null)
      expect(await sessionGet(port)).toBe("success")
    } finally {
      child.kill("SIGTERM")
    }
    expect(await exited, stderr).toBe(0)
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
