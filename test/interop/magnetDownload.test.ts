/**
 * Magnet links end to end against libtorrent on 127.0.0.1 (link parsing is magnet.test.ts): `bt download` fetches a
 * magnet's metadata (BEP 9) from a libtorrent seeder found through opentracker, or named by `x.pe` alone, then
 * downloads; libtorrent fetches the metadata from `bt seed`; and PEX (BEP 11) both ways: bt dials a peer it heard
 * of only from a libtorrent seeder's PEX, and a libtorrent leecher dials a seeder it heard of only from bt's.
 * Every download is compared, by SHA-1, with the original files.
 */
import { readFile } from "node:fs/promises"
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
  startLtSeeder,
  startOpentracker,
  type Tracked,
  tempDir,
  waitForLine,
  writeFiles
} from "./harness.js"
import {
  type BtEvent,
  btEvents,
  describeProc,
  exitWithin,
  freshStateDir,
  hashFiles,
  listFiles,
  type LtPeerReport,
  spawnBt,
  startBtSeed,
  startLtLeecher,
  untilTrackerCounts
} from "./leechers.js"

// ---------------------------------------------------------------------------------------------------------------
// Content

/**
 * 400 files of uneven sizes (every 50th empty) in 8 folders, 16 KiB pieces: an info dictionary above 16 KiB, so the
 * metadata goes as two BEP 9 pieces, the last one short.
 */
const manyFiles: ReadonlyArray<FileSpec> = Array.from({ length: 400 }, (_, i) => ({
  path: `d${i % 8}/file-${String(i).padStart(3, "0")}.bin`,
  size: i % 50 === 0 ? 0 : 1_000 + ((i * 7_919) % 9_000)
}))

/** A single-file torrent's one file. */
const oneFile = (name: string, size: number): ReadonlyArray<FileSpec> => [{ path: name, size }]

/** 2 MiB and a bit: at 256 KiB/s from a throttled seeder, a download of about 8 s. */
const PEX_SIZE = 2 * 1024 * 1024 + 4_321

const totalOf = (spec: ReadonlyArray<FileSpec>): number => spec.reduce((sum, file) => sum + file.size, 0)

interface Content {
  readonly work: string
  /** Holds the torrent's content under its name. */
  readonly src: string
  readonly name: string
  /** A single-file torrent: its file is `name`, not a folder of that name. */
  readonly single: boolean
  readonly torrent: string
  readonly info: LtInfo
  readonly spec: ReadonlyArray<FileSpec>
  /** SHA-1 of each file, by path, taken before any peer ran. */
  readonly expected: Record<string, string>
}

/**
 * Writes `spec` into a folder `name`, or when `spec` is one file called `name` just that file, and makes a v1 torrent
 * of it (multi-file or single-file) with `lt.py create`, announcing to `trackers`.
 */
const makeContent = async (o: {
  readonly name: string
  readonly spec: ReadonlyArray<FileSpec>
  readonly seed: number
  readonly pieceLength: number
  readonly trackers?: ReadonlyArray<string>
  readonly work?: string
}): Promise<Content> => {
  const work = o.work ?? (await tempDir())
  const src = join(work, "src")
  const single = o.spec.length === 1 && o.spec[0]!.path === o.name
  await writeFiles(single ? src : join(src, o.name), o.spec, o.seed)
  const torrent = join(work, `${o.name}.torrent`)
  const info = (await lt([
    "create", join(src, o.name), "--out", torrent, "--piece-length", String(o.pieceLength),
    ...(o.trackers ?? []).flatMap((url) => ["--tracker", url])
  ])) as LtInfo
  expect(info.total_size).toBe(totalOf(o.spec))
  const content = { work, src, name: o.name, single, torrent, info, spec: o.spec }
  return { ...content, expected: await hashFiles(rootIn(src, content), o.spec) }
}

/** Where a client that downloads into `dir` puts the content's files. */
const rootIn = (dir: string, content: Pick<Content, "name" | "single">): string => content.single ? dir : join(dir, content.name)

/** The length of the info dictionary in a .torrent whose last key is `info` (as lt.py create writes them). */
const infoLength = async (torrent: string): Promise<number> => {
  const bytes = await readFile(torrent)
  return bytes.length - 1 - (bytes.indexOf("4:info") + "4:info".length)
}

