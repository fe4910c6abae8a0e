#!/usr/bin/env node
// Prints the top self-time functions of V8 CPU profiles (node --cpu-prof; the bench writes them with
// BENCH_CPU_PROF=DIR), summed over the files given:  node bench/profile-top.mjs [--top N] FILE.cpuprofile…
import { readFileSync } from "node:fs"
import { relative } from "node:path"

const args = process.argv.slice(2)
let top = 15
if (args[0] === "--top") {
  top = Number(args[1])
  args.splice(0, 2)
}
if (args.length === 0 || !(top > 0)) {
  console.error("usage: node bench/profile-top.mjs [--top N] FILE.cpuprofile…")
  process.exit(2)
}
const self = new Map()
let total = 0
for (const file of args) {
  const profile = JSON.parse(readFileSync(file, "utf8"))
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  // timeDeltas[i] is the time before samples[i]: charge it to that sample's function.
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame
    const where = f.url === "" ? "" : ` ${relative(process.cwd(), f.url.replace(/^file:\/\//, ""))}:${f.lineNumber + 1}`
    const key = `${f.functionName || "(anonymous)"}${where}`
    const dt = profile.timeDeltas[i] ?? 0
    self.set(key, (self.get(key) ?? 0) + dt)
    total += dt
  })
}
console.log(`${(total / 1e6).toFixed(2)} s sampled in ${args.length} profile(s); self time:`)
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(6)} s  ${key}`)
}
