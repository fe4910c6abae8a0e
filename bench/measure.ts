/**
 * Interleaved measurement: every subject of a benchmark (bt and its anchors) runs once per round, in an order that
 * rotates each round (A B, B A, A B, …), and each figure is the median over the rounds. A subject that fails or
 * times out is recorded as failed and not run again, so a broken client cannot hold the benchmark up.
 */
import type { Downloaded } from "./swarm.js"

export type Role = "bt" | "anchor"

export interface RunRecord {
  readonly round: number
  /** Position within its round, from 0. */
  readonly position: number
  readonly ok: boolean
  /** Wall time, spawn to exit. */
  readonly seconds?: number
  /** The client's own figure for the transfer, when it prints one. */
  readonly selfSeconds?: number
  /** Payload bytes over wall seconds, in MiB/s (transfer benchmarks). */
  readonly mibps?: number
  /** Peak resident set of the measured process (VmHWM), in MB (10^6 bytes). */
  readonly peakRssMB?: number
  readonly cpuSeconds?: number
  /** CPU seconds per GiB of payload (transfer benchmarks). */
  readonly cpuSecondsPerGiB?: number
  /** Whether the downloaded bytes were compared with the payload after this run (`cmp`), and matched. */
  readonly verified?: boolean
  readonly error?: string
}

export interface SubjectResult {
  readonly id: string
  readonly label: string
  readonly role: Role
  /** The process whose time, RSS and CPU are recorded (the leecher, in the upload benchmark). */
  readonly measured: string
  readonly status: "ok" | "failed"
  readonly runs: ReadonlyArray<RunRecord>
  readonly median?: {
    readonly seconds: number
    readonly selfSeconds?: number
    readonly mibps?: number
    readonly peakRssMB?: number
    readonly cpuSeconds?: number
    readonly cpuSecondsPerGiB?: number
  }
  readonly maxPeakRssMB?: number
  readonly note?: string
}

export interface Comparison {
  readonly what: string
  readonly value?: number
  readonly unit: string
  /** "at least" / "at most" the target; absent when only reported. */
  readonly target?: { readonly op: ">=" | "<="; readonly value: number }
  readonly met?: boolean
  /** Per-round values of the same comparison, where it is a ratio of two subjects in one round. */
  readonly perRound?: ReadonlyArray<number | null>
}

export interface BenchResult {
  readonly name: string
  readonly title: string
  readonly status: "ok" | "partial" | "failed" | "skipped" | "not measured"
  /** The figure the subjects are compared on. */
  readonly metric?: "mibps" | "ms"
  readonly subjects: ReadonlyArray<SubjectResult>
  readonly comparisons: ReadonlyArray<Comparison>
  readonly notes: ReadonlyArray<string>
  readonly error?: string
  /** Wall time of the whole benchmark, set-up included. */
  readonly seconds?: number
  /**
   * Set on an entry copied into a report from a run of its own, whose date, payload and rounds are not the report's
   * (see docs/BENCHMARKS.md); `npm run bench` itself never sets it.
   */
  readonly separateRun?: { readonly startedAt: string; readonly payloadBytes: number; readonly rounds: number; readonly file: string }
}

export interface Subject {
  readonly id: string
  readonly label: string
  readonly role: Role
  /** The process whose time, RSS and CPU are recorded. */
  readonly measured: string
  /** Bytes moved per run, for MiB/s; absent for timing-only subjects. */
  readonly bytes?: number
  readonly run: (round: number) => Promise<Downloaded>
  /** After a successful run: check the result (return whether it matched), or undefined when not checked. */
  readonly verify?: (round: number) => Promise<boolean | undefined>
  /** After every run, successful or not: delete what it wrote. */
  readonly cleanup?: (round: number) => Promise<void>
  readonly note?: string
}

export const median = (xs: ReadonlyArray<number>): number | undefined => {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000
const MIB = 1 << 20
const GIB = 1 << 30

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export interface Progress {
  readonly log: (line: string) => void
}

/** Runs the subjects interleaved for `rounds` rounds and summarises each. */
export const interleave = async (
  subjects: ReadonlyArray<Subject>,
  rounds: number,
  progress: Progress
): Promise<ReadonlyArray<SubjectResult>> => {
  const runs = new Map<string, Array<RunRecord>>(subjects.map((s) => [s.id, []]))
  const failed = new Set<string>()
  for (let round = 0; round < rounds; round++) {
    const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]!)
    for (const [position, subject] of order.entries()) {
      if (failed.has(subject.id)) continue
      let record: RunRecord
      try {
        const { exit, selfSeconds } = await subject.run(round)
        const verified = subject.verify === undefined ? undefined : await subject.verify(round)
        record = {
          round,
          position,
          ok: verified !== false,
          seconds: round3(exit.seconds),
          ...(selfSeconds === undefined || Number.isNaN(selfSeconds) ? {} : { selfSeconds: round3(selfSeconds) }),
          ...(subject.bytes === undefined ? {} : { mibps: round3(subject.bytes / MIB / exit.seconds) }),
          ...(exit.peakRss === undefined ? {} : { peakRssMB: round3(exit.peakRss / 1e6) }),
          ...(exit.cpuSeconds === undefined ? {} : { cpuSeconds: round3(exit.cpuSeconds) }),
          ...(exit.cpuSeconds === undefined || subject.bytes === undefined
            ? {}
            : { cpuSecondsPerGiB: round3(exit.cpuSeconds / (subject.bytes / GIB)) }),
          ...(verified === undefined ? {} : { verified }),
          ...(verified === false ? { error: "downloaded bytes differ from the payload" } : {})
        }
      } catch (error) {
        record = { round, position, ok: false, error: errorText(error) }
      }
      try {
        await subject.cleanup?.(round)
      } catch (error) {
        progress.log(`  cleanup after ${subject.label} failed: ${errorText(error)}`)
      }
      if (!record.ok) failed.add(subject.id)
      runs.get(subject.id)!.push(record)
      progress.log(
        record.ok
          ? `  round ${round + 1}: ${subject.label}: ${record.seconds} s` +
              (record.mibps === undefined ? "" : `, ${record.mibps.toFixed(1)} MiB/s`) +
              (record.peakRssMB === undefined ? "" : `, peak RSS ${record.peakRssMB.toFixed(0)} MB`)
          : `  round ${round + 1}: ${subject.label}: FAILED: ${record.error}`
      )
    }
  }
  return subjects.map((subject) => summarise(subject, runs.get(subject.id)!))
}