/** A client downloaded into `dir` exactly the content's files, each with the original's bytes. */
const expectSameFiles = async (dir: string, content: Content, context: string): Promise<void> => {
  const root = rootIn(dir, content)
  expect(await listFiles(root), context).toEqual(Object.fromEntries(content.spec.map((file) => [file.path, file.size])))
  expect(await hashFiles(root, content.spec), context).toEqual(content.expected)
}

const magnetOf = (infoHash: string, params: { readonly dn?: string; readonly tr?: string; readonly peers?: ReadonlyArray<string> }) =>
  [
    `magnet:?xt=urn:btih:${infoHash}`,
    ...(params.dn === undefined ? [] : [`dn=${encodeURIComponent(params.dn)}`]),
    ...(params.tr === undefined ? [] : [`tr=${encodeURIComponent(params.tr)}`]),
    ...(params.peers ?? []).map((peer) => `x.pe=${peer}`)
  ].join("&")

const peer = (port: number): string => `127.0.0.1:${port}`

const describeRun = (result: RunResult): string => `exit ${result.code}\nstdout:\n${result.stdout.slice(-4000)}\nstderr:\n${result.stderr.slice(-4000)}`

const eventOf = (events: ReadonlyArray<BtEvent>, name: string): BtEvent | undefined => events.find((e) => e.event === name)

/** The most peers bt's `--json` progress lines counted at once. */
const maxPeers = (stdout: string): number =>
  Math.max(0, ...btEvents(stdout).map((e) => (e.event === "progress" ? (e.peers as number) : 0)))

/** Waits, bounded, for an `lt.py --report-peers` line that `match` accepts. */
const untilPeerReport = async (proc: Tracked, match: (report: LtPeerReport) => boolean, ms: number): Promise<LtPeerReport> =>
  JSON.parse(await waitForLine(proc, (line) => line.startsWith(`{"peer"`) && match(JSON.parse(line) as LtPeerReport), ms)) as LtPeerReport

/** A peer id of bt's: Azureus-style, `-BT0010-` (BEP 20). */
const isBtPeerId = (hex: string): boolean => Buffer.from(hex, "hex").subarray(0, 8).toString("latin1") === "-BT0010-"

// ---------------------------------------------------------------------------------------------------------------

