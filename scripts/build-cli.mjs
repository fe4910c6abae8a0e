// Bundles the CLI (src/cli/main.ts and all it loads, dependencies included) into dist/cli/bundle/: the entry, one
// chunk per lazily loaded command and chunks they share, so a command loads only its own code from a few files
// instead of resolving hundreds of modules (docs/BENCHMARKS.md, `startup`). The commands' help is taken here,
// from the definitions tsc just compiled, and built into the entry (src/cli/quickHelp.ts). The library (dist/index.js
// and the rest of dist/) stays unbundled for programs that embed it. bin/bt.js runs the bundle when it is at least
// as new as dist/cli/main.js, else the unbundled CLI. Run by `npm run build`, after tsc.
import { build } from "esbuild"
import { rm } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const compiled = (path) => import(pathToFileURL(join(root, "dist", "cli", path)).href)

const { commands } = await compiled("commands/index.js")
const { loadRoot } = await compiled("root.js")
// The version as dist/cli/version.js reads it (package.json and dist/build-info.json, which build-info.mjs wrote
// just before): in the bundle those files are not where version.ts looks for them, so it is built in.
const { buildVersion } = await compiled("version.js")
const version = buildVersion()
const { commandSpec } = await compiled("spec.js")
const program = await loadRoot(Object.values(commands))
const snapshot = { version, root: commandSpec(program.root.descriptor), extras: program.extras }

const out = join(root, "dist", "cli", "bundle")
await rm(out, { recursive: true, force: true })
await build({
  entryPoints: { main: join(root, "src", "cli", "main.ts") },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: out,
  chunkNames: "[name]-[hash]",
  // Whitespace and syntax only: names stay readable in a BT_DEBUG=1 trace.
  minifyWhitespace: true,
  minifySyntax: true,
  define: { BT_HELP_SNAPSHOT: JSON.stringify(JSON.stringify(snapshot)), BT_VERSION: JSON.stringify(version) },
  // Bundled CommonJS dependencies call require().
  banner: { js: `import { createRequire as __btCreateRequire } from "node:module"; const require = __btCreateRequire(import.meta.url);` },
  legalComments: "none",
  logLevel: "warning"
})
console.log("cli: dist/cli/bundle/main.js")
