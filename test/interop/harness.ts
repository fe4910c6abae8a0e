/**
 * Helpers for interop tests: tool checks, temp dirs, deterministic data, and child processes that are always
 * ended (by PID, only the ones we started) and always waited on for a bounded time.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { mkdir, mkdtemp, open, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach, beforeAll, describe, test } from "vitest"

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

/** Debian's interpreter: the one python3-libtorrent is built for. */
export const debianPython = "/usr/bin/python3"

// ---------------------------------------------------------------------------------------------------------------
// Suites

const onPath = (exe: string): boolean =>
  (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, exe), constants.X_OK)
      return true
    } catch {
      return false
    }
  })

const available = (tool: string): boolean =>
  tool === "libtorrent"
    ? spawnSync(debianPython, ["-c", "import libtorrent"], { stdio: "ignore", timeout: 10_000 }).status === 0
    : onPath(tool)

/**
 * `describe(name, body)` when every tool is available: executables on PATH, or "libtorrent" for Debian's Python
 * bindings. Stops a test's processes after it, and the suite's processes and temp dirs after the suite. When a tool
 * is missing the suite fails under CI=true and is skipped, loudly, elsewhere.
 */
export const interopSuite = (name: string, tools: ReadonlyArray<string>, body: () => void): void => {
  const missing = tools.filter((tool) => !available(tool))
  if (missing.length === 0) {
    describe(name, () => {
      // Test files share one worker process, so the exit handler is added and removed per suite.
      beforeAll(() => void process.on("exit", killOnExit))
      afterEach(() => stopTracked("test"))
      afterAll(async () => {
        process.off("exit", killOnExit)
        await stopTracked("suite")
        await removeTempDirs()
      })
      body()
    })
    return
  }
  const message = `interop tools missing: ${missing.join(", ")} (install them with scripts/install-interop-peers.sh)`
  if (process.env.CI === "true") {
    describe(name, () => {
      test("interop tools are installed", () => {
        throw new Error(message)
      })
    })
    return
  }
  process.stderr.write(`\n!!! SKIPPING interop suite "${name}": ${message}\n\n`)
  describe.skipIf(true)(name, body)
}

// ---------------------------------------------------------------------------------------------------------------
// Files

const tempDirs = new Set<string>()

/** A fresh directory under os.tmpdir(), removed after the enclosing interop suite. */
export const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), "bt-interop-"))
  tempDirs.add(dir)
  return dir
}

const removeTempDirs = async (): Promise<void> => {
  const dirs = [...tempDirs]
  tempDirs.clear()
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
}

export interface FileSpec {
  readonly path: string
  readonly size: number
}

/**
 * Writes each file (path relative to dir, parents created) with pseudo-random bytes from one xorshift32 stream
 * seeded by `seed` (non-zero), so the same spec and seed always give the same bytes.
 */
