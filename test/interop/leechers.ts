/**
 * Helpers for the tests where bt uploads: `bt seed` and `bt download --seed` as processes, and libtorrent, aria2 and
 * Transmission as leechers. Every wait is bounded; every process is started with `spawnTracked`, so the enclosing
 * interop suite stops it.
 */
import { createHash } from "node:crypto"
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import type { HashStats } from "../../src/session/HashExchange.js"
import {
  btArgs,
  debianPython,
  type FileSpec,
  freePort,
  lt,
  type LtEncryption,
  type LtTransport,
  repoRoot,
  runBt,
  type RunResult,
  spawnTracked,
  type Tracked,
  tempDir,
  writeFiles,
  waitForLine
} from "./harness.js"

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const hasExited = (proc: Tracked): boolean =>
  proc.child.exitCode !== null || proc.child.signalCode !== null || proc.child.pid === undefined

/** Waits, bounded, for the process to exit; stops it and rejects with its output when it takes longer. */
export const exitWithin = async (proc: Tracked, ms: number, what: string): Promise<RunResult> => {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([proc.exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))])
  clearTimeout(timer)
  if (result !== undefined) return result
  proc.child.kill("SIGKILL")
  await proc.exited
  throw new Error(`${what}: no exit within ${ms} ms\nstdout (last 4000 chars): ${proc.stdout().slice(-4000)}\nstderr (last 4000 chars): ${proc.stderr().slice(-4000)}`)
}

/** Process output for an assertion message. */
export const describeProc = (name: string, proc: Tracked): string =>
  `--- ${name} (exit ${proc.child.exitCode ?? proc.child.signalCode ?? "running"})\nstdout (last 3000 chars):\n${proc.stdout().slice(-3000)}\nstderr (last 3000 chars):\n${proc.stderr().slice(-3000)}`

// ---------------------------------------------------------------------------------------------------------------
// Files

const sha1 = async (path: string): Promise<string> => createHash("sha1").update(await readFile(path)).digest("hex")

/** SHA-1 of every file of `spec` under `root`, by path. */
export const hashFiles = async (root: string, spec: ReadonlyArray<FileSpec>): Promise<Record<string, string>> =>
  Object.fromEntries(await Promise.all(spec.map(async (file) => [file.path, await sha1(join(root, file.path))] as const)))

/** Every regular file under `root`, as "relative/path" -> size. */
export const listFiles = async (root: string): Promise<Record<string, number>> => {
  const found: Record<string, number> = {}
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    found[relative(root, path).split("\\").join("/")] = (await stat(path)).size
  }
  return found
}

// ---------------------------------------------------------------------------------------------------------------
// bt


/** `bt ...args` in the background (needs `npm run build`). */
export const spawnBt = (args: ReadonlyArray<string>): Tracked => spawnTracked(process.execPath, btArgs(args))

/**
 * `--state-dir` with a fresh folder, for a `bt seed` / `bt download`: bt keeps resume state by info-hash alone, so
 * processes of one test (same torrent, different folders) and runs of the same test must not share it, and tests
 * must not write to ~/.local/state.
 */
export const freshStateDir = async (): Promise<ReadonlyArray<string>> => ["--state-dir", await tempDir()]

/**
 * `bt download TORRENT -o OUT` from the one peer at `address` (no trackers, any port, `--json`, plus `args`): the
 * run, and that peer as the last progress line showing it had it (undefined if they never did).
 */
export const btDownloadFrom = async (torrent: string, out: string, address: string, args: ReadonlyArray<string> = []) => {
  const result = await runBt([
    "download", torrent, "-o", out, "--peer", address, "--no-trackers", "--port", "0", "--json", ...args,
    ...(await freshStateDir())
  ], { timeoutMs: 60_000 })
  const seen = btEvents(result.stdout).flatMap((e) =>
    e.event === "progress" ? (e.peerList as ReadonlyArray<Record<string, unknown>>) : []
  ).reverse().find((peer) => peer.address === address)
  return { result, seen }
}

export interface BtSeeder {
  /** The port it listens on, from its `seeding` line. */
  readonly port: number
  readonly infoHash: string
  readonly proc: Tracked
}

/** A JSON line `bt ... --json` printed. */
export interface BtEvent {
  readonly event: string
  readonly [key: string]: unknown
}

/** The JSON lines a `bt ... --json` process printed so far; a line that is not JSON throws, naming it. */
export const btEvents = (stdout: string): ReadonlyArray<BtEvent> =>
  stdout.split("\n").filter((line) => line.trim() !== "").map((line) => {
    try {
      return JSON.parse(line) as BtEvent
    } catch {
      throw new Error(`bt --json printed a line that is not JSON: ${line}`)
    }
  })