const summarise = (subject: Subject, runs: ReadonlyArray<RunRecord>): SubjectResult => {
  const ok = runs.filter((r) => r.ok)
  const pick = (f: (r: RunRecord) => number | undefined): number | undefined =>
    median(ok.map(f).filter((x): x is number => x !== undefined))
  const seconds = pick((r) => r.seconds)
  const rss = ok.map((r) => r.peakRssMB).filter((x): x is number => x !== undefined)
  const optional = (key: string, value: number | undefined): Record<string, number> =>
    value === undefined ? {} : { [key]: round3(value) }
  return {
    id: subject.id,
    label: subject.label,
    role: subject.role,
    measured: subject.measured,
    status: runs.length > 0 && runs.every((r) => r.ok) ? "ok" : "failed",
    runs,
    ...(seconds === undefined
      ? {}
      : {
          median: {
            seconds: round3(seconds),
            ...optional("selfSeconds", pick((r) => r.selfSeconds)),
            ...optional("mibps", pick((r) => r.mibps)),
            ...optional("peakRssMB", pick((r) => r.peakRssMB)),
            ...optional("cpuSeconds", pick((r) => r.cpuSeconds)),
            ...optional("cpuSecondsPerGiB", pick((r) => r.cpuSecondsPerGiB))
          }
        }),
    ...(rss.length === 0 ? {} : { maxPeakRssMB: round3(Math.max(...rss)) }),
    ...(subject.note === undefined ? {} : { note: subject.note })
  }
}

type Figures = Pick<RunRecord, "mibps" | "cpuSecondsPerGiB">

/** `a` over `b` on one figure: the ratio of the medians, with the per-round ratios alongside. */
const ratioOn = (
  what: string,
  figure: (f: Figures) => number | undefined,
  a: SubjectResult | undefined,
  b: SubjectResult | undefined,
  target?: { readonly op: ">=" | "<="; readonly value: number }
): Comparison => {
  const rounds = Math.max(a?.runs.length ?? 0, b?.runs.length ?? 0)
  const perRound: Array<number | null> = []
  for (let i = 0; i < rounds; i++) {
    const x = a?.runs.find((r) => r.round === i)
    const y = b?.runs.find((r) => r.round === i)
    const fx = x?.ok ? figure(x) : undefined
    const fy = y?.ok ? figure(y) : undefined
    perRound.push(fx !== undefined && fy !== undefined && fy > 0 ? round3(fx / fy) : null)
  }
  const x = a?.median === undefined ? undefined : figure(a.median)
  const y = b?.median === undefined ? undefined : figure(b.median)
  const value = x !== undefined && y !== undefined && y > 0 ? round3(x / y) : undefined
  return {
    what,
    unit: "×",
    ...(value === undefined ? {} : { value }),
    ...(target === undefined ? {} : { target }),
    ...(target === undefined || value === undefined
      ? {}
      : { met: target.op === ">=" ? value >= target.value : value <= target.value }),
    perRound
  }
}

/** `a` over `b` on MiB/s (above 1: `a` is faster), against an "at least" target. */
export const ratio = (what: string, a: SubjectResult | undefined, b: SubjectResult | undefined, target?: number): Comparison =>
  ratioOn(what, (f) => f.mibps, a, b, target === undefined ? undefined : { op: ">=", value: target })

/** `a` over `b` on CPU seconds per GiB (above 1: `a` costs more), against an "at most" target. */
export const cpuRatio = (what: string, a: SubjectResult | undefined, b: SubjectResult | undefined, target?: number): Comparison =>
  ratioOn(what, (f) => f.cpuSecondsPerGiB, a, b, target === undefined ? undefined : { op: "<=", value: target })

export const statusOf = (subjects: ReadonlyArray<SubjectResult>): BenchResult["status"] =>
  subjects.every((s) => s.status === "ok") ? "ok" : subjects.some((s) => s.median !== undefined) ? "partial" : "failed"