export const writeFiles = async (dir: string, spec: ReadonlyArray<FileSpec>, seed: number): Promise<void> => {
  const chunk = Buffer.alloc(1 << 20)
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length / 4)
  let state = seed >>> 0 || 1
  for (const file of spec) {
    const path = join(dir, file.path)
    await mkdir(dirname(path), { recursive: true })
    const handle = await open(path, "w")
    try {
      for (let done = 0; done < file.size; ) {
        const n = Math.min(chunk.length, file.size - done)
        for (let i = 0; i < Math.ceil(n / 4); i++) {
          state ^= state << 13
          state ^= state >>> 17
          state ^= state << 5
          words[i] = state
        }
        await handle.write(chunk, 0, n)
        done += n
      }
    } finally {
      await handle.close()
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

export interface RunResult {
  /** Exit code; null when the process was ended by a signal or could not be started. */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface Tracked {
  readonly child: ChildProcess
  /** Output so far. */
  readonly stdout: () => string
  readonly stderr: () => string
  /** Settles when the process has exited and its output is closed; never rejects. */
  readonly exited: Promise<RunResult>
}

export interface SpawnOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  /**
   * "test" (default): stopped after the current test. "suite": stopped after the suite, for processes started in
   * beforeAll and shared by its tests.
   */
  readonly scope?: "test" | "suite"
}

type Scope = NonNullable<SpawnOptions["scope"]>

const tracked = new Map<ChildProcess, Scope>()
const GRACE_MS = 2_000

/** Last resort if the worker exits before the hooks ran: the OS would otherwise keep our children. */
const killOnExit = (): void => {
  for (const child of tracked.keys()) child.kill("SIGKILL")
}

/** Starts a process (stdin closed) whose PID is tracked until it exits; the enclosing suite stops it. */
export const spawnTracked = (cmd: string, args: ReadonlyArray<string>, opts: SpawnOptions = {}): Tracked => {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  tracked.set(child, opts.scope ?? "test")
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (s: string) => (stdout += s))
  child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s))
  child.once("exit", () => tracked.delete(child))
  const exited = new Promise<RunResult>((resolve) => {
    child.once("close", (code: number | null) => resolve({ code, stdout, stderr }))
    // Only a failed spawn leaves no PID; other errors (a failed kill) leave the process to its exit.
    child.on("error", (error) => {
      if (child.pid !== undefined) return
      tracked.delete(child)
      resolve({ code: null, stdout, stderr: `${stderr}spawn ${cmd}: ${error.message}\n` })
    })
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null

const exitWithin = (child: ChildProcess, ms: number): Promise<boolean> =>
  hasExited(child)
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

/** SIGTERM, then SIGKILL if it is still there after a short grace. */
const stop = async (child: ChildProcess): Promise<void> => {
  tracked.delete(child)
  if (child.pid === undefined || hasExited(child)) return
  child.kill("SIGTERM")
  if (await exitWithin(child, GRACE_MS)) return
  child.kill("SIGKILL")
  await exitWithin(child, GRACE_MS)
}

const stopTracked = async (scope: Scope): Promise<void> => {
  const children = [...tracked].filter(([, s]) => scope === "suite" || s === scope).map(([child]) => child)
  await Promise.all(children.map(stop))
}

/** Stops every process we started that is still running. */
export const killAll = (): Promise<void> => stopTracked("suite")

export interface RunOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  readonly timeoutMs?: number
}

/** Runs a process to completion; rejects (after stopping it) if it takes longer than the timeout. */
export const run = async (cmd: string, args: ReadonlyArray<string>, opts: RunOptions = {}): Promise<RunResult> => {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const proc = spawnTracked(cmd, args, opts)
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)))
  const result = await Promise.race([proc.exited, timedOut])
  clearTimeout(timer)
  if (result !== undefined) return result
  await stop(proc.child)
  throw new Error(`${cmd} ${args.join(" ")}: no exit within ${timeoutMs} ms\nstderr: ${proc.stderr()}`)
}

const check = (what: string, result: RunResult): RunResult => {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code}\n${result.stderr}`)
  return result
}

// ---------------------------------------------------------------------------------------------------------------
// Tools

/** `node bin/bt.js ...args` (needs `npm run build`). */
export const runBt = (args: ReadonlyArray<string>, opts: RunOptions = {}): Promise<RunResult> =>
  run(process.execPath, [join(repoRoot, "bin", "bt.js"), ...args], opts)

export interface MktorrentOptions {
  /** File or folder to hash. */
  readonly target: string
  /** Written by mktorrent, which refuses to overwrite an existing file. */
  readonly out: string
  /** log2 of the piece length; mktorrent 1.1 accepts 15..28 only (32 KiB .. 256 MiB). */
  readonly pieceLengthLog2?: number
  /** Announce tiers, in order. */
  readonly trackers?: ReadonlyArray<ReadonlyArray<string>>
  readonly private?: boolean
  readonly name?: string
  readonly comment?: string
}

/** Makes a .torrent with mktorrent (which adds a creation date and "created by"); resolves to its path. */
export const runMktorrent = async (o: MktorrentOptions): Promise<string> => {
  const args = [
    ...(o.pieceLengthLog2 === undefined ? [] : ["-l", String(o.pieceLengthLog2)]),
    ...(o.trackers ?? []).flatMap((tier) => ["-a", tier.join(",")]),
    ...(o.private ? ["-p"] : []),
    ...(o.name === undefined ? [] : ["-n", o.name]),
    ...(o.comment === undefined ? [] : ["-c", o.comment]),
    ...["-o", o.out, o.target]
  ]
  check("mktorrent", await run("mktorrent", args, { timeoutMs: 60_000 }))
  return o.out
}

/** What `lt.py info` prints: the torrent as libtorrent reads it (trackers sorted by tier, then URL). */
export interface LtInfo {
  readonly name: string
  readonly info_hash: string
  readonly num_pieces: number
  readonly piece_length: number
  readonly total_size: number
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number; readonly offset: number }>
  readonly trackers: ReadonlyArray<{ readonly url: string; readonly tier: number }>
  readonly private: boolean
}

/** `/usr/bin/python3 test/interop/lt.py ...args`, parsing the JSON it prints. */
export const lt = async (args: ReadonlyArray<string>): Promise<unknown> => {
  const result = check("lt.py", await run(debianPython, [join(repoRoot, "test", "interop", "lt.py"), ...args], { timeoutMs: 60_000 }))
  return JSON.parse(result.stdout)
}
