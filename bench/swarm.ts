/**
 * The loopback swarm the benchmarks run in: payload and torrent, free ports, opentracker, seeders (libtorrent, bt)
 * and the downloaders whose time is measured (bt, libtorrent, aria2c). Processes come from ./proc.ts, so each one
 * is tracked and stopped at the end.
 */
import { randomFillSync } from "node:crypto"
import { createSocket } from "node:dgram"
import { accessSync, constants, existsSync } from "node:fs"
import { chmod, cp, mkdir, open, readFile, rm, stat, writeFile } from "node:fs/promises"
import { type AddressInfo, createServer } from "node:net"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { performance } from "node:perf_hooks"
import { spawnSync } from "node:child_process"
import { type Exit, exitBounded, type Proc, RunError, runBounded, spawnTracked, stop, tail, waitForLine } from "./proc.js"

/** The repository root (dist-bench/ and bench/ both sit one level below it). */
export const repoRoot = fileURLToPath(new URL("..", import.meta.url))
/**
 * bt as the benchmarks run it: a copy of dist/ taken when the run starts (`snapshotBt`), so that a rebuild in the
 * working tree during a run (tests, another terminal) cannot change the program half-way through. It lives inside
 * the repository so that its imports still resolve in node_modules/.
 */
export const btBin = join(repoRoot, "dist-bench", "bt", "bt.js")

export const snapshotBt = async (): Promise<void> => {
  const dir = dirname(btBin)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await cp(join(repoRoot, "dist"), join(dir, "dist"), { recursive: true })
  // The bundle, as bin/bt.js runs it after npm run build (the unbundled CLI if there is none).
  const entry = existsSync(join(dir, "dist", "cli", "bundle", "main.js")) ? "./dist/cli/bundle/main.js" : "./dist/cli/main.js"
  await writeFile(btBin, `// A snapshot of dist/ made by npm run bench; see bench/swarm.ts.\nimport "${entry}"\n`)
}
/**
 * `BENCH_BASE_BT=DIR`: another build's `dist/` folder (copied aside before a change, with a node_modules beside it
 * or above it), run by the download benchmark as one more subject, "bt (base)", interleaved with this build: before
 * and after a change in one run.
 */
export const baseBtBin = (): string | undefined => {
  const dir = process.env.BENCH_BASE_BT
  if (dir === undefined || dir === "") return undefined
  const bundle = join(dir, "cli", "bundle", "main.js")
  return existsSync(bundle) ? bundle : join(dir, "cli", "main.js")
}
export const ltPy = join(repoRoot, "test", "interop", "lt.py")
/** Debian's interpreter: the one python3-libtorrent is built for. */
export const debianPython = "/usr/bin/python3"

// ---------------------------------------------------------------------------------------------------------------
// Tools

export const onPath = (exe: string): boolean =>
  (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, exe), constants.X_OK)
      return true
    } catch {
      return false
    }
  })

export const hasLibtorrent = (): boolean =>
  spawnSync(debianPython, ["-c", "import libtorrent"], { stdio: "ignore", timeout: 10_000 }).status === 0

// ---------------------------------------------------------------------------------------------------------------
// Data

/** Writes `size` random bytes (OpenSSL's generator, 4 MiB at a time) to `path`. */
export const writePayload = async (path: string, size: number): Promise<void> => {
  const chunk = Buffer.allocUnsafe(4 << 20)
  const handle = await open(path, "w")
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(chunk.length, size - done)
      randomFillSync(chunk, 0, n)
      await handle.write(chunk, 0, n)
      done += n
    }
  } finally {
    await handle.close()
  }
}

export interface Torrent {
  readonly path: string
  readonly infoHash: string
  readonly size: number
  readonly pieceLength: number
}

/** `bt create PATH -o OUT --piece-length N --json`. */
export const btCreate = async (target: string, out: string, pieceLength: number, timeoutMs: number): Promise<Torrent> => {
  const exit = await runBounded(
    process.execPath,
    [btBin, "create", target, "-o", out, "--piece-length", String(pieceLength), "--json"],
    timeoutMs,
    "bt create"
  )
  const made = JSON.parse(exit.stdout.trim().split("\n").pop() ?? "") as { infoHash: string; totalLength: number }
  return { path: out, infoHash: made.infoHash, size: made.totalLength, pieceLength }
}