/** The `hashes` figures of a `--json` progress line: BEP 52 messages answered, rejected and kept, and so on. */
export type HashFigures = HashStats
export const hashFiguresOf = (line: string): HashFigures | undefined =>
  line.includes(`"event":"progress"`) ? (JSON.parse(line) as { hashes?: HashFigures }).hashes : undefined

/** The last `progress` line's `uploaded`, or undefined before the first. */
export const lastUploaded = (stdout: string): number | undefined => {
  const progress = btEvents(stdout).filter((e) => e.event === "progress")
  const last = progress[progress.length - 1]
  return last === undefined ? undefined : (last.uploaded as number)
}

/**
 * `bt seed TORRENT -d DIR --json` on a free port (unless given), dialling `peers`, without trackers unless
 * `trackers`. Resolves once it prints its `seeding` line (after checking the data), with the port from that line.
 */
export const startBtSeed = async (o: {
  readonly torrent: string
  readonly dir: string
  readonly peers?: ReadonlyArray<string>
  readonly trackers?: boolean
  readonly port?: number
  readonly logLevel?: string
  /** More options for `bt seed`. */
  readonly extraArgs?: ReadonlyArray<string>
}): Promise<BtSeeder> => {
  const proc = spawnBt([
    "seed", o.torrent, "-d", o.dir, "--json", "--port", String(o.port ?? 0), ...(await freshStateDir()),
    ...(o.trackers ? [] : ["--no-trackers"]),
    ...(o.peers ?? []).flatMap((peer) => ["--peer", peer]),
    ...(o.logLevel === undefined ? [] : ["--log-level", o.logLevel]),
    ...(o.extraArgs ?? [])
  ])
  const line = await waitForLine(proc, (l) => l.includes(`"event":"seeding"`), 30_000)
  const ready = JSON.parse(line) as { readonly infoHash: string; readonly port: number }
  return { port: ready.port, infoHash: ready.infoHash, proc }
}

// ---------------------------------------------------------------------------------------------------------------
// libtorrent

/** What `lt.py leech` (and `leech-magnet`) prints once the download is complete. */
export interface LtLeechDone {
  readonly done: true
  readonly seconds: number
  readonly info_hash: string
  readonly name: string
  readonly total_size: number
  readonly port: number
  readonly downloaded: number
  readonly uploaded: number
  /** Payload bytes received from each peer, by "host:port" (sampled while downloading: a lower bound). */
  readonly from: Readonly<Record<string, number>>
  /** `leech-magnet`: seconds from the start until libtorrent had the metadata (metadata_received_alert). */
  readonly metadata_seconds?: number
}

/** A line of `lt.py leech --report-peers`: a peer connection, once its handshake is done. */
export interface LtPeerReport {
  /** The address libtorrent sees: the peer's listening port when libtorrent dialled it. */
  readonly peer: string
  /** The peer id of its handshake, hex. */
  readonly peer_id: string
  /** The `v` of its extended handshake, or until that came a name libtorrent made from its peer id (a new line then). */
  readonly client: string
  /** Whether libtorrent dialled it. */
  readonly outgoing: boolean
  /** Whether the connection is uTP (else TCP), and RC4-encrypted. */
  readonly utp: boolean
  readonly encrypted: boolean
  /** How libtorrent heard of it: "tracker", "pex", "incoming", ... (empty for an address added with connect_peer). */
  readonly source: ReadonlyArray<string>
  /** Seconds since lt.py started. */
  readonly seconds: number
}

export interface LtLeecher {
  readonly port: number
  readonly proc: Tracked
  /** Settles with the `done` line, or rejects with the leecher's output if it exits or times out first. */
  readonly done: Promise<LtLeechDone>
  /** The peers reported so far (with `reportPeers`). */
  readonly peers: () => ReadonlyArray<LtPeerReport>
}

/** The peers an `lt.py leech --report-peers` printed so far. */
const peerReports = (stdout: string): ReadonlyArray<LtPeerReport> =>
  stdout.split("\n").filter((line) => line.startsWith(`{"peer"`)).map((line) => JSON.parse(line) as LtPeerReport)

/**
 * `lt.py leech`: libtorrent downloading `torrent` (or `lt.py leech-magnet`: a `magnet` link, its metadata first) into
 * `save` on 127.0.0.1, dialling `peers`. It gives up after `timeoutSeconds`; with `stay` it seeds on after
 * completing (until the test ends) rather than exiting.
 */
