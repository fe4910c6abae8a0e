/**
 * `npm run bench [-- NAME… --size 256M --rounds 3 --timeout 300 --out FILE]`: builds bt, starts a loopback swarm of
 * real clients, runs each benchmark interleaved with its anchors, prints a table and writes JSON
 * (bench/results/latest.json). Every process it starts is stopped and its temp dir deleted, on success, failure or
 * Ctrl-C.
 */
import { spawnSync } from "node:child_process"
import { mkdir, mkdtemp, writeFile } from "node:fs/promises"
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { type Benchmark, benchmarks, type Context, needsPayload } from "./benchmarks.js"
import type { BenchResult } from "./measure.js"
import { killAllNow, stopAll } from "./proc.js"
import { btCreate, removeDir, repoRoot, snapshotBt, type Torrent, writePayload } from "./swarm.js"
import { renderTable } from "./table.js"

const usage = `usage: npm run bench [-- [NAME...] [--size SIZE] [--rounds N] [--timeout SECONDS] [--out FILE]]

NAME        ${benchmarks.map((b) => b.name).join(", ")} (default: all)
--size      payload size for download, upload, bt-to-bt, recheck, encrypted, many-peers, wan and daemon, e.g. 1G, 512M, 256MiB (default 1G; env BENCH_SIZE)
--rounds    interleaved rounds, at least 3 (default 3; env BENCH_ROUNDS); startup runs at least 5
--timeout   seconds one run (or one seeder's start) may take before it counts as failed (default 300)
--out       where the JSON goes (default bench/results/latest.json)`

const parseSize = (text: string): number => {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim())
  if (m === null) throw new Error(`--size ${text}: expected e.g. 1G, 512M, 256MiB or a byte count`)
  const scale = { "": 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"]
  return Math.round(Number(m[1]) * scale)
}

interface Options {
  readonly names: ReadonlyArray<string>
  readonly size: number
  readonly rounds: number
  readonly timeoutMs: number
  readonly out: string
}

const parseArgs = (argv: ReadonlyArray<string>): Options => {
  const names: Array<string> = []
  let size = parseSize(process.env.BENCH_SIZE ?? "1G")
  let rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  let timeout = 300
  let out = join(repoRoot, "bench", "results", "latest.json")
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${arg} needs a value`)
      return v
    }
    if (arg === "--help" || arg === "-h") {
      console.log(usage)
      process.exit(0)
    } else if (arg === "--size") size = parseSize(value())
    else if (arg.startsWith("--size=")) size = parseSize(arg.slice(7))
    else if (arg === "--rounds") rounds = Number(value())
    else if (arg === "--timeout") timeout = Number(value())
    else if (arg === "--out") out = value()
    else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}\n${usage}`)
    else if (!benchmarks.some((b) => b.name === arg)) throw new Error(`unknown benchmark ${arg}\n${usage}`)
    else names.push(arg)
  }
  if (!Number.isInteger(rounds) || rounds < 3) throw new Error("--rounds: at least 3 (medians of fewer say little)")
  if (!(timeout > 0)) throw new Error("--timeout: a positive number of seconds")
  if (size < 1 << 20) throw new Error("--size: at least 1M")
  return { names, size, rounds, timeoutMs: timeout * 1000, out }
}

/** What a short command prints (stdout, or stderr when stdout is empty: transmission-show --version). */
const sh = (cmd: string, args: ReadonlyArray<string>): string | undefined => {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "pipe"] })
  if (r.error !== undefined || r.status !== 0) return undefined
  return (r.stdout.trim() || r.stderr.trim()) || undefined
}