/**
 * A copy of a torrent with an `announce` URL: the info dictionary (so the info-hash) is untouched. The top-level
 * keys of a .torrent that bt writes sort after "announce", so inserting it first keeps them sorted.
 */
export const withAnnounce = async (torrent: string, url: string, out: string): Promise<void> => {
  const bytes = await readFile(torrent)
  if (bytes[0] !== 0x64 /* d */ || !/^d(\d+):/.test(bytes.subarray(0, 16).toString("latin1"))) {
    throw new RunError(`${torrent}: not a bencoded dictionary`)
  }
  const firstKey = /^d(\d+):/.exec(bytes.subarray(0, 16).toString("latin1"))!
  const keyLength = Number(firstKey[1])
  const key = bytes.subarray(firstKey[0].length, firstKey[0].length + keyLength).toString("latin1")
  if (key <= "announce") throw new RunError(`${torrent}: already has an announce key, or one that sorts before it`)
  const insert = Buffer.from(`8:announce${Buffer.byteLength(url)}:${url}`, "latin1")
  await writeFile(out, Buffer.concat([bytes.subarray(0, 1), insert, bytes.subarray(1)]))
}

/** Size of every file under a download directory (the torrent's single file). */
export const sizeOf = async (path: string): Promise<number | undefined> => {
  try {
    return (await stat(path)).size
  } catch {
    return undefined
  }
}

/** `cmp -s A B`: true when the two files hold the same bytes. */
export const sameBytes = async (a: string, b: string, timeoutMs: number): Promise<boolean> => {
  const exit = await exitBounded(spawnTracked("cmp", ["-s", a, b]), timeoutMs, "cmp")
  return exit.code === 0
}

export const removeDir = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true })

// ---------------------------------------------------------------------------------------------------------------
// Ports and tracker

/** A port on 127.0.0.1 free for both TCP and UDP right now. */
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
  throw new RunError("no port free for both TCP and UDP on 127.0.0.1 after 20 tries")
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface Tracker {
  readonly url: string
  readonly proc: Proc
}

/**
 * opentracker on a fresh port, HTTP and UDP, tracking only `infoHash` (Debian's build whitelists; it chroots into
 * `dir` and drops to nobody, so the list and the folder are world-readable). Resolves once it accepts the hash.
 */
export const startOpentracker = async (dir: string, infoHash: string): Promise<Tracker> => {
  await mkdir(dir, { recursive: true })
  await chmod(dir, 0o755)
  await writeFile(join(dir, "whitelist"), `${infoHash.toLowerCase()}\n`)
  await chmod(join(dir, "whitelist"), 0o644)
  const hash = infoHash.replace(/../g, (byte) => `%${byte}`)
  let last = ""
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const proc = spawnTracked("opentracker", ["-i", "127.0.0.1", "-p", String(port), "-P", String(port), "-d", dir, "-w", "/whitelist"])
    const url = `http://127.0.0.1:${port}/announce`
    const probe = (event: string): string =>
      `${url}?info_hash=${hash}&peer_id=-BTBENCH-01234567890&port=1&uploaded=0&downloaded=0&left=0&compact=1${event}`
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && proc.child.exitCode === null && proc.child.signalCode === null) {
      try {
        const body = await (await fetch(probe(""), { signal: AbortSignal.timeout(1_000) })).text()
        if (!body.includes("failure reason")) {
          await fetch(probe("&event=stopped"), { signal: AbortSignal.timeout(1_000) })
          return { url, proc }
        }
        last = body
      } catch (error) {
        last = String(error)
      }
      await sleep(100)
    }
    last = `${last}${tail(proc.stderr())}`
    await stop(proc)
  }
  throw new RunError(`opentracker did not start tracking ${infoHash}: ${last}`)
}

// ---------------------------------------------------------------------------------------------------------------
// Seeders

export interface Seeder {
  readonly port: number
  readonly proc: Proc
}

