/**
 * Helpers for interop tests: tool checks, temp dirs, deterministic data, and child processes that are always
 * ended (by PID, only the ones we started) and always waited on for a bounded time.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createSocket } from "node:dgram"
import { accessSync, constants } from "node:fs"
import { chmod, mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises"
import { type AddressInfo, createServer } from "node:net"
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
  throw new Error(
    `${cmd} ${args.join(" ")}: no exit within ${timeoutMs} ms\nstdout (last 4000 chars): ${proc.stdout().slice(-4000)}\nstderr: ${proc.stderr()}`
  )
}

const check = (what: string, result: RunResult): RunResult => {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code}\n${result.stderr}`)
  return result
}

// ---------------------------------------------------------------------------------------------------------------
// Tools

/** `node bin/bt.js ...args` (needs `npm run build`). */
/**
 * The arguments for a `bt` process of a test: `download`, `seed` and `daemon` get `--no-dht` unless the test gives DHT
 * options itself, so no test ever reaches for the public DHT routers, and always `--no-port-mapping` and `--no-lsd`,
 * so no test talks to the machine's real router or multicasts on its LAN (port mapping is tested against fake
 * gateways in test/net/portmap, LSD between our own nodes on 127.0.0.1 and in network namespaces).
 */
export const btArgs = (args: ReadonlyArray<string>): Array<string> => {
  const runsSwarm = args[0] === "download" || args[0] === "seed" || args[0] === "daemon"
  const choseDht = args.some((arg) => arg === "--no-dht" || arg === "--dht-bootstrap")
  const noMapping = runsSwarm && !args.includes("--no-port-mapping") ? ["--no-port-mapping"] : []
  const noLsd = runsSwarm && !args.includes("--no-lsd") ? ["--no-lsd"] : []
  return [join(repoRoot, "bin", "bt.js"), ...args, ...(runsSwarm && !choseDht ? ["--no-dht"] : []), ...noMapping, ...noLsd]
}

export const runBt = (args: ReadonlyArray<string>, opts: RunOptions = {}): Promise<RunResult> =>
  run(process.execPath, btArgs(args), opts)

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
  /** null for a v2-only torrent. */
  readonly info_hash: string
  /** The v2 info-hash (hex), null for a v1 torrent. */
  readonly info_hash_v2: string | null
  /** v2 roots (hex) of the files in `files`, in order; "" for an empty file or a v1 torrent. */
  readonly roots: ReadonlyArray<string>
  /** `piece layers` libtorrent accepted: root (hex) to layer (hex). */
  readonly piece_layers: Readonly<Record<string, string>>
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

// ---------------------------------------------------------------------------------------------------------------
// Ports, trackers and seeders

/**
 * A port on 127.0.0.1 that is free for both TCP and UDP right now: the OS picks it for TCP, we check UDP, then let
 * both go. Another process could still take it before the caller binds it, so callers that can retry should.
 */
export const freePort = async (): Promise<number> => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = createServer()
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
    })
    const udp = createSocket("udp4")
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once("error", () => resolve(false))
      udp.bind(port, "127.0.0.1", () => resolve(true))
    })
    await new Promise<void>((resolve) => udp.close(() => resolve()))
    await new Promise<void>((resolve) => server.close(() => resolve()))
    if (udpFree) return port
  }
  throw new Error("no port free for both TCP and UDP on 127.0.0.1 after 20 tries")
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Percent-encodes every byte of a hex string, for an info_hash query parameter. */
const percentHex = (hex: string): string => hex.replace(/../g, (byte) => `%${byte}`)

export interface Opentracker {
  readonly port: number
  /** `http://127.0.0.1:PORT/announce` */
  readonly httpUrl: string
  /** `udp://127.0.0.1:PORT/announce` */
  readonly udpUrl: string
  readonly proc: Tracked
  /** Adds info-hashes (hex) to the whitelist and waits, bounded, until opentracker has re-read it (SIGHUP). */
  readonly allow: (infoHashesHex: ReadonlyArray<string>) => Promise<void>
}

/**
 * Asks opentracker over HTTP until it answers, and until it accepts `infoHashHex` when one is given. It reads its
 * whitelist in a thread of its own after it starts serving (and again after SIGHUP), so an answering tracker may
 * still refuse a listed hash for a moment. The probe announces a peer on port 1 and takes it off again at once.
 */
