/**
 * `bt download` against real seeders on 127.0.0.1: libtorrent found through opentracker, Transmission, libtorrent
 * and aria2 at once; then the errors a user sees, and a second run into a folder that already holds the data.
 * Every test compares the SHA-1 of each downloaded file with that of the original, taken before any seeder ran.
 */
import { rm } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import {
  type FileSpec,
  freePort,
  interopSuite,
  lt,
  type LtInfo,
  type RunResult,
  runBt,
  spawnTracked,
  startLtSeeder,
  startOpentracker,
  type Tracked,
  tempDir,
  waitForLine,
  writeFiles
} from "./harness.js"
import { hashFiles, listFiles, startTransmission, type TransmissionDaemon } from "./leechers.js"

// ---------------------------------------------------------------------------------------------------------------
// Data and checks

/** Uneven sizes in nested folders: a file smaller than a piece, an empty one, pieces that span files. */
const unevenSpec: ReadonlyArray<FileSpec> = [
  { path: "big/three.bin", size: 3 * 1024 * 1024 + 4_321 },
  { path: "docs/small.txt", size: 12_345 },
  { path: "docs/deep/empty.bin", size: 0 },
  { path: "docs/deep/seven.bin", size: 700 * 1024 + 77 }
]

const totalOf = (spec: ReadonlyArray<FileSpec>): number => spec.reduce((sum, file) => sum + file.size, 0)

/** The downloaded folder holds exactly the torrent's files, each with the original's bytes. */
const expectSameFiles = async (
  root: string,
  spec: ReadonlyArray<FileSpec>,
  expected: Record<string, string>,
  context: string
): Promise<void> => {
  expect(await listFiles(root), context).toEqual(Object.fromEntries(spec.map((file) => [file.path, file.size])))
  expect(await hashFiles(root, spec), context).toEqual(expected)
}

/** Writes the content of a multi-file torrent into `dir/name`, and returns the SHA-1s of its files. */
const makeContent = async (dir: string, name: string, spec: ReadonlyArray<FileSpec>, seed: number) => {
  await writeFiles(join(dir, name), spec, seed)
  return hashFiles(join(dir, name), spec)
}

/** `lt.py create`: a v1 torrent of `target` (a folder gives a multi-file torrent named after it). */
const createTorrent = async (
  target: string,
  out: string,
  pieceLength: number,
  trackers: ReadonlyArray<string> = []
): Promise<LtInfo> =>
  (await lt(["create", target, "--out", out, "--piece-length", String(pieceLength), ...trackers.flatMap((url) => ["--tracker", url])])) as LtInfo

interface ProgressEvent {
  readonly event: "progress"
  readonly state: string
  readonly peers: number
  readonly verifiedPieces: number
  readonly downloaded: number
}

interface DoneEvent {
  readonly event: "done"
  readonly name: string
  readonly infoHash: string
  readonly totalLength: number
  readonly downloaded: number
  readonly wasted: number
  readonly seconds: number
  /** Our own addresses as the swarm told them (see ExternalAddresses). */
  readonly externalAddress: { readonly ipv4?: unknown; readonly ipv6?: unknown; readonly local: ReadonlyArray<string> }
}

/** The JSON lines `bt download --json` printed; fails the test on a line that is not JSON. */
const events = (result: RunResult): ReadonlyArray<ProgressEvent | DoneEvent> =>
  result.stdout.split("\n").filter((line) => line.trim() !== "").map((line) => {
    try {
      return JSON.parse(line) as ProgressEvent | DoneEvent
    } catch {
      throw new Error(`bt download --json printed a line that is not JSON: ${line}\n${describeRun(result)}`)
    }
  })

const doneEvent = (result: RunResult): DoneEvent | undefined =>
  events(result).find((e): e is DoneEvent => e.event === "done")

const describeRun = (result: RunResult): string => `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`

/**
 * What a user sees for an expected failure: a non-zero exit and one `bt: ...` line on stderr, perhaps a hint after
 * it, no stack trace.
 */