/** `lt.py seed`: libtorrent seeding from `save` once its hash check found every piece. */
export const startLtSeeder = async (o: {
  torrent: string
  save: string
  trackerAnnounce?: boolean
  /** MSE/PE: lt.py's `--encryption` (disabled by default). */
  encryption?: "disabled" | "enabled" | "forced"
  /** lt.py's `--transport`: tcp (its default), utp or both. */
  transport?: "tcp" | "utp" | "both"
  /** The loopback address it listens on (127.0.0.1 when absent). */
  listenHost?: string
  /** Bytes per second it may upload (no limit when absent). */
  uploadLimit?: number
  readyMs: number
}): Promise<Seeder> => {
  const proc = spawnTracked(debianPython, [
    ltPy, "seed", o.torrent, "--save", o.save, "--port", String(await freePort()),
    "--check-timeout", String(Math.round(o.readyMs / 1000)),
    ...(o.trackerAnnounce ? ["--tracker-announce"] : []),
    ...(o.encryption === undefined ? [] : ["--encryption", o.encryption]),
    ...(o.transport === undefined ? [] : ["--transport", o.transport]),
    ...(o.listenHost === undefined ? [] : ["--listen-host", o.listenHost]),
    ...(o.uploadLimit === undefined ? [] : ["--upload-limit", String(o.uploadLimit)])
  ])
  const line = await waitForLine(proc, (l) => l.startsWith("{"), o.readyMs + 15_000, "libtorrent seeder")
  return { port: (JSON.parse(line) as { port: number }).port, proc }
}

/** bt's `--transport`, or `default` for none on the command line (what a user gets). */
export type BtTransport = "tcp" | "utp" | "both" | "default"

const transportArgs = (transport: BtTransport): Array<string> => (transport === "default" ? [] : ["--transport", transport])

/**
 * `bt seed T -d DIR --port 0 --no-trackers --no-dht --json --transport tcp` (or the `transport` given): resolves at
 * its `seeding` line (after its data check).
 */
export const startBtSeeder = async (
  o: { torrent: string; dir: string; stateDir: string; readyMs: number; transport?: BtTransport }
): Promise<Seeder> => {
  const proc = spawnTracked(process.execPath, [
    btBin, "seed", o.torrent, "-d", o.dir, "--port", "0", "--no-trackers", "--no-dht", "--json", "--state-dir", o.stateDir,
    ...transportArgs(o.transport ?? "tcp")
  ])
  const line = await waitForLine(proc, (l) => l.includes(`"event":"seeding"`), o.readyMs, "bt seed")
  return { port: (JSON.parse(line) as { port: number }).port, proc }
}

/** Many minimal seeders in one process (./seeders.ts), each on its own 127.0.0.1 port with its own peer id. */
export interface SeederSwarm {
  readonly ports: ReadonlyArray<number>
  readonly proc: Proc
  /** What the seeders did since the previous call (or since they started); starts the next period. */
  readonly stats: () => Promise<SeederStats>
  /** Calls `f` as soon as the seeders report the first connection of the current period (a line on their stdout). */
  readonly onFirstConnection: (f: () => void) => void
}

export interface SeederStats {
  readonly connections: number
  /** The most connections open at once, over all the seeders. */
  readonly peakOpen: number
  /** Seeders that served at least one block. */
  readonly servedPeers: number
  readonly bytes: number
}

export const startSeederSwarm = async (o: { file: string; torrent: Torrent; peers: number; readyMs: number }): Promise<SeederSwarm> => {
  const proc = spawnTracked(process.execPath, [
    join(repoRoot, "dist-bench", "seeders.js"), "--data", o.file, "--info-hash", o.torrent.infoHash,
    "--piece-length", String(o.torrent.pieceLength), "--peers", String(o.peers)
  ])
  const line = await waitForLine(proc, (l) => l.startsWith(`{"ports"`), o.readyMs, "seeder swarm")
  let asked = 0
  const stats = async (): Promise<SeederStats> => {
    const k = ++asked
    proc.child.kill("SIGUSR2")
    return JSON.parse(await waitForLine(proc, (l) => l.startsWith(`{"stats":${k},`), 10_000, "seeder swarm stats")) as SeederStats
  }
  const onFirstConnection = (f: () => void): void => {
    const marker = `{"connected":${asked}}`
    const onData = (): void => {
      if (!proc.stdout().includes(marker)) return
      proc.child.stdout?.off("data", onData)
      f()
    }
    proc.child.stdout?.on("data", onData)
  }
  return { ports: (JSON.parse(line) as { ports: Array<number> }).ports, proc, stats, onFirstConnection }
}

// ---------------------------------------------------------------------------------------------------------------
// Downloaders: each resolves once the download is complete and the process has exited, or throws.

