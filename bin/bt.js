#!/usr/bin/env node
// The `bt` command: the compiled program in dist/ (npm ci and npm run build make it). The bundle
// (dist/cli/bundle, scripts/build-cli.mjs) starts faster; it is used unless tsc compiled dist/cli/main.js after it
// was made, so a plain `tsc` rebuild never runs stale code.
import { existsSync, statSync } from "node:fs"

const bundle = new URL("../dist/cli/bundle/main.js", import.meta.url)
const unbundled = new URL("../dist/cli/main.js", import.meta.url)

if (!existsSync(unbundled)) {
  process.stderr.write("bt: not built yet\ntry: npm run build (in the bt folder), then run bt again\n")
  process.exit(1)
}
await import(existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(unbundled).mtimeMs ? bundle.href : unbundled.href)