interopSuite("bt download <magnet> and bt seed serving metadata, with libtorrent", ["libtorrent", "opentracker"], () => {
  test("a magnet with an http:// tracker: metadata and data from a libtorrent seeder that announced there", async () => {
    const work = await tempDir()
    const tracker = await startOpentracker(join(work, "tracker"), [])
    const content = await makeContent({ work, name: "many files", spec: manyFiles, seed: 71, pieceLength: 16 * 1024, trackers: [tracker.httpUrl] })
    expect(await infoLength(content.torrent)).toBeGreaterThan(16 * 1024)
    const hash = content.info.info_hash
    await tracker.allow([hash])
    const seeder = await startLtSeeder({ torrent: content.torrent, save: content.src, trackerAnnounce: true })
    await untilTrackerCounts(tracker.httpUrl, hash, 1, 20_000)

    // No x.pe and no --peer: the tracker is the only way to the seeder.
    const out = join(work, "out")
    const saved = join(work, "saved.torrent")
    const result = await runBt([
      "download", magnetOf(hash, { dn: content.name, tr: tracker.httpUrl }), "-o", out, "--port", String(await freePort()),
      "--json", "--save-torrent", saved, ...(await freshStateDir())
    ], { timeoutMs: 60_000 })
    const context = `${describeRun(result)}\n${describeProc("lt.py seed", seeder.proc)}`
    expect(result.code, context).toBe(0)
    const events = btEvents(result.stdout)
    expect(eventOf(events, "metadata-done"), context).toMatchObject({ name: content.name, infoHash: hash, peers: 1 })
    expect(eventOf(events, "done"), context).toMatchObject({
      name: content.name,
      infoHash: hash,
      totalLength: totalOf(manyFiles),
      downloaded: totalOf(manyFiles)
    })
    await expectSameFiles(out, content, context)

    // The .torrent written from the fetched metadata, read by bt and by libtorrent: the same torrent, with the
    // magnet's tracker.
    const info = await runBt(["info", saved, "--json"])
    expect(info.code, describeRun(info)).toBe(0)
    expect(JSON.parse(info.stdout), info.stdout).toMatchObject({
      infoHash: hash,
      name: content.name,
      totalLength: totalOf(manyFiles),
      pieceCount: content.info.num_pieces,
      trackers: [[tracker.httpUrl]]
    })
    const ltInfo = (await lt(["info", saved])) as LtInfo
    expect(ltInfo).toMatchObject({ info_hash: hash, name: content.name, files: content.info.files })
    expect(ltInfo.trackers).toEqual([{ url: tracker.httpUrl, tier: 0 }])
  }, 90_000)

  test("a magnet with x.pe and no tracker, --no-trackers: a single file from a libtorrent seeder", async () => {
    const content = await makeContent({ name: "single.bin", spec: oneFile("single.bin", 1_500_007), seed: 72, pieceLength: 32 * 1024 })
    const seeder = await startLtSeeder({ torrent: content.torrent, save: content.src })
    const out = join(content.work, "out")
    // No dn either: the name comes from the metadata. Without --json, the lines a user reads.
    const result = await runBt([
      "download", magnetOf(content.info.info_hash, { peers: [peer(seeder.port)] }), "-o", out, "--no-trackers",
      "--port", "0", ...(await freshStateDir())
    ], { timeoutMs: 60_000 })
    const context = `${describeRun(result)}\n${describeProc("lt.py seed", seeder.proc)}`
    expect(result.code, context).toBe(0)
    expect(result.stdout, context).toMatch(/^single\.bin: metadata \([\d.]+ [KM]?i?B\) from 1 peer in [\d.]+ s$/m)
    await expectSameFiles(out, content, context)
  }, 90_000)

  test("libtorrent fetches the metadata of bt magnet's link from bt seed, then every byte", async () => {
    const content = await makeContent({ name: "served", spec: manyFiles, seed: 73, pieceLength: 16 * 1024 })
    expect(await infoLength(content.torrent)).toBeGreaterThan(16 * 1024)
    const seeder = await startBtSeed({ torrent: content.torrent, dir: content.src })
    const link = await runBt(["magnet", content.torrent])
    expect(link.code, describeRun(link)).toBe(0)
    const magnet = link.stdout.trim()

    // bt seed is the only source: of the metadata and of the data.
    const out = join(content.work, "lt")
    const leecher = await startLtLeecher({ magnet, save: out, peers: [peer(seeder.port)], reportPeers: true, timeoutSeconds: 60 })
    const context = () => `${describeProc("bt seed", seeder.proc)}\n${describeProc("lt.py leech-magnet", leecher.proc)}`
    const done = await leecher.done.catch((error: unknown) => {
      throw new Error(`${String(error)}\n${context()}`)
    })
    expect(done, context()).toMatchObject({ info_hash: content.info.info_hash, name: content.name, total_size: totalOf(manyFiles) })
    expect(done.metadata_seconds, context()).toBeDefined()
    expect(done.downloaded, context()).toBe(totalOf(manyFiles))
    expect(done.from, context()).toEqual({ [peer(seeder.port)]: totalOf(manyFiles) })
    await expectSameFiles(out, content, context())
    // libtorrent read our extended handshake (it had to, for ut_metadata): it names us by its `v`.
    expect(leecher.peers().filter((r) => r.peer === peer(seeder.port)).map((r) => r.client), context()).toContain("bt 0.1.0")
  }, 90_000)
})