export interface Downloaded {
  readonly exit: Exit
  /** The client's own figure, when it prints one. */
  readonly selfSeconds?: number
}

const checkExit = (exit: Exit, what: string): Exit => {
  if (exit.code !== 0) throw new RunError(`${what}: exited with ${exit.code ?? exit.signal}${tail(exit.stderr || exit.stdout)}`)
  return exit
}

/** The JSON lines of a process's output (other lines skipped). */
export const jsonLines = (stdout: string): Array<Record<string, unknown>> =>
  stdout.split("\n").flatMap((line) => {
    try {
      return line.trim().startsWith("{") ? [JSON.parse(line) as Record<string, unknown>] : []
    } catch {
      return []
    }
  })

/**
 * `BENCH_CPU_PROF=DIR`: each bt download and bt verify the bench runs writes a V8 CPU profile into DIR
 * (`node --cpu-prof`); read them with bench/profile-top.mjs. Profiling slows bt: figures of such a run are not figures.
 */
const profArgs: ReadonlyArray<string> =
  process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []

/** `bt download T -o DIR --peer 127.0.0.1:P… --no-trackers --no-dht --port 0 --json --state-dir S --transport tcp`. */
export const btDownload = async (o: {
  torrent: string
  out: string
  stateDir: string
  /** The seeder's port on 127.0.0.1, or several seeders' (one `--peer` each). */
  peerPort: number | ReadonlyArray<number>
  timeoutMs: number
  /** bt's `--encryption` (its default, prefer, when absent). */
  encryption?: "prefer" | "require" | "disable"
  /** bt's `--transport`: TCP unless asked (the peers benchmarked against speak TCP only, unless told otherwise). */
  transport?: BtTransport
  /** bt's `--max-peers` (its default, 50, when absent). */
  maxPeers?: number
  /** Called with the bt process as soon as it is started. */
  onSpawn?: (proc: Proc) => void
  /** The peers' address (127.0.0.1 when absent). */
  peerHost?: string
  /** The program to run instead of this build's snapshot (see `baseBtBin`). */
  bin?: string
  /** bt's `--bind`: the address it listens on (every address when absent). */
  bind?: string
}): Promise<Downloaded> => {
  await mkdir(o.out, { recursive: true })
  await mkdir(o.stateDir, { recursive: true })
  const host = o.peerHost ?? "127.0.0.1"
  const peers = (typeof o.peerPort === "number" ? [o.peerPort] : o.peerPort).flatMap((port) => ["--peer", `${host}:${port}`])
  const proc = spawnTracked(process.execPath, [
    ...profArgs, o.bin ?? btBin, "download", o.torrent, "-o", o.out, ...peers, "--no-trackers", "--no-dht", "--no-port-mapping", "--no-lsd",
    "--port", "0",
    ...(o.bind === undefined ? [] : ["--bind", o.bind]),
    "--json", "--state-dir", o.stateDir, ...transportArgs(o.transport ?? "tcp"),
    ...(o.encryption === undefined ? [] : ["--encryption", o.encryption]),
    ...(o.maxPeers === undefined ? [] : ["--max-peers", String(o.maxPeers)])
  ])
  o.onSpawn?.(proc)
  const exit = checkExit(await exitBounded(proc, o.timeoutMs, "bt download"), "bt download")
  const done = jsonLines(exit.stdout).find((e) => e.event === "done")
  if (done === undefined) throw new RunError(`bt download: exited 0 without a "done" line${tail(exit.stdout)}`)
  return { exit, selfSeconds: Number(done.seconds) }
}

/** `lt.py leech T --save DIR --peer 127.0.0.1:P`: libtorrent's own leecher, loopback settings. */
export const ltDownload = async (o: {
  torrent: string
  out: string
  peerPort: number
  timeoutMs: number
  /** lt.py's `--transport`: tcp (its default) or utp. */
  transport?: "tcp" | "utp"
  /** The seeder's address (127.0.0.1 when absent). */
  peerHost?: string
}): Promise<Downloaded> => {
  await mkdir(o.out, { recursive: true })
  const proc = spawnTracked(debianPython, [
    ltPy, "leech", o.torrent, "--save", o.out, "--port", String(await freePort()), "--peer", `${o.peerHost ?? "127.0.0.1"}:${o.peerPort}`,
    "--timeout", String(Math.round(o.timeoutMs / 1000)), ...(o.transport === undefined ? [] : ["--transport", o.transport])
  ])
  const exit = checkExit(await exitBounded(proc, o.timeoutMs + 10_000, "libtorrent leecher"), "libtorrent leecher")
  const done = jsonLines(exit.stdout).find((e) => e.done === true)
  if (done === undefined) throw new RunError(`libtorrent leecher: exited 0 without a "done" line${tail(exit.stdout)}`)
  return { exit, selfSeconds: Number(done.seconds) }
}