const machine = () => ({
  nproc: availableParallelism(),
  cpu: cpus()[0]?.model,
  memTotalGiB: Math.round((totalmem() / (1 << 30)) * 10) / 10,
  free: sh("free", ["-h"]),
  node: process.version,
  kernel: release(),
  loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  tools: {
    libtorrent: sh("/usr/bin/python3", ["-c", "import libtorrent; print(libtorrent.__version__)"]),
    aria2c: sh("aria2c", ["--version"])?.split("\n")[0],
    transmissionShow: sh("transmission-show", ["--version"])?.split("\n")[0]
  },
  git: {
    commit: sh("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"]),
    dirtyFiles: sh("git", ["-C", repoRoot, "status", "--porcelain"])?.split("\n").filter((l) => l !== "").length
  }
})

const main = async (): Promise<number> => {
  const options = parseArgs(process.argv.slice(2))
  const selected: ReadonlyArray<Benchmark> =
    options.names.length === 0 ? benchmarks : benchmarks.filter((b) => options.names.includes(b.name))
  await snapshotBt()
  const work = await mkdtemp(join(tmpdir(), "bt-bench-"))
  let interrupted = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return
    interrupted = true
    console.error(`\n${signal}: stopping the benchmark's processes and deleting ${work}`)
    void stopAll().then(() => removeDir(work)).finally(() => process.exit(130))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  process.on("exit", killAllNow)

  const log = (line: string): void => console.error(line)
  const started = new Date()
  const t0 = performance.now()
  const host = machine()
  let payload: Promise<{ file: string; seedDir: string; torrent: Torrent }> | undefined
  const ctx: Context = {
    work,
    rounds: options.rounds,
    timeoutMs: options.timeoutMs,
    progress: { log },
    payload: () =>
      (payload ??= (async () => {
        const seedDir = join(work, "seed")
        const file = join(seedDir, "payload.bin")
        await mkdir(seedDir, { recursive: true })
        log(`making a ${(options.size / (1 << 20)).toFixed(0)} MiB random payload and its torrent (1 MiB pieces) in ${work}`)
        await writePayload(file, options.size)
        const torrent = await btCreate(file, join(work, "payload.torrent"), 1 << 20, options.timeoutMs)
        return { file, seedDir, torrent }
      })())
  }

  const results: Array<BenchResult> = []
  try {
    for (const bench of selected) {
      log(`\n== ${bench.name}: ${bench.title}`)
      const b0 = performance.now()
      let result: BenchResult
      try {
        result = await bench.run(ctx)
      } catch (error) {
        result = {
          name: bench.name,
          title: bench.title,
          status: "failed",
          subjects: [],
          comparisons: [],
          notes: [],
          error: error instanceof Error ? error.message : String(error)
        }
        log(`  FAILED: ${result.error}`)
      }
      results.push({ ...result, seconds: Math.round((performance.now() - b0) / 100) / 10 })
      await stopAll() // anything a failed benchmark left behind
    }
  } finally {
    await stopAll()
    await removeDir(work)
  }

  const report = {
    schema: 1,
    startedAt: started.toISOString(),
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    settings: {
      benchmarks: selected.map((b) => b.name),
      payloadBytes: selected.some((b) => needsPayload.has(b.name)) ? options.size : undefined,
      pieceLength: 1 << 20,
      rounds: options.rounds,
      timeoutSeconds: options.timeoutMs / 1000,
      order: "interleaved; the order rotates each round (A B, B A, A B, …)",
      cache: "page cache warm for all clients; nothing dropped between runs (no root needed)",
      build: "bt runs from a copy of dist/ taken at the start (dist-bench/bt/), which npm run bench builds from the working tree just before"
    },
    machine: { ...host, loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    benchmarks: results
  }
  await mkdir(dirname(options.out), { recursive: true })
  await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`)
  console.log(renderTable(results))
  console.log(`\nNode ${process.version} (bt ran on the same), commit ${host.git.commit ?? "?"}${host.git.dirtyFiles ? ` with ${host.git.dirtyFiles} changed files` : ""}, load average ${host.loadAverageAtStart.join(" ")} at the start`)
  console.log(`\nJSON: ${options.out}  (chart: node bench/chart.mjs)`)
  return results.some((r) => r.status === "failed" || r.status === "partial") ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(2)
  }
)
