/**
 * Runs the built `bin/bt.js` as a child process, as a user would: for the tests of what a person sees (exit codes,
 * error lines, help). Needs `npm run build` first (`npm test` does it).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach } from "vitest"

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
export const btBin = join(repoRoot, "bin", "bt.js")

if (!existsSync(join(repoRoot, "dist", "cli", "main.js"))) {
  throw new Error("test/cli runs the built bt: run `npm run build` first")
}

export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A folder of its own for the calling test file, removed when the file's tests end. */
export const workDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "bt-cli-test-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The environment bt runs in: its state kept in `stateDir`, no colour asked for, no configuration file of the user's. */
const envFor = (stateDir: string, extra: Record<string, string> = {}) => {
  const env: Record<string, string> = {
    ...process.env as Record<string, string>,
    BT_STATE_DIR: stateDir,
    XDG_CONFIG_HOME: join(stateDir, "config"),
    ...extra
  }
  if (extra["BT_CONFIG"] === undefined) delete env["BT_CONFIG"]
  delete env["FORCE_COLOR"]
  return env
}

/** Runs bt to the end (bounded by a generous timeout, a guard against a hang rather than a measure). */
export const bt = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> }
): Result => {
  const result = spawnSync(process.execPath, [btBin, ...args], {
    cwd: options.cwd,
    env: envFor(join(options.cwd, ".state"), options.env),
    encoding: "utf8",
    timeout: 60_000
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/**
 * Runs bt to the end without blocking the test's worker (vitest's worker must answer its RPC while a slow machine
 * runs many bt processes in one file), bounded by the same generous timeout.
 */
export const btAsync = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> }
): Promise<Result> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [btBin, ...args], {
      cwd: options.cwd,
      env: envFor(join(options.cwd, ".state"), options.env),
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text))
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** Starts bt in the background; the caller ends it (by this pid only). */
export const startBt = (args: ReadonlyArray<string>, options: { readonly cwd: string }) => {
  const child = spawn(process.execPath, [btBin, ...args], {
    cwd: options.cwd,
    env: envFor(join(options.cwd, ".state")),
    stdio: ["ignore", "pipe", "pipe"]
  })
  running.add(child)
  child.once("exit", () => running.delete(child))
  return child
}

/**
 * What `startBt` started and has not exited: killed after each test of the file that imports this, so a test that
 * timed out (on a loaded machine, say) leaves no daemon running behind it (one did, for an hour and a half).
 */
const running = new Set<ChildProcess>()
afterEach(() => {
  for (const child of running) child.kill("SIGKILL")
  running.clear()
})

/** The non-empty lines of an output. */
export const linesOf = (text: string): Array<string> => text.split("\n").filter((line) => line.trim() !== "")