export const startLtLeecher = async (o: ({ readonly torrent: string } | { readonly magnet: string }) & {
  readonly save: string
  readonly peers?: ReadonlyArray<string>
  readonly trackerAnnounce?: boolean
  readonly timeoutSeconds?: number
  readonly stay?: boolean
  /** Bytes per second this torrent may download; unlimited when absent. */
  readonly downloadLimit?: number
  /** Print a line for each peer connection (see `peers`). */
  readonly reportPeers?: boolean
  /** Neither send nor take PEX (it still names ut_pex in its extended handshake). */
  readonly noPex?: boolean
  /** Log libtorrent's PEX messages, sent and received, on stderr. */
  readonly logPex?: boolean
  /** MSE/PE: `disabled` (plaintext, the default), `enabled` or `forced` (RC4 only). */
  readonly encryption?: LtEncryption
  /** Peer connections over `tcp` (the default), `utp` only (TCP off both ways) or `both`. */
  readonly transport?: LtTransport
  /** Run the DHT, joined through these nodes (HOST:PORT on 127.0.0.1), looking for peers there every few seconds. */
  readonly dhtNodes?: ReadonlyArray<string>
  /** The loopback address it listens on: 127.0.0.1 (default) or ::1. */
  readonly listenHost?: string
}): Promise<LtLeecher> => {
  const port = await freePort()
  const timeoutSeconds = o.timeoutSeconds ?? 60
  const proc = spawnTracked(debianPython, [
    join(repoRoot, "test", "interop", "lt.py"), ...("magnet" in o ? ["leech-magnet", o.magnet] : ["leech", o.torrent]),
    "--save", o.save, "--port", String(port), "--timeout", String(timeoutSeconds),
    ...(o.peers ?? []).flatMap((peer) => ["--peer", peer]),
    ...(o.trackerAnnounce ? ["--tracker-announce"] : []),
    ...(o.stay ? ["--stay"] : []),
    ...(o.downloadLimit === undefined ? [] : ["--download-limit", String(o.downloadLimit)]),
    ...(o.reportPeers ? ["--report-peers"] : []),
    ...(o.noPex ? ["--no-pex"] : []),
    ...(o.logPex ? ["--log-pex"] : []),
    ...(o.encryption === undefined ? [] : ["--encryption", o.encryption]),
    ...(o.transport === undefined ? [] : ["--transport", o.transport]),
    ...(o.dhtNodes ?? []).flatMap((node) => ["--dht-node", node]),
    ...(o.listenHost === undefined ? [] : ["--listen-host", o.listenHost])
  ])
  // lt.py enforces its own timeout; ours is a backstop a little later.
  const done = waitForLine(proc, (l) => l.startsWith(`{"done"`), (timeoutSeconds + 15) * 1000).then(
    (line) => JSON.parse(line) as LtLeechDone,
    (error: unknown) => {
      throw new Error(`lt.py leech did not complete: ${error instanceof Error ? error.message : String(error)}`)
    }
  )
  done.catch(() => {}) // observed by the caller; not an unhandled rejection meanwhile
  return { port, proc, done, peers: () => peerReports(proc.stdout()) }
}

// ---------------------------------------------------------------------------------------------------------------
// aria2

/**
 * aria2c leeching `torrent` into `dir` and exiting once complete (`--seed-time=0`). It has no way to be told a peer:
 * it finds peers through the torrent's http:// trackers, or waits for peers to dial the port it resolves with (that
 * works too: `bt seed --peer`). Listens on 127.0.0.1 only.
 */
export const startAria2Leecher = async (o: {
  readonly torrent: string
  readonly dir: string
}): Promise<{ readonly port: number; readonly proc: Tracked }> => {
  const port = await freePort()
  const proc = spawnTracked("aria2c", [
    "--enable-dht=false",
    "--enable-dht6=false",
    "--bt-enable-lpd=false",
    "--enable-peer-exchange=false",
    "--disable-ipv6=true",
    "--interface=127.0.0.1",
    `--listen-port=${port}`,
    "--seed-time=0",
    "--file-allocation=none",
    "--summary-interval=0",
    "--enable-color=false",
    "--console-log-level=notice",
    `--stop-with-process=${process.pid}`,
    `--dir=${o.dir}`,
    o.torrent
  ])
  const listening = await waitForLine(proc, (line) => /listening on TCP port \d+/.test(line), 15_000)
  return { port: Number(/listening on TCP port (\d+)/.exec(listening)![1]), proc }
}

