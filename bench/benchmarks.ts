/**
 * The benchmarks. Each starts the seeders it needs, runs bt interleaved with its anchors (./measure.ts), stops what
 * it started and deletes what the runs wrote. Targets are the ones the benchmark issue sets; they are reported,
 * never asserted.
 */
import { mkdir, open, readFile, writeFile } from "node:fs/promises"
import { performance } from "node:perf_hooks"
import { join } from "node:path"
import {
  type BenchResult,
  type Comparison,
  cpuRatio,
  interleave,
  median,
  type Progress,
  ratio,
  type RunRecord,
  statusOf,
  type Subject,
  type SubjectResult
} from "./measure.js"
import { type Daemon, pollUntil, startDaemon, tinyTorrents } from "./daemon.js"
import { cpuSecondsNow, type Proc, rssNow, runBounded, RunError, spawnTracked, stop, waitForLine } from "./proc.js"
import {
  aria2Download,
  btBin,
  btCreate,
  baseBtBin,
  btDownload,
  type BtTransport,
  btVerify,
  type Downloaded,
  hasLibtorrent,
  jsonLines,
  ltCheck,
  ltDownload,
  onPath,
  removeDir,
  sameBytes,
  type Seeder,
  sleepMs,
  startBtSeeder,
  startLinkRelay,
  startLtSeeder,
  startSeederSwarm,
  startOpentracker,
  type Torrent,
  withAnnounce,
  writePayload
} from "./swarm.js"

export interface Context {
  /** The run's temp dir; everything below it is deleted at the end. */
  readonly work: string
  /** The payload file (inside `seedDir`) and its torrent, made once per run. */
  readonly payload: () => Promise<{ readonly file: string; readonly seedDir: string; readonly torrent: Torrent }>
  readonly rounds: number
  /** Bound on one run, and on a seeder's start (its hash check). */
  readonly timeoutMs: number
  readonly progress: Progress
}

export interface Benchmark {
  readonly name: string
  readonly title: string
  readonly run: (ctx: Context) => Promise<BenchResult>
}

const byId = (subjects: ReadonlyArray<SubjectResult>, id: string): SubjectResult | undefined =>
  subjects.find((s) => s.id === id)

/** Stops the processes a benchmark started (those still running). */
const stopAllOf = async (procs: ReadonlyArray<Proc | undefined>): Promise<void> => {
  await Promise.all(procs.filter((p): p is Proc => p !== undefined).map(stop))
}

/**
 * Subjects that download the payload into `out(id, round)`: the bytes compared once per client (the first round;
 * every client also checks piece hashes itself), the copy and the state deleted after each run.
 */
const payloadSubject = (o: {
  readonly ctx: Context
  readonly file: string
  readonly seedDir: string
  readonly bytes: number
  readonly out: (id: string, round: number) => string
  readonly state: (id: string, round: number) => string
}) =>
(id: string, label: string, role: Subject["role"], measured: string, run: Subject["run"], note?: string): Subject => ({
  id,
  label,
  role,
  measured,
  bytes: o.bytes,
  run,
  verify: async (round) =>
    round === 0 ? sameBytes(o.file, join(o.out(id, round), o.file.slice(o.seedDir.length + 1)), o.ctx.timeoutMs) : undefined,
  cleanup: async (round) => {
    await removeDir(o.out(id, round))
    await removeDir(o.state(id, round))
  },
  ...(note === undefined ? {} : { note })
})

const WARM_CACHE =
  "page cache warm for every client: the payload was just written and hashed, nothing is dropped between runs; only the downloaded copy (and bt's resume state) is deleted after each run"

// ---------------------------------------------------------------------------------------------------------------
// download