const untilTracking = async (tracker: Opentracker, infoHashHex: string | undefined, ms: number): Promise<void> => {
  const hash = percentHex(infoHashHex ?? "00".repeat(20))
  const announce = (event: string) =>
    `${tracker.httpUrl}?info_hash=${hash}&peer_id=-BTPROBE-01234567890&port=1&uploaded=0&downloaded=0&left=0&compact=1${event}`
  const deadline = Date.now() + ms
  let last = "no answer"
  while (Date.now() < deadline) {
    if (tracker.proc.child.exitCode !== null || tracker.proc.child.signalCode !== null) {
      throw new Error(`opentracker exited (${tracker.proc.child.exitCode ?? tracker.proc.child.signalCode}): ${tracker.proc.stderr()}`)
    }
    try {
      const body = await (await fetch(announce(""), { signal: AbortSignal.timeout(1_000) })).text()
      if (infoHashHex === undefined || !body.includes("failure reason")) {
        if (infoHashHex !== undefined) await fetch(announce("&event=stopped"), { signal: AbortSignal.timeout(1_000) })
        return
      }
      last = body
    } catch (error) {
      last = String(error)
    }
    await sleep(100)
  }
  throw new Error(`opentracker on port ${tracker.port} not tracking ${infoHashHex ?? "anything"} within ${ms} ms: ${last}`)
}

/**
 * Starts opentracker on a fresh port of 127.0.0.1 (HTTP and UDP on the same port), tracking only the given
 * info-hashes (hex). `dir` becomes its chroot and holds the whitelist; opentracker drops to `nobody` before it reads
 * the list, so both are made world-readable. Resolves once it answers and accepts the first hash (bounded).
 */
export const startOpentracker = async (
  dir: string,
  infoHashesHex: ReadonlyArray<string>,
  opts: { readonly scope?: Scope } = {}
): Promise<Opentracker> => {
  const whitelist = join(dir, "whitelist")
  const listed = new Set(infoHashesHex.map((hash) => hash.toLowerCase()))
  const writeWhitelist = async () => {
    await writeFile(whitelist, [...listed].map((hash) => `${hash}\n`).join(""))
    await chmod(whitelist, 0o644)
  }
  await mkdir(dir, { recursive: true })
  await chmod(dir, 0o755)
  await writeWhitelist()
  let failure: unknown
  // A port picked by freePort can be taken before opentracker binds it: then it exits, and we try another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const proc = spawnTracked(
      "opentracker",
      ["-i", "127.0.0.1", "-p", String(port), "-P", String(port), "-d", dir, "-w", "/whitelist"],
      { scope: opts.scope ?? "test" }
    )
    const tracker: Opentracker = {
      port,
      httpUrl: `http://127.0.0.1:${port}/announce`,
      udpUrl: `udp://127.0.0.1:${port}/announce`,
      proc,
      allow: async (hashes) => {
        for (const hash of hashes) listed.add(hash.toLowerCase())
        await writeWhitelist()
        proc.child.kill("SIGHUP")
        for (const hash of hashes) await untilTracking(tracker, hash.toLowerCase(), 10_000)
      }
    }
    try {
      await untilTracking(tracker, infoHashesHex[0]?.toLowerCase(), 10_000)
      return tracker
    } catch (error) {
      failure = error
      await stop(proc.child)
    }
  }
  throw failure
}

