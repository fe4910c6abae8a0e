/**
 * Child processes for the benchmarks: every one tracked by PID until it exits, every wait bounded, and a sampler
 * that reads the peak resident set (VmHWM) and CPU time from /proc while the process runs. Only processes started
 * here are ever signalled.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"

export interface Exit {
  /** Exit code; null when ended by a signal or never started. */
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** Wall time from spawn to exit. */
  readonly seconds: number
  /** Peak resident set (VmHWM) seen while it ran, in bytes; undefined when never sampled. */
  readonly peakRss: number | undefined
  /** User + system CPU time at the last sample before exit, in seconds. */
  readonly cpuSeconds: number | undefined
}

export interface Proc {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Settles once the process has exited and its output is closed; never rejects. */
  readonly exited: Promise<Exit>
}

const tracked = new Set<ChildProcess>()
const GRACE_MS = 3_000
const SAMPLE_MS = 100
const CLOCK_TICKS = 100 // USER_HZ on Linux

const sampleProc = (pid: number): { rss?: number; cpu?: number } => {
  const out: { rss?: number; cpu?: number } = {}
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    if (m?.[1] !== undefined) out.rss = Number(m[1]) * 1024
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    out.cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    // The process is gone (or not yet there): keep the last sample.
  }
  return out
}

/** The process's user + system CPU time now, in seconds; undefined once it is gone. */
export const cpuSecondsNow = (proc: Proc): number | undefined =>
  proc.child.pid === undefined ? undefined : sampleProc(proc.child.pid).cpu

/** The process's resident set now (VmRSS), in bytes; undefined once it is gone. */
export const rssNow = (proc: Proc): number | undefined => {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${proc.child.pid}/status`, "utf8"))
    return m?.[1] === undefined ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

/** Starts a process (stdin ignored) that is tracked until it exits and sampled every 100 ms. */
export const spawnTracked = (cmd: string, args: ReadonlyArray<string>, opts: { cwd?: string } = {}): Proc => {
  const started = performance.now()
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) })
  tracked.add(child)
  let stdout = ""
  let stderr = ""
  let peakRss: number | undefined
  let cpuSeconds: number | undefined
  const sample = (): void => {
    if (child.pid === undefined) return
    const s = sampleProc(child.pid)
    if (s.rss !== undefined) peakRss = Math.max(peakRss ?? 0, s.rss)
    if (s.cpu !== undefined) cpuSeconds = s.cpu
  }
  const sampler = setInterval(sample, SAMPLE_MS)
  child.stdout?.setEncoding("utf8").on("data", (s: string) => (stdout += s))
  child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s))
  let ended = 0
  child.once("exit", () => {
    ended = performance.now()
    clearInterval(sampler)
    tracked.delete(child)
  })
  const exited = new Promise<Exit>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null, extra = ""): void =>
      resolve({
        code,
        signal,
        stdout,
        stderr: stderr + extra,
        seconds: ((ended || performance.now()) - started) / 1000,
        peakRss,
        cpuSeconds
      })
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => done(code, signal))
    child.on("error", (error) => {
      if (child.pid !== undefined) return
      clearInterval(sampler)
      tracked.delete(child)
      done(null, null, `spawn ${cmd}: ${error.message}\n`)
    })
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null

const exitWithin = (child: ChildProcess, ms: number): Promise<boolean> =>
  hasExited(child) || child.pid === undefined
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const onExit = (): void => {
          clearTimeout(timer)
          resolve(true)
        }
        const timer = setTimeout(() => {
          child.off("exit", onExit)
          resolve(false)
        }, ms)
        child.once("exit", onExit)
      })

/** SIGTERM, then SIGKILL after a short grace. */
export const stop = async (proc: Proc): Promise<void> => {
  const { child } = proc
  if (child.pid === undefined || hasExited(child)) return
  child.kill("SIGTERM")
  if (await exitWithin(child, GRACE_MS)) return
  child.kill("SIGKILL")
  await exitWithin(child, GRACE_MS)
}

/** Stops every process started here that is still running. */
export const stopAll = async (): Promise<void> => {
  await Promise.all(
    [...tracked].map(async (child) => {
      if (child.pid === undefined || hasExited(child)) return
      child.kill("SIGTERM")
      if (!(await exitWithin(child, GRACE_MS))) child.kill("SIGKILL")
    })
  )
}

/** For process.on("exit"): nothing async is possible there, so SIGKILL what is left. */
export const killAllNow = (): void => {
  for (const child of tracked) if (!hasExited(child)) child.kill("SIGKILL")
}

export class RunError extends Error {}

/** Waits for the process to exit within `ms`; otherwise stops it and throws. */
export const exitBounded = async (proc: Proc, ms: number, what: string): Promise<Exit> => {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([proc.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))])
  clearTimeout(timer)
  if (result !== undefined) return result
  await stop(proc)
  throw new RunError(`${what}: did not finish within ${Math.round(ms / 1000)} s (stopped)${tail(proc.stderr())}`)
}

/** Runs a process to completion within `ms`; throws on a timeout or a non-zero exit. */
export const runBounded = async (
  cmd: string,
  args: ReadonlyArray<string>,
  ms: number,
  what: string,
  opts: { cwd?: string } = {}
): Promise<Exit> => {
  const exit = await exitBounded(spawnTracked(cmd, args, opts), ms, what)
  if (exit.code !== 0) {
    throw new RunError(`${what}: exited with ${exit.code ?? exit.signal}${tail(exit.stderr || exit.stdout)}`)
  }
  return exit
}

export const tail = (text: string, n = 600): string => {
  const t = text.trim()
  return t === "" ? "" : `: ${t.length > n ? `…${t.slice(-n)}` : t}`
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits, bounded, for a stdout line that `match` accepts; throws if the process exits first or time runs out. */
export const waitForLine = async (proc: Proc, match: (line: string) => boolean, ms: number, what: string): Promise<string> => {
  const deadline = Date.now() + ms
  const find = (): string | undefined => proc.stdout().split("\n").slice(0, -1).find(match)
  for (;;) {
    const line = find()
    if (line !== undefined) return line
    if (hasExited(proc.child) || proc.child.pid === undefined) {
      const exit = await proc.exited
      const last = find()
      if (last !== undefined) return last
      throw new RunError(`${what}: exited (${exit.code ?? exit.signal}) before it was ready${tail(exit.stderr)}`)
    }
    if (Date.now() > deadline) {
      await stop(proc)
      throw new RunError(`${what}: not ready within ${Math.round(ms / 1000)} s${tail(proc.stderr())}`)
    }
    await sleep(50)
  }
}
