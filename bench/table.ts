/** The plain-text table `npm run bench` prints: one block per benchmark, subjects then comparisons. */
import type { BenchResult, Comparison, SubjectResult } from "./measure.js"

const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length))
const padStart = (s: string, n: number): string => (s.length >= n ? s : " ".repeat(n - s.length) + s)

const subjectRow = (s: SubjectResult, metric: BenchResult["metric"]): string => {
  const ok = s.runs.filter((r) => r.ok).length
  const runs = `${ok}/${s.runs.length} ok`
  if (s.median === undefined) {
    const error = s.runs.find((r) => !r.ok)?.error ?? "no run"
    return `  ${pad(s.label, 34)} ${padStart("FAILED", 12)}   ${runs}: ${error.split("\n")[0]!.slice(0, 160)}`
  }
  const figure =
    metric === "ms" ? `${Math.round(s.median.seconds * 1000)} ms` : `${(s.median.mibps ?? 0).toFixed(1)} MiB/s`
  const each =
    metric === "ms"
      ? s.runs.map((r) => (r.ok ? String(Math.round((r.seconds ?? 0) * 1000)) : "x")).join(" ")
      : s.runs.map((r) => (r.ok ? (r.mibps ?? 0).toFixed(0) : "x")).join(" ")
  const rss = s.maxPeakRssMB === undefined ? "" : `  peak RSS ${s.maxPeakRssMB.toFixed(0)} MB (${s.measured})`
  const own = s.median.selfSeconds === undefined ? "" : ` (own ${s.median.selfSeconds.toFixed(2)} s)`
  const perGiB = s.median.cpuSecondsPerGiB === undefined ? "" : ` (${s.median.cpuSecondsPerGiB.toFixed(2)} s/GiB)`
  const cpu = s.median.cpuSeconds === undefined || metric === "ms" ? "" : `  cpu ${s.median.cpuSeconds.toFixed(1)} s${perGiB}`
  const time = metric === "ms" ? "" : `  ${s.median.seconds.toFixed(2)} s${own}`
  return `  ${pad(s.label, 34)} ${padStart(figure, 12)}${time}   [${each}] ${runs}${rss}${cpu}${s.status === "failed" ? "  (a run failed)" : ""}`
}

const comparisonRow = (c: Comparison): string => {
  const value = c.value === undefined ? "n/a" : c.unit === "×" ? `${c.value.toFixed(2)}×` : `${c.value} ${c.unit}`
  const target = c.target === undefined ? "" : `   target ${c.target.op} ${c.target.value}${c.unit === "×" ? "×" : ` ${c.unit}`}`
  const met = c.met === undefined ? (c.target === undefined ? "" : "  (not measured)") : c.met ? "  MET" : "  NOT MET"
  const rounds =
    c.perRound === undefined || c.perRound.length === 0
      ? ""
      : `   per round [${c.perRound.map((x) => (x === null ? "x" : x.toFixed(2))).join(" ")}]`
  return `  → ${pad(c.what, 60)} ${padStart(value, 10)}${target}${met}${rounds}`
}

export const renderTable = (results: ReadonlyArray<BenchResult>): string => {
  const lines: Array<string> = ["", "=".repeat(100), "bt benchmarks (medians of interleaved rounds)", "=".repeat(100)]
  for (const r of results) {
    lines.push("", `${r.name} — ${r.title}  [${r.status}${r.seconds === undefined ? "" : `, ${r.seconds} s`}]`)
    if (r.error !== undefined) lines.push(`  error: ${r.error.split("\n")[0]}`)
    for (const s of r.subjects) lines.push(subjectRow(s, r.metric))
    for (const c of r.comparisons) lines.push(comparisonRow(c))
    for (const n of r.notes) lines.push(`  · ${n}`)
  }
  return lines.join("\n")
}