// ---------------------------------------------------------------------------------------------------------------
// Transmission 3.00

/** A transmission-daemon we drive over its RPC: a leecher we dial, or a seeder (then `downloadDir` holds the data). */
export interface TransmissionDaemon {
  /** The port it accepts peers on: dial it (it never dials 127.0.0.1 itself). */
  readonly peerPort: number
  readonly downloadDir: string
  readonly proc: Tracked
  /** One RPC call; throws on an HTTP or RPC failure. */
  readonly rpc: (method: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>
}

/**
 * transmission-daemon in the foreground, config in `configDir`, downloading into `downloadDir`: peers on
 * 127.0.0.1 only; no DHT, LPD, PEX, uTP or port mapping; plaintext preferred (encryption 0); no `.part` names; RPC
 * without auth on a fresh port. Resolves once the RPC answers (bounded); a daemon that could not bind its ports is
 * started again on others.
 */
export const startTransmission = async (configDir: string, downloadDir: string): Promise<TransmissionDaemon> => {
  let failure: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startTransmissionOnce(configDir, downloadDir)
    } catch (error) {
      failure = error
    }
  }
  throw failure
}

const startTransmissionOnce = async (configDir: string, downloadDir: string): Promise<TransmissionDaemon> => {
  const rpcPort = await freePort()
  const peerPort = await freePort()
  const settings = {
    "dht-enabled": false,
    "lpd-enabled": false,
    "pex-enabled": false,
    "utp-enabled": false,
    "port-forwarding-enabled": false,
    "blocklist-enabled": false,
    encryption: 0,
    "bind-address-ipv4": "127.0.0.1",
    "bind-address-ipv6": "::1",
    "peer-port": peerPort,
    "peer-port-random-on-start": false,
    "rpc-enabled": true,
    "rpc-bind-address": "127.0.0.1",
    "rpc-port": rpcPort,
    "rpc-authentication-required": false,
    "rpc-whitelist-enabled": true,
    "rpc-whitelist": "127.0.0.1",
    "rpc-host-whitelist-enabled": false,
    "download-dir": downloadDir,
    "incomplete-dir-enabled": false,
    "rename-partial-files": false,
    "watch-dir-enabled": false,
    "start-added-torrents": true,
    "ratio-limit-enabled": false,
    "idle-seeding-limit-enabled": false,
    "speed-limit-up-enabled": false,
    "speed-limit-down-enabled": false,
    "alt-speed-enabled": false,
    "message-level": 2
  }
  await mkdir(configDir, { recursive: true })
  await mkdir(downloadDir, { recursive: true })
  await writeFile(join(configDir, "settings.json"), JSON.stringify(settings, null, 2))
  const proc = spawnTracked("transmission-daemon", ["--foreground", "--config-dir", configDir])

  const endpoint = `http://127.0.0.1:${rpcPort}/transmission/rpc`
  let sessionId = ""
  // Transmission keeps a lock file per RPC session id in /tmp, tr_session_id_<id>, and leaves it behind when it is
  // killed: once this daemon has exited, remove the files of the ids it gave us (ours only).
  const sessionIds = new Set<string>()
  void proc.exited.then(() =>
    Promise.all([...sessionIds].flatMap((id) =>
      [...new Set(["/tmp", tmpdir()])].map((dir) => rm(join(dir, `tr_session_id_${id}`), { force: true }))
    ))
  )
  const rpc = async (method: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
    // The first call is answered 409 with the session id to send from then on (CSRF protection).
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { "X-Transmission-Session-Id": sessionId, "Content-Type": "application/json" },
        body: JSON.stringify({ method, arguments: args }),
        signal: AbortSignal.timeout(5_000)
      })
      if (response.status === 409) {
        sessionId = response.headers.get("X-Transmission-Session-Id") ?? ""
        if (/^[A-Za-z0-9]+$/.test(sessionId)) sessionIds.add(sessionId)
        continue
      }
      const body = (await response.json()) as { result: string; arguments: Record<string, unknown> }
      if (body.result !== "success") throw new Error(`transmission ${method}: ${body.result}`)
      return body.arguments
    }
    throw new Error(`transmission ${method}: no session id`)
  }

  const deadline = Date.now() + 15_000
  for (;;) {
    if (hasExited(proc)) {
      const { code, stderr } = await proc.exited
      throw new Error(`transmission-daemon exited (${code}): ${stderr}`)
    }
    try {
      await rpc("session-get", {})
      break
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`transmission-daemon RPC not answering within 15 s: ${String(error)}\n${proc.stderr()}`)
    }
    await sleep(200)
  }
  // The RPC answers before the peer port is bound, and a taken port is only logged: check that it listens.
  const listening = await waitFor(() => tcpOpen(peerPort), 5_000)
  if (!listening) {
    proc.child.kill("SIGKILL")
    await proc.exited
    throw new Error(`transmission-daemon not listening on peer port ${peerPort}\n${proc.stderr()}`)
  }
  return { peerPort, downloadDir, proc, rpc }
}

