#!/usr/bin/env node
// The `bt` command: the compiled program in dist/ (npm ci and npm run build make it).
import { existsSync } from "node:fs"

if (!existsSync(new URL("../dist/cli/main.js", import.meta.url))) {
  process.stderr.write("bt: not built yet\ntry: npm run build (in the bt folder), then run bt again\n")
  process.exit(1)
}
await import("../dist/cli/main.js")
