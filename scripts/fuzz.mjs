#!/usr/bin/env node
// `npm run fuzz`: the fuzz targets of test/fuzz/ with FUZZ_RUNS cases each (default 1,000,000), through the unit
// project's vitest configuration (which runs the same files with 2,000 cases in `npm test`). Each target prints
// "<target>: N cases in S s". Extra arguments go to vitest, e.g. `npm run fuzz -- test/fuzz/wire`.
// FUZZ_SEED=<n> repeats a run.
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const vitest = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")
const extra = process.argv.slice(2)
const files = extra.some((arg) => !arg.startsWith("-")) ? [] : ["test/fuzz/"]
const runs = process.env.FUZZ_RUNS ?? "1000000"

const child = spawn(process.execPath, [vitest, "run", "--project", "unit", ...files, ...extra], {
  cwd: root,
  env: { ...process.env, FUZZ_RUNS: runs },
  stdio: "inherit"
})
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)))
