#!/usr/bin/env node
// Renders bench/results/latest.json (what `npm run bench` writes) as an SVG bar chart, bt against its anchors: one
// panel per benchmark, medians, each panel on its own scale. Hand-written SVG, no dependencies.
//
//   node bench/chart.mjs [IN.json] [OUT.svg]     (defaults: bench/results/latest.json, docs/bench.svg)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const input = process.argv[2] ?? join(root, "bench", "results", "latest.json")
const output = process.argv[3] ?? join(root, "docs", "bench.svg")
const report = JSON.parse(readFileSync(input, "utf8"))

const W = 900
const LABEL_W = 250
const BAR_H = 20
const GAP = 6
const BAR_MAX = W - LABEL_W - 130
const BT = "#2f6fdf"
const ANCHOR = "#9aa3ad"
const FAILED = "#d9534f"

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
const text = (x, y, s, attrs = "") => `<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`

const figure = (bench, subject) => {
  const m = subject.median
  if (m === undefined) return undefined
  return bench.metric === "ms" ? Math.round(m.seconds * 1000) : m.mibps
}
const formatValue = (bench, v) => (bench.metric === "ms" ? `${v} ms` : `${v.toFixed(1)} MiB/s`)

const comparisonLine = (c) => {
  if (c.value === undefined) return `${c.what}: n/a`
  const v = c.unit === "×" ? `${c.value.toFixed(2)}×` : `${c.value} ${c.unit}`
  const t = c.target === undefined ? "" : ` (target ${c.target.op} ${c.target.value}${c.unit === "×" ? "×" : ` ${c.unit}`}: ${c.met ? "met" : "not met"})`
  return `${c.what}: ${v}${t}`
}

const parts = []
let y = 0
const size = report.settings?.payloadBytes
const heading = `bt benchmarks, ${report.startedAt?.slice(0, 10) ?? ""}` +
  (size ? ` — ${(size / 2 ** 20).toFixed(0)} MiB payload` : "") +
  `, median of ${report.settings?.rounds ?? "?"} interleaved rounds, loopback`
y += 28
parts.push(text(16, y, heading, `font-size="16" font-weight="bold"`))
y += 18
const m = report.machine ?? {}
parts.push(text(16, y, `${m.nproc ?? "?"} cores, ${m.memTotalGiB ?? "?"} GiB, Node ${m.node ?? "?"}, load ${m.loadAverageAtStart?.join(" ") ?? "?"} at start; page cache warm; higher is better except where in ms`, `font-size="12" fill="#555"`))
y += 10

for (const bench of report.benchmarks ?? []) {
  y += 30
  const separate = bench.separateRun === undefined
    ? ""
    : ` [own run ${bench.separateRun.startedAt.slice(0, 10)}, ${(bench.separateRun.payloadBytes / 2 ** 20).toFixed(0)} MiB, ${bench.separateRun.rounds} rounds]`
  parts.push(text(16, y, `${bench.name} — ${bench.title}${bench.metric === "ms" ? " (ms: lower is better)" : ""}${separate}`, `font-size="14" font-weight="bold"`))
  if (bench.subjects.length === 0) {
    y += 20
    parts.push(text(LABEL_W, y, bench.status === "not measured" ? bench.notes?.[0] ?? "not measured" : `${bench.status}: ${bench.error ?? bench.notes?.[0] ?? ""}`, `font-size="12" fill="#777" font-style="italic"`))
    continue
  }
  const values = bench.subjects.map((s) => figure(bench, s)).filter((v) => v !== undefined)
  const max = Math.max(...values, 1e-9)
  y += 10
  for (const s of bench.subjects) {
    const v = figure(bench, s)
    const top = y
    const labelY = top + BAR_H / 2 + 4
    parts.push(text(LABEL_W - 8, labelY, s.label, `font-size="12" text-anchor="end"${s.role === "bt" ? ` font-weight="bold"` : ""}`))
    if (v === undefined) {
      parts.push(`<rect x="${LABEL_W}" y="${top}" width="6" height="${BAR_H}" fill="${FAILED}"/>`)
      parts.push(text(LABEL_W + 12, labelY, "failed", `font-size="12" fill="${FAILED}"`))
    } else {
      const w = Math.max(1, (v / max) * BAR_MAX)
      parts.push(`<rect x="${LABEL_W}" y="${top}" width="${w.toFixed(1)}" height="${BAR_H}" rx="2" fill="${s.role === "bt" ? BT : ANCHOR}"/>`)
      const note = s.status === "failed" ? " (a run failed)" : ""
      const rss = bench.metric === "mibps" && s.measured?.startsWith("bt") && s.maxPeakRssMB !== undefined ? `, RSS ${Math.round(s.maxPeakRssMB)} MB` : ""
      parts.push(text(LABEL_W + w + 6, labelY, `${formatValue(bench, v)}${rss}${note}`, `font-size="12"`))
    }
    y += BAR_H + GAP
  }
  for (const c of bench.comparisons.filter((c) => c.unit === "×" || c.target !== undefined)) {
    y += 16
    const colour = c.met === undefined ? "#333" : c.met ? "#2e7d32" : "#c62828"
    parts.push(text(LABEL_W, y, comparisonLine(c), `font-size="12" fill="${colour}"`))
  }
}
y += 24

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join("\n")}
</svg>
`
mkdirSync(dirname(output), { recursive: true })
writeFileSync(output, svg)
console.log(`wrote ${output}`)