interopSuite("PEX (BEP 11) between bt and libtorrent", ["libtorrent"], () => {
  /** Bytes per second a throttled libtorrent seeder uploads: long enough a download for PEX to go round. */
  const SLOW = 256 * 1024

  test("bt dials a peer it heard of only through a libtorrent seeder's PEX", async () => {
    const content = await makeContent({ name: "pex-in.bin", spec: oneFile("pex-in.bin", PEX_SIZE), seed: 74, pieceLength: 32 * 1024 })
    const s1 = await startLtSeeder({ torrent: content.torrent, save: content.src, uploadLimit: SLOW, logPex: true })
    // P2: a leecher held to 16 KiB/s, so it stays one and S1 keeps it (libtorrent drops seed-to-seed connections).
    // It dials S1 and takes no PEX: it cannot know bt's address before bt connects to it. After that it may dial bt
    // back, at the port bt's extended handshake names; libtorrent then keeps "incoming" as how it heard of bt.
    const p2 = await startLtLeecher({
      torrent: content.torrent,
      save: join(content.work, "p2"),
      peers: [peer(s1.port)],
      downloadLimit: 16 * 1024,
      noPex: true,
      reportPeers: true,
      timeoutSeconds: 120
    })
    await untilPeerReport(p2.proc, (r) => r.peer === peer(s1.port), 15_000)

    // bt is told of S1 alone. S1 sends a connection its first PEX (every peer it is connected to) a second or two
    // after the extended handshake: to bt's metadata connection if it lasts that long, else to the download's. The
    // download takes about 8 s.
    const out = join(content.work, "out")
    const result = await runBt([
      "download", magnetOf(content.info.info_hash, { peers: [peer(s1.port)] }), "-o", out, "--no-trackers",
      "--port", "0", "--json", ...(await freshStateDir())
    ], { timeoutMs: 60_000 })
    const context = `${describeRun(result)}\n${describeProc("lt.py seed (S1)", s1.proc)}\n${describeProc("lt.py leech (P2)", p2.proc)}`
    expect(result.code, context).toBe(0)
    await expectSameFiles(out, content, context)

    // P2 was connected to bt, and knew of it from a connection bt made: bt dialled it. (That first connection can
    // be one of bt's metadata fetch, closed before P2's next look at its peers: then P2's dial back is what shows.)
    const fromBt = p2.peers().filter((r) => isBtPeerId(r.peer_id))
    expect(fromBt.length, context).toBeGreaterThan(0)
    expect(fromBt.every((r) => r.source.length === 1 && r.source[0] === "incoming"), context).toBe(true)
    // And bt's download was connected to both.
    expect(maxPeers(result.stdout), context).toBe(2)
  }, 90_000)

  test("a libtorrent leecher dials a seeder it heard of only through bt's PEX", async () => {
    const content = await makeContent({ name: "pex-out.bin", spec: oneFile("pex-out.bin", PEX_SIZE), seed: 75, pieceLength: 32 * 1024 })
    // S takes no PEX: told of L by bt, it would dial L itself, and L's view of S would be that connection instead.
    const s = await startLtSeeder({ torrent: content.torrent, save: content.src, uploadLimit: SLOW, noPex: true })
    const btPort = await freePort()
    const bt = spawnBt([
      "download", magnetOf(content.info.info_hash, { peers: [peer(s.port)] }), "-o", join(content.work, "out"),
      "--no-trackers", "--port", String(btPort), "--json", ...(await freshStateDir())
    ])
    // The torrent has started (metadata fetched) and bt is dialling S.
    await waitForLine(bt, (line) => line.includes(`"event":"progress"`), 20_000)

    // L is told of bt alone.
    const l = await startLtLeecher({
      torrent: content.torrent,
      save: join(content.work, "l"),
      peers: [peer(btPort)],
      reportPeers: true,
      logPex: true,
      timeoutSeconds: 60
    })
    const context = () =>
      `${describeProc("bt download", bt)}\n${describeProc("lt.py seed (S)", s.proc)}\n${describeProc("lt.py leech (L)", l.proc)}`
    const done = await l.done.catch((error: unknown) => {
      throw new Error(`${String(error)}\n${context()}`)
    })
    await expectSameFiles(join(content.work, "l"), content, context())
    // L dialled S, having heard of it through PEX (bt is the only peer that could tell it), and got data from it.
    const fromS = l.peers().filter((r) => r.peer === peer(s.port))
    expect(fromS.length, context()).toBeGreaterThan(0)
    expect(fromS.every((r) => r.outgoing && r.source.includes("pex")), context()).toBe(true)
    expect(done.from[peer(s.port)] ?? 0, context()).toBeGreaterThan(0)
    // libtorrent's own log of what came from bt: one peer added (S; bt leaves L out of what it tells L).
    expect(l.proc.stderr(), context()).toContain(`[${peer(btPort)}] <== PEX [ dropped: 0 added: 1 ]`)

    const result = await exitWithin(bt, 60_000, "bt download")
    expect(result.code, context()).toBe(0)
    await expectSameFiles(join(content.work, "out"), content, context())
    // bt's download was connected to both.
    expect(maxPeers(result.stdout), context()).toBe(2)
  }, 90_000)
})