const tcpOpen = async (port: number): Promise<boolean> => {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    socket.setTimeout(1_000)
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(false))
  })
}

const waitFor = async (check: () => Promise<boolean>, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await sleep(200)
  }
}

/** Adds a torrent to Transmission (it starts at once, with nobody to download from until we dial it); its id. */
export const transmissionAdd = async (t: TransmissionDaemon, torrent: string): Promise<number> => {
  const added = await t.rpc("torrent-add", { filename: torrent, "download-dir": t.downloadDir, paused: false })
  const entry = (added["torrent-added"] ?? added["torrent-duplicate"]) as { readonly id: number } | undefined
  if (entry === undefined) throw new Error(`transmission torrent-add: unexpected answer ${JSON.stringify(added)}`)
  return entry.id
}

/** Transmission's torrent status codes (libtransmission tr_torrent_activity). */
const TR_STATUS_SEED = 6

export interface TransmissionStatus {
  readonly status: number
  readonly percentDone: number
  readonly haveValid: number
  readonly sizeWhenDone: number
  readonly peersConnected: number
  readonly error: number
  readonly errorString: string
}

/**
 * Polls Transmission until the torrent is complete, every piece checked, and it seeds (bounded). Transmission
 * checks each piece as it arrives, so `haveValid == sizeWhenDone` means every byte matched the torrent's hashes.
 */
export const transmissionComplete = async (t: TransmissionDaemon, id: number, ms: number): Promise<TransmissionStatus> => {
  const deadline = Date.now() + ms
  let last: TransmissionStatus | undefined
  while (Date.now() < deadline) {
    const got = await t.rpc("torrent-get", {
      ids: [id],
      fields: ["status", "percentDone", "haveValid", "sizeWhenDone", "peersConnected", "error", "errorString"]
    })
    last = (got.torrents as ReadonlyArray<TransmissionStatus>)[0]
    if (last !== undefined && last.error !== 0) throw new Error(`transmission torrent error: ${last.errorString}`)
    if (last !== undefined && last.status === TR_STATUS_SEED && last.percentDone === 1 && last.haveValid === last.sizeWhenDone) {
      return last
    }
    await sleep(250)
  }
  throw new Error(`transmission did not complete within ${ms} ms: ${JSON.stringify(last)}`)
}

// ---------------------------------------------------------------------------------------------------------------
// opentracker

/** Scrapes an http:// tracker until it counts at least `seeders` complete peers for the hash (bounded). */
export const untilTrackerCounts = async (announceUrl: string, infoHashHex: string, seeders: number, ms: number): Promise<void> => {
  const url = `${announceUrl.replace(/\/announce$/, "/scrape")}?info_hash=${infoHashHex.replace(/../g, (b) => `%${b}`)}`
  const deadline = Date.now() + ms
  let last = ""
  while (Date.now() < deadline) {
    try {
      last = await (await fetch(url, { signal: AbortSignal.timeout(1_000) })).text()
      const complete = /8:completei(\d+)e/.exec(last)
      if (complete !== null && Number(complete[1]) >= seeders) return
    } catch (error) {
      last = String(error)
    }
    await sleep(200)
  }
  throw new Error(`the tracker did not count ${seeders} seeder(s) of ${infoHashHex} within ${ms} ms; last scrape: ${last}`)
}

// ---------------------------------------------------------------------------------------------------------------
// Content

/**
 * A single-file torrent made by libtorrent (`lt.py create`) of `size` pseudo-random bytes in a fresh folder:
 * the content in `dir/data`, the torrent at `dir/NAME.torrent`, with the content's SHA-1 by path.
 */
export const makeLtTorrent = async (name: string, size: number, seed: number, pieceLength = 65536) => {
  const dir = await tempDir()
  const spec = [{ path: name, size }]
  await writeFiles(join(dir, "data"), spec, seed)
  const torrent = join(dir, `${name}.torrent`)
  await lt(["create", join(dir, "data", name), "--out", torrent, "--piece-length", String(pieceLength)])
  return { dir, torrent, spec, hashes: await hashFiles(join(dir, "data"), spec) }
}