/** One classic-dialect RPC call to `address` (HOST:PORT), through the 409 session-id handshake: the whole answer. */
export const rpcCall = async (address: string, method: string, args: Record<string, unknown>) => {
  const url = `http://${address}/transmission/rpc`
  const body = JSON.stringify({ method, arguments: args })
  let sessionId = ""
  for (let attempt = 0; attempt < 3; attempt++) {
    // Bounded: a request that is never answered fails here, naming the method, rather than at the test's timeout.
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { "x-transmission-session-id": sessionId },
      signal: AbortSignal.timeout(20_000)
    }).catch((cause: unknown) => {
      throw new Error(`${address}: ${method}: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
    if (response.status !== 409) return (await response.json()) as { result: string; arguments?: Record<string, any> }
    sessionId = response.headers.get("x-transmission-session-id") ?? ""
  }
  throw new Error(`${address}: no session id after three tries`)
}

/** Polls `check` every 300 ms until it gives a value, for at most `ms`; the last failure explains a timeout. */
export const until = async <A>(what: string, ms: number, check: () => Promise<A | undefined>): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await sleep(300)
  }
}

/** Waits, bounded, for a line of the process's stdout that `match` accepts; rejects if it exits first. */
export const waitForLine = async (proc: Tracked, match: (line: string) => boolean, ms: number): Promise<string> => {
  const deadline = Date.now() + ms
  const find = () => proc.stdout().split("\n").slice(0, -1).find(match)
  for (;;) {
    const line = find()
    if (line !== undefined) return line
    if (proc.child.exitCode !== null || proc.child.signalCode !== null || proc.child.pid === undefined) {
      const { code, stderr } = await proc.exited // all of its output is in once it has closed
      const last = find()
      if (last !== undefined) return last
      throw new Error(`process exited (${code}) before printing the line we wait for\n${stderr}`)
    }
    if (Date.now() > deadline) throw new Error(`no such line within ${ms} ms\nstdout: ${proc.stdout()}\nstderr: ${proc.stderr()}`)
    await sleep(50)
  }
}

/**
 * `lt.py dht-node`: a libtorrent DHT node on 127.0.0.1 (or `listenHost`, ::1) and nothing else (its DHT runs on its listen port), joined
 * through `through` (none: it waits to be found). Resolves with its port once it listens.
 */
export const startLtDhtNode = async (
  through: ReadonlyArray<string> = [],
  listenHost = "127.0.0.1"
): Promise<{ readonly port: number; readonly proc: Tracked }> => {
  const proc = spawnTracked(debianPython, [
    join(repoRoot, "test", "interop", "lt.py"), "dht-node", "--port", String(await freePort()),
    "--listen-host", listenHost, ...through.flatMap((node) => ["--dht-node", node])
  ], { scope: "test" })
  const line = await waitForLine(proc, (l) => l.startsWith("{"), 30_000)
  return { port: (JSON.parse(line) as { readonly port: number }).port, proc }
}

/** libtorrent's encryption setting in lt.py: plaintext only, either, or RC4 only. */
export type LtEncryption = "disabled" | "enabled" | "forced"

/** The transports libtorrent speaks in lt.py (BEP 29 uTP, TCP). */
export type LtTransport = "tcp" | "utp" | "both"

export interface LtSeeder {
  readonly port: number
  readonly infoHash: string
  readonly proc: Tracked
}

/**
 * `lt.py seed`: libtorrent seeding `torrent` from `save` on 127.0.0.1 (a fresh port unless given), after checking
 * the data. With `trackerAnnounce` it announces to the torrent's trackers; otherwise it keeps away from them.
 */
export const startLtSeeder = async (o: {
  readonly torrent: string
  readonly save: string
  readonly port?: number
  readonly trackerAnnounce?: boolean
  /** Bytes per second this torrent may upload; unlimited when absent. */
  readonly uploadLimit?: number
  /** Neither send nor take PEX (it still names ut_pex in its extended handshake). */
  readonly noPex?: boolean
  /** Log libtorrent's PEX messages, sent and received, on stderr. */
  readonly logPex?: boolean
  /** The loopback address it listens on: 127.0.0.1 (default) or ::1. */
  readonly listenHost?: string
  /** MSE/PE: `disabled` (plaintext, the default), `enabled` or `forced` (RC4 only). */
  readonly encryption?: LtEncryption
  /** Peer connections over `tcp` (the default), `utp` only (TCP off both ways) or `both`. */
  readonly transport?: LtTransport
  /** Run the DHT, joined through these nodes (HOST:PORT on 127.0.0.1), and announce there every few seconds. */
  readonly dhtNodes?: ReadonlyArray<string>
  /** Peers it connects to itself (HOST:PORT), retrying: a leecher that has no other way to find it. */
  readonly peers?: ReadonlyArray<string>
  readonly scope?: Scope
}): Promise<LtSeeder> => {
  const port = o.port ?? (await freePort())
  const proc = spawnTracked(
    debianPython,
    [
      join(repoRoot, "test", "interop", "lt.py"), "seed", o.torrent, "--save", o.save, "--port", String(port),
      ...(o.trackerAnnounce ? ["--tracker-announce"] : []),
      ...(o.uploadLimit === undefined ? [] : ["--upload-limit", String(o.uploadLimit)]),
      ...(o.noPex ? ["--no-pex"] : []),
      ...(o.logPex ? ["--log-pex"] : []),
      ...(o.listenHost === undefined ? [] : ["--listen-host", o.listenHost]),
      ...(o.encryption === undefined ? [] : ["--encryption", o.encryption]),
      ...(o.transport === undefined ? [] : ["--transport", o.transport]),
      ...(o.dhtNodes ?? []).flatMap((node) => ["--dht-node", node]),
      ...(o.peers ?? []).flatMap((peer) => ["--peer", peer])
    ],
    { scope: o.scope ?? "test" }
  )
  const line = await waitForLine(proc, (l) => l.startsWith("{"), 60_000)
  const ready = JSON.parse(line) as { readonly ready: boolean; readonly port: number; readonly info_hash: string }
  return { port: ready.port, infoHash: ready.info_hash, proc }
}