const expectOneErrorLine = (result: RunResult, mentions: string): void => {
  const context = describeRun(result)
  expect(result.code, context).not.toBe(0)
  expect(result.code, context).not.toBeNull()
  const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
  expect(lines.length, context).toBeGreaterThanOrEqual(1)
  expect(lines.length, context).toBeLessThanOrEqual(2)
  if (lines.length === 2) expect(lines[1], context).toMatch(/^try: /)
  expect(lines[0], context).toMatch(/^bt: /)
  expect(lines[0], context).toContain(mentions)
  expect(result.stderr, context).not.toMatch(/^\s+at /m)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Stops a process we started and waits, bounded, for it to be gone. */
const stopProcess = async (proc: Tracked): Promise<void> => {
  proc.child.kill("SIGTERM")
  const gone = await Promise.race([proc.exited.then(() => true), sleep(5_000).then(() => false)])
  if (!gone) {
    proc.child.kill("SIGKILL")
    await proc.exited
  }
}

// ---------------------------------------------------------------------------------------------------------------
// opentracker: wait until it counts the seeder

/** Scrapes opentracker over HTTP until it counts at least `seeders` complete peers for the hash (bounded). */
const untilSeeding = async (announceUrl: string, infoHashHex: string, seeders: number, ms: number): Promise<void> => {
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
  throw new Error(`opentracker did not count ${seeders} seeder(s) of ${infoHashHex} within ${ms} ms; last scrape: ${last}`)
}

// ---------------------------------------------------------------------------------------------------------------
// Transmission 3.00 as a seeder: transmission-daemon, driven over its RPC

/** Transmission's torrent status codes (libtransmission tr_torrent_activity). */
const TR_STATUS_SEED = 6

/** Adds a torrent whose data is in `downloadDir` and waits, bounded, until Transmission has checked and seeds it. */
const transmissionSeed = async (daemon: TransmissionDaemon, torrent: string, downloadDir: string): Promise<void> => {
  const added = await daemon.rpc("torrent-add", { filename: torrent, "download-dir": downloadDir, paused: false })
  const entry = (added["torrent-added"] ?? added["torrent-duplicate"]) as { readonly id: number } | undefined
  if (entry === undefined) throw new Error(`transmission torrent-add: unexpected answer ${JSON.stringify(added)}`)
  // A torrent added with data present starts with a check; ask for one anyway, so "seeding" means "checked".
  await daemon.rpc("torrent-verify", { ids: [entry.id] })
  const deadline = Date.now() + 30_000
  let last: unknown
  while (Date.now() < deadline) {
    const got = await daemon.rpc("torrent-get", {
      ids: [entry.id],
      fields: ["status", "percentDone", "haveValid", "sizeWhenDone", "error", "errorString"]
    })
    const t = (got.torrents as ReadonlyArray<Record<string, number | string>>)[0]
    last = t
    if (t !== undefined && t.error !== 0) throw new Error(`transmission torrent error: ${t.errorString}`)
    if (t !== undefined && t.status === TR_STATUS_SEED && t.percentDone === 1 && t.haveValid === t.sizeWhenDone) return
    await sleep(250)
  }
  throw new Error(`transmission not seeding within 30 s: ${JSON.stringify(last)}\n${daemon.proc.stderr()}`)
}

// ---------------------------------------------------------------------------------------------------------------
// aria2 as a seeder

/**
 * aria2c seeding complete data from `dir` on 127.0.0.1: `--check-integrity` hashes the data first and
 * `--seed-ratio=0.0` (with no --seed-time) seeds without end; `--interface` binds the listening socket to loopback.
 * Resolves with the port it listens on, once it has checked the data (bounded).
 */
const startAria2Seeder = async (
  torrent: string,
  dir: string,
  opts: { readonly uploadLimit?: number } = {}
): Promise<{ readonly port: number; readonly proc: Tracked }> => {
  const port = await freePort()
  const proc = spawnTracked("aria2c", [
    "--enable-dht=false",
    "--enable-dht6=false",
    "--bt-enable-lpd=false",
    "--enable-peer-exchange=false",
    "--disable-ipv6=true",
    "--interface=127.0.0.1",
    `--listen-port=${port}`,
    "--check-integrity=true",
    "--bt-seed-unverified=false",
    "--seed-ratio=0.0",
    "--file-allocation=none",
    `--max-overall-upload-limit=${opts.uploadLimit ?? 0}`,
    "--summary-interval=0",
    "--enable-color=false",
    "--console-log-level=notice",
    `--stop-with-process=${process.pid}`,
    `--dir=${dir}`,
    torrent
  ])
  // It logs the check's result before it starts listening; a failed check would leave it downloading instead.
  await waitForLine(proc, (line) => line.includes("Verification finished successfully"), 30_000)
  const listening = await waitForLine(proc, (line) => /listening on TCP port \d+/.test(line), 10_000)
  return { port: Number(/listening on TCP port (\d+)/.exec(listening)![1]), proc }
}

// ---------------------------------------------------------------------------------------------------------------

interopSuite("bt download from libtorrent, Transmission and aria2 seeders", ["libtorrent", "opentracker", "transmission-daemon", "aria2c"], () => {
  test("multi-file torrent from a libtorrent seeder found through opentracker (no --peer)", async () => {
    const work = await tempDir()
    const tracker = await startOpentracker(join(work, "tracker"), [])
    const expected = await makeContent(join(work, "src"), "uneven", unevenSpec, 21)
    const torrent = join(work, "t.torrent")
    const info = await createTorrent(join(work, "src", "uneven"), torrent, 32 * 1024, [tracker.httpUrl])
    expect(info.files.length).toBe(unevenSpec.length)
    expect(info.total_size).toBe(totalOf(unevenSpec))
    await tracker.allow([info.info_hash])

    const seeder = await startLtSeeder({ torrent, save: join(work, "src"), trackerAnnounce: true })
    await untilSeeding(tracker.httpUrl, info.info_hash, 1, 20_000)

    const out = join(work, "out")
    const result = await runBt(["download", torrent, "-o", out, "--port", String(await freePort()), "--json"], { timeoutMs: 60_000 })
    const context = `${describeRun(result)}\nseeder on port ${seeder.port}`
    expect(result.code, context).toBe(0)
    expect(doneEvent(result), context).toMatchObject({
      event: "done",
      name: "uneven",
      infoHash: info.info_hash,
      totalLength: totalOf(unevenSpec),
      downloaded: totalOf(unevenSpec)
    })
    await expectSameFiles(join(out, "uneven"), unevenSpec, expected, context)
  }, 90_000)

  test("from a Transmission seeder, dialled with --peer", async () => {
    const work = await tempDir()
    const spec: ReadonlyArray<FileSpec> = [
      { path: "one.bin", size: 1_000_003 },
      { path: "sub/two.bin", size: 40_000 },
      { path: "sub/three.bin", size: 262_144 }
    ]
    const expected = await makeContent(join(work, "src"), "fromtr", spec, 22)
    const torrent = join(work, "t.torrent")
    await createTorrent(join(work, "src", "fromtr"), torrent, 64 * 1024)

    const daemon = await startTransmission(join(work, "transmission"), join(work, "src"))
    await transmissionSeed(daemon, torrent, join(work, "src"))

    const out = join(work, "out")
    // Transmission unchokes at its rechoke pulse, about 10 s after we connect.
    const result = await runBt(
      ["download", torrent, "-o", out, "--peer", `127.0.0.1:${daemon.peerPort}`, "--no-trackers", "--json"],
      { timeoutMs: 60_000 }
    )
    const context = `${describeRun(result)}\ntransmission-daemon stderr:\n${daemon.proc.stderr()}`
    expect(result.code, context).toBe(0)
    expect(doneEvent(result), context).toMatchObject({ name: "fromtr", totalLength: totalOf(spec), downloaded: totalOf(spec) })
    await expectSameFiles(join(out, "fromtr"), spec, expected, context)
  }, 100_000)

  test("from libtorrent and aria2 at once, both connected", async () => {
    const work = await tempDir()
    const spec: ReadonlyArray<FileSpec> = [
      { path: "a.bin", size: 5 * 1024 * 1024 + 999 },
      { path: "b/c.bin", size: 1_234_567 }
    ]
    const expected = await makeContent(join(work, "src"), "two", spec, 23)
    const torrent = join(work, "t.torrent")
    const info = await createTorrent(join(work, "src", "two"), torrent, 64 * 1024)

    // Both seeders are held to ~1 MiB/s, so the download lasts seconds and takes from both.
    const limit = 1024 * 1024
    const [libtorrent, aria2] = await Promise.all([
      startLtSeeder({ torrent, save: join(work, "src"), uploadLimit: limit }),
      startAria2Seeder(torrent, join(work, "src"), { uploadLimit: limit })
    ])

    const out = join(work, "out")
    const result = await runBt(
      [
        "download", torrent, "-o", out, "--no-trackers", "--json",
        "--peer", `127.0.0.1:${libtorrent.port}`, "--peer", `127.0.0.1:${aria2.port}`
      ],
      { timeoutMs: 60_000 }
    )
    const context = `${describeRun(result)}\naria2c:\n${aria2.proc.stdout()}${aria2.proc.stderr()}`
    expect(result.code, context).toBe(0)
    expect(doneEvent(result), context).toMatchObject({ infoHash: info.info_hash, totalLength: totalOf(spec), downloaded: totalOf(spec) })
    await expectSameFiles(join(out, "two"), spec, expected, context)
    // Progress is printed once a second; the throttled download takes several.
    const progress = events(result).filter((e): e is ProgressEvent => e.event === "progress")
    expect(Math.max(0, ...progress.map((e) => e.peers)), context).toBe(2)
  }, 90_000)

  test("errors: a missing torrent file, and --peer that is not HOST:PORT, give one line and a non-zero exit", async () => {
    const work = await tempDir()
    const missing = join(work, "no-such.torrent")
    expectOneErrorLine(await runBt(["download", missing, "-o", join(work, "out")]), "no-such.torrent")

    await writeFiles(join(work, "src"), [{ path: "x.bin", size: 10_000 }], 24)
    const torrent = join(work, "t.torrent")
    await createTorrent(join(work, "src", "x.bin"), torrent, 16 * 1024)
    const bad = await runBt(["download", torrent, "-o", join(work, "out"), "--peer", "nonsense", "--no-trackers"])
    expectOneErrorLine(bad, "nonsense")
    expect(bad.stdout, describeRun(bad)).toBe("")
  })

  test("a second run into the same folder finds the data on disk; a missing file is fetched again alone", async () => {
    const work = await tempDir()
    const expected = await makeContent(join(work, "src"), "again", unevenSpec, 25)
    const torrent = join(work, "t.torrent")
    const pieceLength = 32 * 1024
    const info = await createTorrent(join(work, "src", "again"), torrent, pieceLength)
    const seeder = await startLtSeeder({ torrent, save: join(work, "src") })
    const out = join(work, "out")
    const args = ["download", torrent, "-o", out, "--peer", `127.0.0.1:${seeder.port}`, "--no-trackers", "--json"]
    const total = totalOf(unevenSpec)

    const first = await runBt(args, { timeoutMs: 60_000 })
    expect(first.code, describeRun(first)).toBe(0)
    expect(doneEvent(first), describeRun(first)).toMatchObject({ totalLength: total, downloaded: total })
    // libtorrent's extended handshake told us where it sees us (BEP 10 yourip): on loopback, a loopback address.
    expect(doneEvent(first)!.externalAddress, describeRun(first)).toEqual({ local: ["127.0.0.1"] })
    await expectSameFiles(join(out, "again"), unevenSpec, expected, describeRun(first))

    // Without one file, only the pieces that overlap it are fetched: its bytes, plus at most a piece on each side.
    const lost = unevenSpec.find((file) => file.path === "docs/deep/seven.bin")!
    await rm(join(out, "again", lost.path))
    const partial = await runBt(args, { timeoutMs: 60_000 })
    const partialDone = doneEvent(partial)
    expect(partial.code, describeRun(partial)).toBe(0)
    expect(partialDone, describeRun(partial)).toBeDefined()
    expect(partialDone!.downloaded, describeRun(partial)).toBeGreaterThanOrEqual(lost.size)
    expect(partialDone!.downloaded, describeRun(partial)).toBeLessThanOrEqual(lost.size + 2 * pieceLength)
    await expectSameFiles(join(out, "again"), unevenSpec, expected, describeRun(partial))

    // With the seeder gone, a run over complete data has nothing to fetch and ends at once.
    await stopProcess(seeder.proc)
    const started = Date.now()
    const last = await runBt(args, { timeoutMs: 30_000 })
    expect(last.code, describeRun(last)).toBe(0)
    expect(doneEvent(last), describeRun(last)).toMatchObject({ infoHash: info.info_hash, totalLength: total, downloaded: 0, wasted: 0 })
    expect(Date.now() - started, describeRun(last)).toBeLessThan(15_000)
    await expectSameFiles(join(out, "again"), unevenSpec, expected, describeRun(last))
  }, 120_000)
})