const download: Benchmark = {
  name: "download",
  title: "Download from one libtorrent seeder: bt vs libtorrent vs aria2c",
  run: async (ctx) => {
    const notes: Array<string> = [WARM_CACHE]
    if (!hasLibtorrent()) return skipped("download", "python3-libtorrent is not installed (scripts/install-interop-peers.sh)")
    const { file, seedDir, torrent } = await ctx.payload()
    const procs: Array<Proc | undefined> = []
    try {
      // aria2 cannot be handed a peer: it finds the seeder through an http:// tracker that the seeder announces to.
      let trackerTorrent: string | undefined
      if (process.env.BENCH_SKIP_ARIA2 === "1") notes.push("aria2c skipped (BENCH_SKIP_ARIA2=1)")
      else if (!onPath("aria2c")) notes.push("aria2c not installed: skipped")
      else if (!onPath("opentracker")) notes.push("opentracker not installed, and aria2c needs an http:// tracker: aria2c skipped")
      else {
        const tracker = await startOpentracker(join(ctx.work, "tracker"), torrent.infoHash)
        procs.push(tracker.proc)
        trackerTorrent = join(ctx.work, "payload-tracker.torrent")
        await withAnnounce(torrent.path, tracker.url, trackerTorrent)
      }
      ctx.progress.log("  starting the libtorrent seeder (hash check)…")
      const seeder = await startLtSeeder({
        torrent: trackerTorrent ?? torrent.path,
        save: seedDir,
        trackerAnnounce: trackerTorrent !== undefined,
        readyMs: ctx.timeoutMs
      })
      procs.push(seeder.proc)

      const out = (id: string, round: number): string => join(ctx.work, `dl-${id}-${round}`)
      const transfer = payloadSubject({ ctx, file, seedDir, bytes: torrent.size, out, state: (id, round) => join(ctx.work, `state-${id}-${round}`) })
      const subjects: Array<Subject> = [
        transfer("bt", "bt download", "bt", "bt download", (round) =>
          btDownload({
            torrent: torrent.path,
            out: out("bt", round),
            stateDir: join(ctx.work, `state-bt-${round}`),
            peerPort: seeder.port,
            timeoutMs: ctx.timeoutMs
          })),
        transfer("libtorrent", "libtorrent (lt.py leech)", "anchor", "lt.py leech", (round) =>
          ltDownload({ torrent: torrent.path, out: out("libtorrent", round), peerPort: seeder.port, timeoutMs: ctx.timeoutMs }))
      ]
      const base = baseBtBin()
      if (base !== undefined) {
        subjects.push(transfer("bt-base", "bt download (base)", "bt", "bt download, BENCH_BASE_BT", (round) =>
          btDownload({
            torrent: torrent.path,
            out: out("bt-base", round),
            stateDir: join(ctx.work, `state-bt-base-${round}`),
            peerPort: seeder.port,
            timeoutMs: ctx.timeoutMs,
            bin: base
          })))
        notes.push(`bt (base) runs ${base} (BENCH_BASE_BT)`)
      }
      if (trackerTorrent !== undefined) {
        const tt = trackerTorrent
        subjects.push(
          transfer(
            "aria2",
            "aria2c",
            "anchor",
            "aria2c",
            (round) => aria2Download({ torrent: tt, out: out("aria2", round), timeoutMs: ctx.timeoutMs }),
            "finds the seeder through opentracker (http://); its time includes that announce"
          )
        )
      }
      const results = await interleave(subjects, ctx.rounds, ctx.progress)
      const bt = byId(results, "bt")
      const comparisons: Array<Comparison> = [
        ratio("bt / libtorrent (MiB/s)", bt, byId(results, "libtorrent"), 1.25),
        ...(trackerTorrent === undefined ? [] : [ratio("bt / aria2c (MiB/s)", bt, byId(results, "aria2"))]),
        ...(base === undefined ? [] : [
          ratio("bt (base) / libtorrent (MiB/s)", byId(results, "bt-base"), byId(results, "libtorrent"), 1.25),
          ratio("bt / bt (base) (MiB/s)", bt, byId(results, "bt-base"))
        ]),
        rssAtMost("bt download peak RSS, max over runs", bt?.maxPeakRssMB, 160)
      ]
      notes.push(
        "MiB/s = payload size / wall time from spawn to exit of the downloading process (start-up included for every client)",
        "libtorrent's RSS counts the payload pages it maps (it writes through mmap): not comparable with bt's"
      )
      return { name: "download", title: download.title, status: statusOf(results), metric: "mibps", subjects: results, comparisons, notes }
    } finally {
      await stopAllOf(procs)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// encrypted

/** One bt download of the payload from a libtorrent seeder, with some of bt's options set. */
interface BtVariant {
  readonly id: string
  readonly label: string
  readonly role: Subject["role"]
  readonly encryption?: "require" | "disable"
  readonly transport?: "tcp" | "utp"
}

/**
 * bt against itself: downloads of the payload from one libtorrent seeder (started with `seeder`), each variant of
 * bt's options in turn, interleaved; the first variant over the second compared with `target`.
 */
const btVariants = (o: {
  readonly name: string
  readonly title: string
  readonly seeder: Pick<Parameters<typeof startLtSeeder>[0], "encryption" | "transport">
  readonly variants: readonly [BtVariant, BtVariant]
  readonly comparison: string
  readonly target: number
  /** Also libtorrent's own leecher over this transport, as an anchor: the first variant over it is reported. */
  readonly ltLeecher?: { readonly transport: "tcp" | "utp"; readonly comparison: string }
  readonly notes: ReadonlyArray<string>
}): Benchmark => ({
  name: o.name,
  title: o.title,
  run: async (ctx) => {
    if (!hasLibtorrent()) return skipped(o.name, "python3-libtorrent is not installed (scripts/install-interop-peers.sh)")
    const { file, seedDir, torrent } = await ctx.payload()
    const procs: Array<Proc | undefined> = []
    try {
      ctx.progress.log("  starting the libtorrent seeder (hash check)…")
      const seeder = await startLtSeeder({ torrent: torrent.path, save: seedDir, ...o.seeder, readyMs: ctx.timeoutMs })
      procs.push(seeder.proc)
      const out = (id: string, round: number): string => join(ctx.work, `${o.name}-${id}-${round}`)
      const state = (id: string, round: number): string => join(ctx.work, `state-${o.name}-${id}-${round}`)
      const name = file.slice(seedDir.length + 1)
      const subject = (variant: BtVariant): Subject => ({
        id: variant.id,
        label: variant.label,
        role: variant.role,
        measured: "bt download",
        bytes: torrent.size,
        run: (round) =>
          btDownload({
            torrent: torrent.path,
            out: out(variant.id, round),
            stateDir: state(variant.id, round),
            peerPort: seeder.port,
            timeoutMs: ctx.timeoutMs,
            ...(variant.encryption === undefined ? {} : { encryption: variant.encryption }),
            ...(variant.transport === undefined ? {} : { transport: variant.transport })
          }),
        verify: async (round) => (round === 0 ? sameBytes(file, join(out(variant.id, round), name), ctx.timeoutMs) : undefined),
        cleanup: async (round) => {
          await removeDir(out(variant.id, round))
          await removeDir(state(variant.id, round))
        }
      })
      const lt = o.ltLeecher
      const ltSubject: Array<Subject> = lt === undefined ? [] : [{
        id: "libtorrent",
        label: `libtorrent (lt.py leech, ${lt.transport})`,
        role: "anchor",
        measured: "lt.py leech",
        bytes: torrent.size,
        run: (round) =>
          ltDownload({ torrent: torrent.path, out: out("libtorrent", round), peerPort: seeder.port, timeoutMs: ctx.timeoutMs, transport: lt.transport }),
        verify: async (round) => (round === 0 ? sameBytes(file, join(out("libtorrent", round), name), ctx.timeoutMs) : undefined),
        cleanup: (round) => removeDir(out("libtorrent", round))
      }]
      const results = await interleave([...o.variants.map(subject), ...ltSubject], ctx.rounds, ctx.progress)
      const [first, second] = o.variants
      return {
        name: o.name,
        title: o.title,
        status: statusOf(results),
        metric: "mibps",
        subjects: results,
        comparisons: [
          ratio(o.comparison, byId(results, first.id), byId(results, second.id), o.target),
          ...(lt === undefined ? [] : [ratio(lt.comparison, byId(results, first.id), byId(results, "libtorrent"))])
        ],
        notes: [WARM_CACHE, ...o.notes]
      }
    } finally {
      await stopAllOf(procs)
    }
  }
})

const encrypted = btVariants({
  name: "encrypted",
  title: "Download from one libtorrent seeder: RC4 (MSE/PE) vs plaintext",
  // One seeder that takes either: bt's policy alone decides what each run speaks.
  seeder: { encryption: "enabled" },
  variants: [
    { id: "rc4", label: "bt --encryption require (RC4)", role: "bt", encryption: "require" },
    { id: "plain", label: "bt --encryption disable", role: "anchor", encryption: "disable" }
  ],
  comparison: "RC4 / plaintext (MiB/s)",
  target: 0.8,
  notes: ["the same libtorrent seeder (encryption enabled: it takes either) for both"]
})

const utp = btVariants({
  name: "utp",
  title: "Download from one libtorrent seeder: uTP (BEP 29) vs TCP",
  seeder: { transport: "both" },
  variants: [
    { id: "utp", label: "bt --transport utp", role: "bt", transport: "utp" },
    { id: "tcp", label: "bt --transport tcp", role: "anchor", transport: "tcp" }
  ],
  comparison: "uTP / TCP (MiB/s)",
  target: 0.8,
  ltLeecher: { transport: "utp", comparison: "bt uTP / libtorrent uTP (MiB/s)" },
  notes: ["the same libtorrent seeder (uTP and TCP both on) for both; the cpu column is bt's CPU time per run"]
})

const rssAtMost = (what: string, value: number | undefined, target: number): Comparison => ({
  what,
  unit: "MB",
  ...(value === undefined ? {} : { value: Math.round(value), met: value <= target }),
  target: { op: "<=", value: target }
})

const skipped = (name: string, why: string): BenchResult => ({
  name,
  title: name,
  status: "skipped",
  subjects: [],
  comparisons: [],
  notes: [why]
})

// ---------------------------------------------------------------------------------------------------------------
// upload

const upload: Benchmark = {
  name: "upload",
  title: "Upload: libtorrent leeching from bt seed vs from a libtorrent seeder",
  run: async (ctx) => {
    if (!hasLibtorrent()) return skipped("upload", "python3-libtorrent is not installed (scripts/install-interop-peers.sh)")
    const { file, seedDir, torrent } = await ctx.payload()
    const procs: Array<Proc | undefined> = []
    let btSeeder: Seeder | undefined
    try {
      ctx.progress.log("  starting bt seed and the libtorrent seeder (hash checks)…")
      btSeeder = await startBtSeeder({ torrent: torrent.path, dir: seedDir, stateDir: join(ctx.work, "state-btseed-up"), readyMs: ctx.timeoutMs })
      procs.push(btSeeder.proc)
      const ltSeeder = await startLtSeeder({ torrent: torrent.path, save: seedDir, readyMs: ctx.timeoutMs })
      procs.push(ltSeeder.proc)
      const name = file.slice(seedDir.length + 1)
      const leechFrom = (id: string, label: string, role: Subject["role"], port: number): Subject => {
        const out = (round: number): string => join(ctx.work, `up-${id}-${round}`)
        return {
          id,
          label,
          role,
          measured: "lt.py leech",
          bytes: torrent.size,
          run: (round) => ltDownload({ torrent: torrent.path, out: out(round), peerPort: port, timeoutMs: ctx.timeoutMs }),
          verify: async (round) => (round === 0 ? sameBytes(file, join(out(round), name), ctx.timeoutMs) : undefined),
          cleanup: (round) => removeDir(out(round))
        }
      }
      const results = await interleave(
        [
          leechFrom("bt-seed", "libtorrent ← bt seed", "bt", btSeeder.port),
          leechFrom("lt-seed", "libtorrent ← libtorrent seed", "anchor", ltSeeder.port)
        ],
        ctx.rounds,
        ctx.progress
      )
      await stop(btSeeder.proc)
      const seedExit = await btSeeder.proc.exited
      const seedRss = seedExit.peakRss === undefined ? undefined : Math.round(seedExit.peakRss / 1e6)
      const comparisons: Array<Comparison> = [
        ratio("from bt / from libtorrent (MiB/s)", byId(results, "bt-seed"), byId(results, "lt-seed"), 1.0),
        {
          what: "bt seed peak RSS over the whole benchmark (data check included)",
          unit: "MB",
          ...(seedRss === undefined ? {} : { value: seedRss })
        }
      ]
      return {
        name: "upload",
        title: upload.title,
        status: statusOf(results),
        metric: "mibps",
        subjects: results,
        comparisons,
        notes: [
          WARM_CACHE,
          "both seeders run for the whole benchmark; the leecher is libtorrent (lt.py leech) each time",
          "MiB/s = payload size / wall time of the libtorrent leecher, spawn to exit"
        ]
      }
    } finally {
      await stopAllOf(procs)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// bt-to-bt

const btToBt: Benchmark = {
  name: "bt-to-bt",
  title: "bt seed → bt download vs libtorrent seed → libtorrent leech",
  run: async (ctx) => {
    if (!hasLibtorrent()) return skipped("bt-to-bt", "python3-libtorrent is not installed (scripts/install-interop-peers.sh)")
    const { file, seedDir, torrent } = await ctx.payload()
    const procs: Array<Proc | undefined> = []
    try {
      ctx.progress.log("  starting bt seed (data check) and the libtorrent seeder (hash check)…")
      const seeder = await startBtSeeder({ torrent: torrent.path, dir: seedDir, stateDir: join(ctx.work, "state-btseed-b2b"), readyMs: ctx.timeoutMs })
      procs.push(seeder.proc)
      const ltSeeder = await startLtSeeder({ torrent: torrent.path, save: seedDir, readyMs: ctx.timeoutMs })
      procs.push(ltSeeder.proc)
      const name = file.slice(seedDir.length + 1)
      const out = (id: string, round: number): string => join(ctx.work, `b2b-${id}-${round}`)
      const sameAsPayload = (id: string) => async (round: number) =>
        round === 0 ? sameBytes(file, join(out(id, round), name), ctx.timeoutMs) : undefined
      const results = await interleave(
        [
          {
            id: "bt",
            label: "bt download ← bt seed (tcp)",
            role: "bt",
            measured: "bt download",
            bytes: torrent.size,
            run: (round) =>
              btDownload({ torrent: torrent.path, out: out("bt", round), stateDir: join(ctx.work, `state-b2b-${round}`), peerPort: seeder.port, timeoutMs: ctx.timeoutMs }),
            verify: sameAsPayload("bt"),
            cleanup: async (round) => {
              await removeDir(out("bt", round))
              await removeDir(join(ctx.work, `state-b2b-${round}`))
            }
          },
          {
            id: "libtorrent",
            label: "lt.py leech ← lt.py seed (tcp)",
            role: "anchor",
            measured: "lt.py leech",
            bytes: torrent.size,
            run: (round) => ltDownload({ torrent: torrent.path, out: out("libtorrent", round), peerPort: ltSeeder.port, timeoutMs: ctx.timeoutMs }),
            verify: sameAsPayload("libtorrent"),
            cleanup: (round) => removeDir(out("libtorrent", round))
          }
        ],
        ctx.rounds,
        ctx.progress
      )
      return {
        name: "bt-to-bt",
        title: btToBt.title,
        status: statusOf(results),
        metric: "mibps",
        subjects: results,
        comparisons: [
          ratio("bt→bt / libtorrent→libtorrent (MiB/s)", byId(results, "bt"), byId(results, "libtorrent"), 1.0),
          rssAtMost("bt download peak RSS, max over runs", byId(results, "bt")?.maxPeakRssMB, 160)
        ],
        notes: [
          WARM_CACHE,
          "both pairs run seeder and downloader on the same 2 cores; both seeders stay up for the whole benchmark (the idle one costs ~nothing)"
        ]
      }
    } finally {
      await stopAllOf(procs)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// defaults

/**
 * bt seed → bt download as a user gets them (no `--transport`), against both transports named: the defaults should
 * cost nothing against the best of them. One seeder with default options serves every run.
 */
const defaults: Benchmark = {
  name: "defaults",
  title: "bt seed → bt download: default options vs the best transport (--transport tcp, --transport utp)",
  run: async (ctx) => {
    const { file, seedDir, torrent } = await ctx.payload()
    const procs: Array<Proc | undefined> = []
    try {
      ctx.progress.log("  starting bt seed with default options (data check)…")
      const seeder = await startBtSeeder({
        torrent: torrent.path,
        dir: seedDir,
        stateDir: join(ctx.work, "state-btseed-defaults"),
        readyMs: ctx.timeoutMs,
        transport: "default"
      })
      procs.push(seeder.proc)
      const out = (id: string, round: number): string => join(ctx.work, `defaults-${id}-${round}`)
      const state = (id: string, round: number): string => join(ctx.work, `state-defaults-${id}-${round}`)
      const subject = payloadSubject({ ctx, file, seedDir, bytes: torrent.size, out, state })
      const variant = (id: string, label: string, role: Subject["role"], transport: BtTransport): Subject =>
        subject(id, label, role, "bt download", (round) =>
          btDownload({
            torrent: torrent.path,
            out: out(id, round),
            stateDir: state(id, round),
            peerPort: seeder.port,
            timeoutMs: ctx.timeoutMs,
            transport
          }))
      const results = await interleave(
        [
          variant("defaults", "bt download (default options)", "bt", "default"),
          variant("tcp", "bt download --transport tcp", "anchor", "tcp"),
          variant("utp", "bt download --transport utp", "anchor", "utp")
        ],
        ctx.rounds,
        ctx.progress
      )
      const tcp = byId(results, "tcp")
      const utp = byId(results, "utp")
      const best = (utp?.median?.mibps ?? 0) > (tcp?.median?.mibps ?? 0) ? utp : tcp
      return {
        name: "defaults",
        title: defaults.title,
        status: statusOf(results),
        metric: "mibps",
        subjects: results,
        comparisons: [
          ratio(`defaults / best transport (${best?.id ?? "none"}) (MiB/s)`, byId(results, "defaults"), best, 0.95),
          ratio("uTP / TCP between two bt (MiB/s)", utp, tcp)
        ],
        notes: [
          WARM_CACHE,
          "one bt seed with default options (it listens on TCP and uTP) serves every run; seeder and downloader share the 2 cores",
          "the downloader dials the seeder (--peer); the transport it picks is its default's choice"
        ]
      }
    } finally {
      await stopAllOf(procs)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// startup

const startup: Benchmark = {
  name: "startup",
  title: "Start-up: bt info and bt --help vs transmission-show",
  run: async (ctx) => {
    const dir = join(ctx.work, "startup")
    await mkdir(join(dir, "small"), { recursive: true })
    await writeFile(join(dir, "small", "a.txt"), "a small torrent for timing start-up\n".repeat(1000))
    await writePayload(join(dir, "small", "b.bin"), 3 << 20)
    const torrent = await btCreate(join(dir, "small"), join(dir, "small.torrent"), 1 << 18, ctx.timeoutMs)
    const node = process.execPath
    const timed = (args: ReadonlyArray<string>, what: string, cmd = node): Subject["run"] =>
      async () => ({ exit: await runBounded(cmd, args, ctx.timeoutMs, what) })
    const subjects: Array<Subject> = [
      { id: "bt-info", label: "bt info --json", role: "bt", measured: "bt info", run: timed([btBin, "info", torrent.path, "--json"], "bt info") },
      { id: "bt-help", label: "bt --help", role: "bt", measured: "bt --help", run: timed([btBin, "--help"], "bt --help") },
      {
        id: "node",
        label: "node -e 0 (Node's own start)",
        role: "anchor",
        measured: "node",
        run: timed(["-e", "0"], "node -e 0"),
        note: "the floor any Node CLI starts from"
      }
    ]
    const notes = ["wall time from spawn to exit, median over the rounds; the torrent is small (2 files, 3 MiB, 256 KiB pieces)"]
    if (onPath("transmission-show")) {
      subjects.push({
        id: "transmission-show",
        label: "transmission-show",
        role: "anchor",
        measured: "transmission-show",
        run: timed([torrent.path], "transmission-show", "transmission-show")
      })
    } else notes.push("transmission-show not installed: no anchor")
    const rounds = Math.max(ctx.rounds, 5)
    const results = await interleave(subjects, rounds, ctx.progress)
    const ms = (id: string): number | undefined => {
      const s = byId(results, id)?.median?.seconds
      return s === undefined ? undefined : Math.round(s * 1000)
    }
    const info = ms("bt-info")
    const show = ms("transmission-show")
    const nodeMs = ms("node")
    const rss = (id: string): number | undefined => byId(results, id)?.maxPeakRssMB
    const comparisons: Array<Comparison> = [
      atMost("bt info, median", "ms", info, 150),
      atMost("bt --help, median", "ms", ms("bt-help"), 150),
      atMost("bt info time / node -e 0 time", "×", info === undefined || nodeMs === undefined ? undefined : Math.round((info / nodeMs) * 100) / 100, 3),
      atMost("bt info, peak RSS (max over runs)", "MB", rss("bt-info"), 60),
      atMost("bt --help, peak RSS (max over runs)", "MB", rss("bt-help"), 60),
      ...(show === undefined ? [] : [{ what: "transmission-show, median", unit: "ms", value: show }]),
      ...(nodeMs === undefined ? [] : [{ what: "node -e 0, median", unit: "ms", value: nodeMs }]),
      ...(info === undefined || show === undefined
        ? []
        : [{ what: "bt info time / transmission-show time", unit: "×", value: Math.round((info / show) * 100) / 100 }])
    ]
    await removeDir(dir)
    return { name: "startup", title: startup.title, status: statusOf(results), metric: "ms", subjects: results, comparisons, notes }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// recheck

const recheck: Benchmark = {
  name: "recheck",
  title: "Full recheck: bt verify vs libtorrent's check",
  run: async (ctx) => {
    if (!hasLibtorrent()) return skipped("recheck", "python3-libtorrent is not installed (scripts/install-interop-peers.sh)")
    const { seedDir, torrent } = await ctx.payload()
    const results = await interleave(
      [
        {
          id: "bt",
          label: "bt verify",
          role: "bt",
          measured: "bt verify",
          bytes: torrent.size,
          run: () => btVerify({ torrent: torrent.path, dir: seedDir, timeoutMs: ctx.timeoutMs })
        },
        {
          id: "libtorrent",
          label: "libtorrent check (lt.py seed)",
          role: "anchor",
          measured: "lt.py seed, spawn to ready",
          bytes: torrent.size,
          run: () => ltCheck({ torrent: torrent.path, save: seedDir, timeoutMs: ctx.timeoutMs })
        }
      ],
      ctx.rounds,
      ctx.progress
    )
    return {
      name: "recheck",
      title: recheck.title,
      status: statusOf(results),
      metric: "mibps",
      subjects: results,
      comparisons: [
        ratio("bt verify / libtorrent check (MiB/s)", byId(results, "bt"), byId(results, "libtorrent"), 1.5),
        {
          what: "bt verify peak RSS, max over runs",
          unit: "MB",
          ...(byId(results, "bt")?.maxPeakRssMB === undefined ? {} : { value: Math.round(byId(results, "bt")!.maxPeakRssMB!) })
        }
      ],
      notes: [
        "the payload is in the page cache (just written): this measures hashing and reading from memory, not the disk",
        "MiB/s = payload size / wall time from spawn to exit (bt) or to the seeder's ready line (libtorrent, which hashes every piece of a torrent added without resume data); both include their start-up",
        "target from issue #22: ≥ 1.5× libtorrent"
      ]
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// many-peers

interface ManyPeersRun {
  readonly round: number
  readonly progressPeers: number
  readonly servedPeers: number
  readonly connections: number
  /** Bytes bt received twice or did not need (endgame duplicates, late answers), from its `done` line. */
  readonly wastedBytes: number
  readonly transferCpuSeconds?: number
}

/** Peers in the large swarm (`BENCH_MANY_PEERS=N` for another: issue #22 asks 500), and in the small one (issue #9). */
const MANY = Number(process.env.BENCH_MANY_PEERS ?? 200)
const FEW = 4

const manyPeers: Benchmark = {
  name: "many-peers",
  title: `Download from ${MANY} peers vs from ${FEW}: bt's CPU per GiB`,
  run: async (ctx) => {
    const { file, seedDir, torrent } = await ctx.payload()
    const procs: Array<Proc | undefined> = []
    try {
      ctx.progress.log(`  starting ${MANY} seeders in one process (./seeders.ts)…`)
      const swarm = await startSeederSwarm({ file, torrent, peers: MANY, readyMs: ctx.timeoutMs })
      procs.push(swarm.proc)
      const name = file.slice(seedDir.length + 1)
      /**
       * Per run: the most peers bt's progress lines showed, the seeders that served it a block, its wasted bytes, and
       * its CPU seconds after its first connection.
       */
      const seen = new Map<string, Array<ManyPeersRun>>()
      const subject = (id: string, label: string, role: Subject["role"], peers: number): Subject => {
        const out = (round: number): string => join(ctx.work, `mp-${id}-${round}`)
        const state = (round: number): string => join(ctx.work, `state-mp-${id}-${round}`)
        return {
          id,
          label,
          role,
          measured: "bt download",
          bytes: torrent.size,
          run: async (round) => {
            await swarm.stats() // zero the seeders' counters
            let bt: Proc | undefined
            let connectCpu: number | undefined
            swarm.onFirstConnection(() => (connectCpu = bt === undefined ? undefined : cpuSecondsNow(bt)))
            const done = await btDownload({
              torrent: torrent.path,
              out: out(round),
              stateDir: state(round),
              peerPort: swarm.ports.slice(0, peers),
              timeoutMs: ctx.timeoutMs,
              encryption: "disable",
              maxPeers: MANY,
              onSpawn: (proc) => (bt = proc)
            })
            const lines = jsonLines(done.exit.stdout)
            const progressPeers = Math.max(0, ...lines.map((e) => (e.event === "progress" ? Number(e.peers) || 0 : 0)))
            const wastedBytes = Number(lines.find((e) => e.event === "done")?.wasted) || 0
            const served = await swarm.stats()
            // Fewer than `peers` connections open at once: a cap kept bt from using them all together.
            if (served.peakOpen < peers) {
              throw new RunError(`bt had at most ${served.peakOpen} of the ${peers} seeders connected at once (a peer cap?)`)
            }
            seen.set(id, [...(seen.get(id) ?? []), {
              round,
              progressPeers,
              servedPeers: served.servedPeers,
              connections: served.connections,
              wastedBytes,
              ...(done.exit.cpuSeconds === undefined || connectCpu === undefined
                ? {}
                : { transferCpuSeconds: done.exit.cpuSeconds - connectCpu })
            }])
            ctx.progress.log(
              `    ${peers} seeders: bt's progress showed up to ${progressPeers} peers; ${served.servedPeers} seeders served it ` +
                `(${served.connections} connections, ${served.peakOpen} at once); ${(wastedBytes / 2 ** 20).toFixed(1)} MiB wasted; bt's CPU ${done.exit.cpuSeconds ?? "?"} s, ${connectCpu ?? "?"} s of it before its first connection`
            )
            return done
          },
          verify: async (round) => (round === 0 ? sameBytes(file, join(out(round), name), ctx.timeoutMs) : undefined),
          cleanup: async (round) => {
            await removeDir(out(round))
            await removeDir(state(round))
          }
        }
      }
      const results = await interleave(
        [subject("many", `bt ← ${MANY} peers`, "bt", MANY), subject("few", `bt ← ${FEW} peers`, "anchor", FEW)],
        ctx.rounds,
        ctx.progress
      )
      const many = byId(results, "many")
      const few = byId(results, "few")
      const perGiB = (s: SubjectResult | undefined, what: string): Comparison => ({
        what,
        unit: "s/GiB",
        ...(s?.median?.cpuSecondsPerGiB === undefined ? {} : { value: s.median.cpuSecondsPerGiB })
      })
      const transferPerGiB = (id: string): Array<number> =>
        (seen.get(id) ?? []).flatMap((r) => (r.transferCpuSeconds === undefined ? [] : [r.transferCpuSeconds / (torrent.size / 2 ** 30)]))
      const transferMany = median(transferPerGiB("many"))
      const transferFew = median(transferPerGiB("few"))
      const transferRatio: Comparison = {
        what: `bt CPU per GiB after start-up, ${MANY} peers / ${FEW} peers`,
        unit: "×",
        ...(transferMany === undefined || transferFew === undefined ? {} : { value: Math.round((transferMany / transferFew) * 1000) / 1000 }),
        perRound: Array.from({ length: ctx.rounds }, (_, round) => {
          const a = seen.get("many")?.find((r) => r.round === round)?.transferCpuSeconds
          const b = seen.get("few")?.find((r) => r.round === round)?.transferCpuSeconds
          return a === undefined || b === undefined ? null : Math.round((a / b) * 1000) / 1000
        })
      }
      const wasted = (id: string, peers: number): Comparison => {
        const value = median((seen.get(id) ?? []).map((r) => r.wastedBytes / 2 ** 20))
        return { what: `MiB bt received but did not need from ${peers} peers (median; payload ${torrent.size / 2 ** 20} MiB)`, unit: "MiB", ...(value === undefined ? {} : { value: Math.round(value * 10) / 10 }) }
      }
      const connected = (id: string, key: "progressPeers" | "servedPeers", what: string): Comparison => {
        const value = median((seen.get(id) ?? []).map((r) => r[key]))
        return { what, unit: "peers", ...(value === undefined ? {} : { value }) }
      }
      return {
        name: "many-peers",
        title: manyPeers.title,
        status: statusOf(results),
        metric: "mibps",
        subjects: results,
        comparisons: [
          cpuRatio(`bt CPU per GiB, ${MANY} peers / ${FEW} peers`, many, few, 1.5),
          perGiB(few, `bt CPU per GiB from ${FEW} peers, median`),
          perGiB(many, `bt CPU per GiB from ${MANY} peers, median`),
          transferRatio,
          {
            what: `bt CPU per GiB after start-up from ${FEW} peers, median`,
            unit: "s/GiB",
            ...(transferFew === undefined ? {} : { value: Math.round(transferFew * 100) / 100 })
          },
          {
            what: `bt CPU per GiB after start-up from ${MANY} peers, median`,
            unit: "s/GiB",
            ...(transferMany === undefined ? {} : { value: Math.round(transferMany * 100) / 100 })
          },
          ratio(`${MANY} peers / ${FEW} peers (MiB/s)`, many, few),
          wasted("few", FEW),
          wasted("many", MANY),
          connected("many", "progressPeers", `peers in bt's progress lines (${MANY}-peer runs, median of the max)`),
          connected("many", "servedPeers", `seeders that served bt a block (${MANY}-peer runs, median)`)
        ],
        notes: [
          WARM_CACHE,
          `the ${MANY} seeders are one Node process (bench/seeders.ts: node:net servers on 127.0.0.1, bt's wire codec, a full bitfield, unchoked, requests answered in order from the payload with at most 256 KiB in each socket's buffer, CANCEL honoured for the rest); the ${FEW}-peer runs use the first ${FEW} of them`,
          `bt runs with --max-peers ${MANY} --encryption disable (the seeders speak plaintext only; with the default, prefer, bt would first try MSE with each and fall back)`,
          "CPU = user + system time of the bt process, spawn to exit (start-up included), sampled every 100 ms from /proc (so up to 0.1 s missed at exit); per GiB of payload",
          "after start-up: less bt's CPU time when the seeders saw its first connection (Node and Effect loaded, the torrent read, the empty folder checked), read from /proc as their line arrives; that start-up is the same for both and dilutes the first ratio at small sizes",
          "the seeder process runs on the same 2 cores; its CPU is not counted"
        ]
      }
    } finally {
      await stopAllOf(procs)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// wan

/** The emulated link: 100 ms round trip, 20 MiB/s each way. */
const WAN = { delayMs: 50, jitterMs: 2, rate: 20 * 1024 * 1024 }
/** Loopback addresses: the seeder, the relay, and where the relay reaches the seeder from (see linkEmulator.ts). */
const WAN_SEEDER = "127.0.0.2"
const WAN_RELAY = "127.0.0.3"
const WAN_SOURCE = "127.0.0.4"

const wan: Benchmark = {
  name: "wan",
  title: "Download from one libtorrent seeder through the link emulator (100 ms RTT, 20 MiB/s): bt vs libtorrent",
  run: async (ctx) => {
    if (!hasLibtorrent()) return skipped("wan", "python3-libtorrent is not installed (scripts/install-interop-peers.sh)")
    const { file, seedDir, torrent } = await ctx.payload()
    const procs: Array<Proc | undefined> = []
    try {
      ctx.progress.log("  starting the libtorrent seeder (hash check) and the link relay…")
      const seeder = await startLtSeeder({ torrent: torrent.path, save: seedDir, listenHost: WAN_SEEDER, readyMs: ctx.timeoutMs })
      procs.push(seeder.proc)
      const relay = await startLinkRelay({ listen: WAN_RELAY, target: { host: WAN_SEEDER, port: seeder.port }, source: WAN_SOURCE, ...WAN })
      procs.push(relay.proc)
      const out = (id: string, round: number): string => join(ctx.work, `wan-${id}-${round}`)
      const subject = payloadSubject({
        ctx,
        file,
        seedDir,
        bytes: torrent.size,
        out,
        state: (id, round) => join(ctx.work, `state-wan-${id}-${round}`)
      })
      const results = await interleave([
        subject("bt", "bt download (through the relay)", "bt", "bt download", (round) =>
          btDownload({
            torrent: torrent.path,
            out: out("bt", round),
            stateDir: join(ctx.work, `state-wan-bt-${round}`),
            peerHost: WAN_RELAY,
            peerPort: relay.port,
            bind: "127.0.0.1",
            timeoutMs: ctx.timeoutMs
          })),
        subject("libtorrent", "libtorrent (lt.py leech, through the relay)", "anchor", "lt.py leech", (round) =>
          ltDownload({ torrent: torrent.path, out: out("libtorrent", round), peerHost: WAN_RELAY, peerPort: relay.port, timeoutMs: ctx.timeoutMs }))
      ], ctx.rounds, ctx.progress)
      return {
        name: "wan",
        title: wan.title,
        status: statusOf(results),
        metric: "mibps",
        subjects: results,
        comparisons: [ratio("bt / libtorrent (MiB/s)", byId(results, "bt"), byId(results, "libtorrent"), 1.0)],
        notes: [
          WARM_CACHE,
          "both leechers go through one relay process (test/support/linkEmulator.ts under vite-node): 50 ms each way (±2 ms, in order), 20 MiB/s each way, a 2 MiB bottleneck buffer; the seeder listens on 127.0.0.2, the relay on 127.0.0.3 and reaches the seeder from 127.0.0.4, the leechers listen on 127.0.0.1 only, so no connection goes around the relay",
          "MiB/s = payload size / wall time from spawn to exit (start-up included); the link's ceiling is 20 MiB/s",
          "the relay runs on the same 2 cores; its CPU is not counted"
        ]
      }
    } finally {
      await stopAllOf(procs)
    }
  }
}


// ---------------------------------------------------------------------------------------------------------------
// daemon

const LOADED = 1000
/** The fields a UI polls every second or two. */
const UI_FIELDS = [
  "id", "name", "status", "percentDone", "rateDownload", "rateUpload", "eta", "sizeWhenDone", "peersConnected",
  "uploadRatio", "error", "errorString", "queuePosition", "labels"
]
const LIMIT_BYTES = 2_000_000
const WINDOW_S = 5
const WINDOWS = 4

type Row = Record<string, unknown>
const torrentsOf = (args: Row): Array<Row> => (args.torrents as Array<Row> | undefined) ?? []
const msSince = (t0: number): number => Math.round(performance.now() - t0)
const atMost = (what: string, unit: string, value: number | undefined, target: number): Comparison => ({
  what,
  unit,
  ...(value === undefined ? {} : { value, met: value <= target }),
  target: { op: "<=", value: target }
})

/** Adds the torrent at `path` (base64 metainfo) into `dir`, waits until it is complete; returns its id. */
const daemonFetch = async (d: Daemon, path: string, dir: string, timeoutMs: number): Promise<number> => {
  const added = await d.rpc("torrent-add", { metainfo: (await readFile(path)).toString("base64"), "download-dir": dir })
  const id = Number(((added["torrent-added"] ?? added["torrent-duplicate"]) as Row).id)
  await pollUntil(
    async () => (Number(torrentsOf(await d.rpc("torrent-get", { ids: [id], fields: ["percentDone"] }))[0]?.percentDone) === 1 ? true : undefined),
    timeoutMs,
    "daemon download",
    d.proc
  )
  return id
}

const daemonBench: Benchmark = {
  name: "daemon",
  title: `bt daemon: ${LOADED} torrents loaded; a download vs bt download; a session download limit`,
  run: async (ctx) => {
    const notes: Array<string> = []
    const comparisons: Array<Comparison> = []
    const procs: Array<Proc | undefined> = []
    const root = join(ctx.work, "daemon")
    try {
      // 1. 1,000 seeding torrents: added over the RPC, then the daemon restarted so they load from its state folder.
      const files = join(root, "tiny")
      const state = join(root, "state")
      ctx.progress.log(`  making ${LOADED} tiny torrents (16 KiB, one piece each) and adding them over the RPC…`)
      const tiny = await tinyTorrents(files, LOADED)
      const first = await startDaemon({ stateDir: state, downloadDir: files })
      procs.push(first.proc)
      await pollUntil(() => first.rpc("session-get"), 30_000, "daemon start", first.proc)
      for (const t of tiny) await first.rpc("torrent-add", { metainfo: Buffer.from(t).toString("base64"), "download-dir": files })
      await pollUntil(
        async () => {
          const ts = torrentsOf(await first.rpc("torrent-get", { fields: ["percentDone"] }))
          return ts.length === LOADED && ts.every((t) => t.percentDone === 1) ? true : undefined
        },
        ctx.timeoutMs,
        `${LOADED} torrents checked and seeding`,
        first.proc,
        500
      )
      await stop(first.proc)
      ctx.progress.log("  restarting the daemon on that state folder…")
      const t0 = performance.now()
      const d = await startDaemon({ stateDir: state, downloadDir: files })
      procs.push(d.proc)
      await pollUntil(
        async () => (torrentsOf(await d.rpc("torrent-get", { fields: ["id"] })).length === LOADED ? true : undefined),
        ctx.timeoutMs,
        `${LOADED} torrents listed`,
        d.proc,
        20
      )
      const startMs = msSince(t0)
      const seeding = await pollUntil(
        async () => {
          const ts = torrentsOf(await d.rpc("torrent-get", { fields: ["status"] }))
          return ts.every((t) => t.status === 6) ? ts.length : undefined
        },
        60_000,
        "all seeding after the restart",
        d.proc,
        200
      ).catch(() => 0)
      ctx.progress.log(`  listed ${LOADED} in ${startMs} ms; all seeding ${seeding === LOADED ? "yes" : "no"}; settling 5 s, then idle CPU over 20 s…`)
      await sleepMs(5_000)
      const rss = rssNow(d.proc)
      const cpu0 = cpuSecondsNow(d.proc)
      const c0 = performance.now()
      await sleepMs(20_000)
      const cpu1 = cpuSecondsNow(d.proc)
      const idlePct =
        cpu0 === undefined || cpu1 === undefined ? undefined : Math.round(((cpu1 - cpu0) / ((performance.now() - c0) / 1000)) * 1000) / 10
      const latencies: Array<number> = []
      for (let i = 0; i < 10; i++) {
        const q0 = performance.now()
        const got = torrentsOf(await d.rpc("torrent-get", { fields: UI_FIELDS }))
        latencies.push(performance.now() - q0)
        if (got.length !== LOADED) throw new RunError(`torrent-get listed ${got.length}, not ${LOADED}`)
        await sleepMs(200)
      }
      const getMs = Math.round(median(latencies)! * 10) / 10
      ctx.progress.log(
        `  RSS ${rss === undefined ? "?" : Math.round(rss / 1e6)} MB, idle CPU ${idlePct ?? "?"} %, torrent-get median ${getMs} ms [${latencies.map((x) => x.toFixed(0)).join(" ")}]`
      )
      comparisons.push(
        atMost(`start until the RPC lists all ${LOADED} torrents`, "ms", startMs, 3000),
        atMost(`RSS with ${LOADED} torrents loaded`, "MB", rss === undefined ? undefined : Math.round(rss / 1e6), 300),
        atMost("idle CPU over 20 s, % of a core", "%", idlePct, 1),
        atMost(`torrent-get of all ${LOADED}, ${UI_FIELDS.length} UI fields, median of 10`, "ms", getMs, 50)
      )
      notes.push(
        `${LOADED} single-file torrents of 16 KiB (one piece), no tracker, data present, added over the RPC then loaded from the state folder by a restart; ` +
          `start = spawn of bt daemon until a torrent-get lists all ${LOADED}; ${seeding === LOADED ? "all were seeding" : "NOT all were seeding"} after the restart; ` +
          "RSS (VmRSS) read 5 s after the load; idle CPU = utime+stime from /proc/PID/stat over the next 20 s"
      )
      await stop(d.proc)

      // 2. and 3.: a download through a fresh daemon vs bt download, from the same libtorrent seeder.
      if (!hasLibtorrent()) {
        notes.push("python3-libtorrent is not installed: the download and rate-limit parts skipped")
        return { name: "daemon", title: daemonBench.title, status: "partial", subjects: [], comparisons, notes }
      }
      if (!onPath("opentracker")) {
        notes.push("opentracker not installed (the daemon finds the seeder through a tracker): the download and rate-limit parts skipped")
        return { name: "daemon", title: daemonBench.title, status: "partial", subjects: [], comparisons, notes }
      }
      const { file, seedDir, torrent } = await ctx.payload()
      const tracker = await startOpentracker(join(root, "tracker"), torrent.infoHash)
      procs.push(tracker.proc)
      const trackerTorrent = join(root, "payload-tracker.torrent")
      await withAnnounce(torrent.path, tracker.url, trackerTorrent)
      ctx.progress.log("  starting the libtorrent seeder (hash check)…")
      const seeder = await startLtSeeder({ torrent: trackerTorrent, save: seedDir, trackerAnnounce: true, readyMs: ctx.timeoutMs })
      procs.push(seeder.proc)
      const dl = await startDaemon({ stateDir: join(root, "dl-state"), downloadDir: join(root, "dl-default") })
      procs.push(dl.proc)
      await pollUntil(() => dl.rpc("session-get"), 30_000, "daemon start", dl.proc)

      const out = (id: string, round: number): string => join(root, `dl-${id}-${round}`)
      const transfer = payloadSubject({ ctx, file, seedDir, bytes: torrent.size, out, state: (id, round) => join(root, `state-${id}-${round}`) })
      let lastId: number | undefined
      const subjects: Array<Subject> = [
        transfer("bt", "bt download", "bt", "bt download", (round) =>
          btDownload({ torrent: torrent.path, out: out("bt", round), stateDir: join(root, `state-bt-${round}`), peerPort: seeder.port, timeoutMs: ctx.timeoutMs })),
        {
          ...transfer("daemon", "bt daemon (torrent-add)", "bt", "bt daemon", async (round) => {
            const cpu0 = cpuSecondsNow(dl.proc)
            const t = performance.now()
            lastId = await daemonFetch(dl, trackerTorrent, out("daemon", round), ctx.timeoutMs)
            const seconds = (performance.now() - t) / 1000
            const cpu1 = cpuSecondsNow(dl.proc)
            const cpuSeconds = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0
            return { exit: { code: 0, signal: null, stdout: "", stderr: "", seconds, peakRss: undefined, cpuSeconds } }
          }),
          cleanup: async (round) => {
            if (lastId !== undefined) await dl.rpc("torrent-remove", { ids: [lastId], "delete-local-data": true })
            lastId = undefined
            await removeDir(out("daemon", round))
          }
        }
      ]
      const results = await interleave(subjects, ctx.rounds, ctx.progress)
      const daemonRes = byId(results, "daemon")
      const btRes = byId(results, "bt")
      // bt download's own figure (its "done" line: first connection to done), to set its process start-up aside.
      const ownMibps = (r: { readonly selfSeconds?: number } | undefined): number | undefined =>
        r?.selfSeconds === undefined || r.selfSeconds <= 0 ? undefined : torrent.size / (1 << 20) / r.selfSeconds
      const ownRatio = (d: number | undefined, b: number | undefined): number | undefined =>
        d === undefined || b === undefined ? undefined : Math.round((d / b) * 1000) / 1000
      const own = ownRatio(daemonRes?.median?.mibps, ownMibps(btRes?.median))
      comparisons.push(
        ratio("daemon / bt download, wall time (MiB/s)", daemonRes, btRes, 0.95),
        {
          what: "daemon / bt download's own time (MiB/s)",
          unit: "×",
          ...(own === undefined ? {} : { value: own, met: own >= 0.95 }),
          target: { op: ">=", value: 0.95 },
          perRound: [...Array(ctx.rounds).keys()].map((i) =>
            ownRatio(daemonRes?.runs.find((r) => r.round === i)?.mibps, ownMibps(btRes?.runs.find((r) => r.round === i))) ?? null
          )
        }
      )
      notes.push(
        "daemon: one long-running bt daemon; time from torrent-add (base64 metainfo) until torrent-get reports percentDone 1 (polled every 50 ms), " +
          "so without process start-up but with an announce to opentracker (the daemon has no --peer); bt download: spawn to exit, the seeder given with --peer; " +
          "the second ratio uses bt download's own time instead (its done line), which leaves its process start-up out",
        "both from the same libtorrent seeder, interleaved; the daemon's copy is removed with delete-local-data after each run"
      )

      // 3. A session download limit, held over 5-second windows.
      await dl.rpc("session-set", { "speed-limit-down": LIMIT_BYTES / 1000, "speed-limit-down-enabled": true })
      const limOut = join(root, "dl-limit")
      const added = await dl.rpc("torrent-add", { metainfo: (await readFile(trackerTorrent)).toString("base64"), "download-dir": limOut })
      const limId = Number(((added["torrent-added"] ?? added["torrent-duplicate"]) as Row).id)
      const have = async (): Promise<number> =>
        Number(torrentsOf(await dl.rpc("torrent-get", { ids: [limId], fields: ["downloadedEver"] }))[0]?.downloadedEver ?? 0)
      await pollUntil(async () => ((await have()) > 0 ? true : undefined), 60_000, "limited download starts", dl.proc)
      await sleepMs(2_000) // past the first burst the bucket allows
      const rates: Array<number> = []
      let before = await have()
      let w0 = performance.now()
      for (let i = 0; i < WINDOWS; i++) {
        await sleepMs(WINDOW_S * 1000)
        const now = await have()
        const t = performance.now()
        rates.push((now - before) / ((t - w0) / 1000))
        before = now
        w0 = t
      }
      await dl.rpc("torrent-remove", { ids: [limId], "delete-local-data": true })
      const worst = Math.max(...rates.map((r) => Math.abs(r / LIMIT_BYTES - 1)))
      ctx.progress.log(`  limit ${LIMIT_BYTES / 1e6} MB/s: windows ${rates.map((r) => (r / 1e6).toFixed(2)).join(" ")} MB/s`)
      comparisons.push(atMost(`session limit ${LIMIT_BYTES / 1e6} MB/s: worst ${WINDOW_S} s window off by`, "%", Math.round(worst * 1000) / 10, 10))
      notes.push(
        `rate limit: session-set speed-limit-down ${LIMIT_BYTES / 1000} kB/s; downloadedEver read every ${WINDOW_S} s for ${WINDOWS} windows from 2 s after the first byte: ` +
          rates.map((r) => `${(r / 1e6).toFixed(2)}`).join(", ") + " MB/s"
      )
      return { name: "daemon", title: daemonBench.title, status: statusOf(results), metric: "mibps", subjects: results, comparisons, notes }
    } finally {
      await stopAllOf(procs)
      await removeDir(root)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// stream

const STREAM_RATE = 4 * 1024 * 1024
const MIB_BYTES = 1024 * 1024

/** One `bt stream` run: ms from its URL line to the first byte of a read from 0, then to 1 MiB read at 90 %. */
/** `bt stream` of `torrent` from the seeder at `port` into `ctx.work/<name>`, on a free HTTP port, and its URL. */
const startStream = async (ctx: Context, torrent: string, port: number, name: string) => {
  const proc = spawnTracked(process.execPath, [
    btBin, "stream", torrent, "-o", join(ctx.work, name), "--peer", `127.0.0.1:${port}`, "--no-trackers", "--no-dht",
    "--no-port-mapping", "--no-lsd", "--port", "0", "--http-port", "0", "--transport", "tcp", "--json",
    "--state-dir", join(ctx.work, `state-${name}`)
  ])
  const line = await waitForLine(proc, (l) => l.includes(`"event":"stream"`), ctx.timeoutMs, "bt stream")
  return { proc, url: String((JSON.parse(line) as Row).url) }
}

const streamRound = async (ctx: Context, torrent: string, file: string, size: number, port: number, round: number) => {
  const name = `stream-${round}`
  const started = await startStream(ctx, torrent, port, name).catch(async (error) => {
    await removeDir(join(ctx.work, name))
    throw error
  })
  const { proc, url } = started
  try {
    const t0 = performance.now()
    const head = await fetch(url, { signal: AbortSignal.timeout(ctx.timeoutMs) })
    const reader = head.body!.getReader()
    const first = await reader.read()
    const firstByteMs = msSince(t0)
    if (first.done === true || first.value.length === 0) throw new RunError("bt stream: no first byte")
    await reader.cancel()
    const from = Math.floor(size * 0.9)
    const t1 = performance.now()
    const far = await fetch(url, { headers: { range: `bytes=${from}-${from + MIB_BYTES - 1}` }, signal: AbortSignal.timeout(ctx.timeoutMs) })
    // The reader from 0 has gone and this one starts at 90 %: a seek. Its first byte waits for whatever the
    // seeder still had queued for the old window (none of it, once those requests are cancelled).
    const chunks: Array<Uint8Array> = []
    let seekFirstByteMs: number | undefined
    for (const farReader = far.body!.getReader();;) {
      const { done, value } = await farReader.read()
      if (done) break
      seekFirstByteMs ??= msSince(t1)
      chunks.push(value)
    }
    const bytes = Buffer.concat(chunks)
    const farMs = msSince(t1)
    const expected = Buffer.alloc(MIB_BYTES)
    const handle = await open(file, "r")
    await handle.read(expected, 0, MIB_BYTES, from).finally(() => handle.close())
    if (far.status !== 206 || !bytes.equals(expected)) throw new RunError(`bt stream: the range at 90 % came back wrong (${far.status})`)
    return { firstByteMs, seekFirstByteMs: seekFirstByteMs ?? farMs, farMs }
  } finally {
    await stop(proc)
    await removeDir(join(ctx.work, name))
    await removeDir(join(ctx.work, `state-${name}`))
  }
}

/** Reads `url` to its end, discarding the bytes; resolves with how many there were. */
const drain = async (url: string, timeoutMs: number): Promise<number> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  const reader = response.body!.getReader()
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return total
    total += value.length
  }
}

/** `bt stream` with two readers of the whole file at once, to the end; then stopped. Its peak RSS is the figure. */
const streamTwoReaders = async (ctx: Context, torrent: string, size: number, port: number, round: number): Promise<Downloaded> => {
  const { proc, url } = await startStream(ctx, torrent, port, `mem-two-readers-${round}`)
  try {
    const read = await Promise.all([drain(url, ctx.timeoutMs), drain(url, ctx.timeoutMs)])
    if (read.some((n) => n !== size)) throw new RunError(`bt stream: the readers got ${read.join(" and ")} bytes of ${size}`)
  } finally {
    await stop(proc)
  }
  return { exit: await proc.exited }
}

const streamBench: Benchmark = {
  name: "stream",
  title: "bt stream from one libtorrent seeder limited to 4 MiB/s: the first byte, and 1 MiB read at 90 % of the file",
  run: async (ctx) => {
    if (!hasLibtorrent()) return skipped("stream", "python3-libtorrent is not installed (scripts/install-interop-peers.sh)")
    const { file, seedDir, torrent } = await ctx.payload()
    const procs: Array<Proc | undefined> = []
    try {
      ctx.progress.log("  starting the libtorrent seeder (hash check), limited to 4 MiB/s…")
      const seeder = await startLtSeeder({ torrent: torrent.path, save: seedDir, uploadLimit: STREAM_RATE, readyMs: ctx.timeoutMs })
      procs.push(seeder.proc)
      const first: Array<RunRecord> = []
      const far: Array<RunRecord> = []
      const seek: Array<RunRecord> = []
      for (let round = 0; round < ctx.rounds; round++) {
        try {
          const r = await streamRound(ctx, torrent.path, file, torrent.size, seeder.port, round)
          ctx.progress.log(
            `  round ${round + 1}: first byte ${r.firstByteMs} ms, after the seek to 90 % ${r.seekFirstByteMs} ms, 1 MiB there ${r.farMs} ms`
          )
          first.push({ round, position: 0, ok: true, seconds: r.firstByteMs / 1000 })
          far.push({ round, position: 1, ok: true, seconds: r.farMs / 1000 })
          seek.push({ round, position: 2, ok: true, seconds: r.seekFirstByteMs / 1000 })
        } catch (error) {
          const text = error instanceof Error ? error.message : String(error)
          for (const [runs, position] of [[first, 0], [far, 1], [seek, 2]] as const) runs.push({ round, position, ok: false, error: text })
        }
      }
      const summary = (id: string, label: string, runs: Array<RunRecord>): SubjectResult => {
        const seconds = median(runs.flatMap((r) => (r.ok && r.seconds !== undefined ? [r.seconds] : [])))
        return {
          id,
          label,
          role: "bt",
          measured: "bt stream",
          status: runs.every((r) => r.ok) ? "ok" : "failed",
          runs,
          ...(seconds === undefined ? {} : { median: { seconds } })
        }
      }
      const subjects = [
        summary("first-byte", "bt stream: first byte of a read from 0 (from the URL line)", first),
        summary("far-range", "bt stream: 1 MiB at 90 % of the file", far),
        summary("seek-first-byte", "bt stream: first byte at 90 % after the reader from 0 left (a seek)", seek)
      ]
      // Memory: two readers of the whole file against a plain download, from a second seeder with no limit.
      ctx.progress.log("  starting an unlimited libtorrent seeder for the memory comparison…")
      const fast = await startLtSeeder({ torrent: torrent.path, save: seedDir, readyMs: ctx.timeoutMs })
      procs.push(fast.proc)
      const out = (id: string, round: number): string => join(ctx.work, `mem-${id}-${round}`)
      const cleanup = (id: string) => async (round: number) => {
        await removeDir(out(id, round))
        await removeDir(join(ctx.work, `state-mem-${id}-${round}`))
      }
      const memory = await interleave([
        {
          id: "two-readers",
          label: "bt stream, two readers of the whole file",
          role: "bt",
          measured: "bt stream",
          bytes: torrent.size,
          run: (round) => streamTwoReaders(ctx, torrent.path, torrent.size, fast.port, round),
          cleanup: cleanup("two-readers")
        },
        {
          id: "download",
          label: "bt download (no readers)",
          role: "anchor",
          measured: "bt download",
          bytes: torrent.size,
          run: (round) =>
            btDownload({
              torrent: torrent.path,
              out: out("download", round),
              stateDir: join(ctx.work, `state-mem-download-${round}`),
              peerPort: fast.port,
              timeoutMs: ctx.timeoutMs
            }),
          cleanup: cleanup("download")
        }
      ], ctx.rounds, ctx.progress)
      const rssOf = (id: string) => byId(memory, id)?.median?.peakRssMB
      const streamRss = rssOf("two-readers")
      const plainRss = rssOf("download")
      const ms = (s: SubjectResult) => (s.median === undefined ? undefined : Math.round(s.median.seconds * 1000))
      return {
        name: "stream",
        title: streamBench.title,
        status: statusOf([...subjects, ...memory]),
        metric: "ms",
        subjects: [...subjects, ...memory],
        comparisons: [
          atMost("first byte", "ms", ms(subjects[0]!), 1500),
          atMost("1 MiB at 90 %", "ms", ms(subjects[1]!), 3000),
          atMost(
            "peak RSS: two readers − plain download",
            "MB",
            streamRss === undefined || plainRss === undefined ? undefined : Math.round(streamRss - plainRss),
            32
          )
        ],
        notes: [
          "a fresh bt stream per round (empty download folder), the seeder kept; timed from the line printing the URL, which bt prints once the torrent is added (the seeder is dialled then: on loopback it connects in milliseconds)",
          "the read from 0 is cancelled after its first chunk; the range read follows at once on a second connection, so the first reader's window is still there",
          "the seeder's 4 MiB/s is libtorrent's upload rate limit on that torrent; a sequential download would reach 90 % of the file after size * 0.9 / 4 MiB/s",
          "memory: a second libtorrent seeder of the same data with no limit; bt stream with two readers of the whole file at once (to the end, then stopped) against bt download, interleaved; peak RSS (VmHWM) of the bt process; times there are spawn to exit and not comparable (bt stream is stopped only once the readers are done)"
        ]
      }
    } finally {
      await stopAllOf(procs)
    }
  }
}

export const benchmarks: ReadonlyArray<Benchmark> = [
  download,
  upload,
  btToBt,
  defaults,
  startup,
  recheck,
  encrypted,
  utp,
  manyPeers,
  wan,
  daemonBench,
  streamBench
]

/** Benchmarks that need the shared payload. */
export const needsPayload = new Set(["download", "upload", "bt-to-bt", "defaults", "recheck", "encrypted", "utp", "many-peers", "wan", "daemon", "stream"])