/** aria2c leeching through the torrent's http:// tracker and exiting on completion (INTEROP.md settings). */
export const aria2Download = async (o: { torrent: string; out: string; timeoutMs: number }): Promise<Downloaded> => {
  await mkdir(o.out, { recursive: true })
  const proc = spawnTracked("aria2c", [
    "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
    "--disable-ipv6=true", "--interface=127.0.0.1", `--listen-port=${await freePort()}`,
    "--seed-time=0", "--file-allocation=none", "--summary-interval=0", "--enable-color=false",
    "--console-log-level=warn", "--download-result=hide", `--stop-with-process=${process.pid}`,
    `--dir=${o.out}`, o.torrent
  ])
  return { exit: checkExit(await exitBounded(proc, o.timeoutMs, "aria2c"), "aria2c") }
}

/** `bt verify T -d DIR --json`: hashes every piece of the data. */
export const btVerify = async (o: { torrent: string; dir: string; timeoutMs: number }): Promise<Downloaded> => {
  const exit = checkExit(
    await exitBounded(spawnTracked(process.execPath, [...profArgs, btBin, "verify", o.torrent, "-d", o.dir, "--json"]), o.timeoutMs, "bt verify"),
    "bt verify"
  )
  const done = jsonLines(exit.stdout).find((e) => e.event === "verified")
  if (done === undefined) throw new RunError(`bt verify: exited 0 without a "verified" line${tail(exit.stdout)}`)
  if (done.goodPieces !== done.pieceCount) throw new RunError(`bt verify: ${String(done.goodPieces)} of ${String(done.pieceCount)} pieces good`)
  return { exit, selfSeconds: Number(done.seconds) }
}

/**
 * libtorrent's full check, timed as `lt.py seed` from spawn to its ready line: a fresh session with no resume data
 * hashes every piece before it seeds. The time includes Python's and libtorrent's start (a few hundred ms).
 */
export const ltCheck = async (o: { torrent: string; save: string; timeoutMs: number }): Promise<Downloaded> => {
  const started = performance.now()
  const proc = spawnTracked(debianPython, [
    ltPy, "seed", o.torrent, "--save", o.save, "--port", String(await freePort()), "--check-timeout", String(Math.round(o.timeoutMs / 1000))
  ])
  await waitForLine(proc, (l) => l.startsWith("{"), o.timeoutMs, "libtorrent check (lt.py seed)")
  const seconds = (performance.now() - started) / 1000
  await stop(proc)
  return { exit: { ...(await proc.exited), seconds } }
}

export const sleepMs = sleep

/**
 * The link emulator (test/support/linkEmulator.ts) in a process of its own, run by vite-node: a TCP and UDP relay
 * on `listen` to `target`, reaching it from `source`, with the delay (one way, ms) and rate (bytes per second) given.
 */
export const startLinkRelay = async (o: {
  listen: string
  target: { host: string; port: number }
  source: string
  delayMs: number
  jitterMs?: number
  rate?: number
}): Promise<Seeder> => {
  const proc = spawnTracked(process.execPath, [
    join(repoRoot, "node_modules", "vite-node", "vite-node.mjs"), join(repoRoot, "test", "support", "linkRelay.ts"), "--",
    "--listen", o.listen, "--target", `${o.target.host}:${o.target.port}`, "--source", o.source,
    "--delay", String(o.delayMs),
    ...(o.jitterMs === undefined ? [] : ["--jitter", String(o.jitterMs)]),
    ...(o.rate === undefined ? [] : ["--rate", String(o.rate)])
  ])
  const line = await waitForLine(proc, (l) => l.startsWith("{"), 30_000, "link relay")
  return { port: (JSON.parse(line) as { port: number }).port, proc }
}
