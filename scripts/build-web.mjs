// Bundles the web UI (web/) into dist/web: assets/main-HASH.js and .css (cached for good by the daemon) and an
// index.html naming them (never cached). The same layout works as transmission-daemon's TRANSMISSION_WEB_HOME. Run by `npm run build`, so by `npm ci` through `prepare`.
import { build } from "esbuild"
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { basename, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const out = join(root, "dist", "web")
await rm(out, { recursive: true, force: true })
await mkdir(out, { recursive: true })
const result = await build({
  entryPoints: [join(root, "web", "src", "main.tsx")],
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  sourcemap: "linked",
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  outdir: join(out, "assets"),
  metafile: true,
  legalComments: "none",
  logLevel: "warning"
})
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p))
const js = outputs.find((n) => n.endsWith(".js"))
const css = outputs.find((n) => n.endsWith(".css"))
if (js === undefined || css === undefined) throw new Error(`web build: expected a .js and a .css, got ${outputs}`)
const html = (await readFile(join(root, "web", "index.html"), "utf8")).replace("%JS%", js).replace("%CSS%", css)
await writeFile(join(out, "index.html"), html)
console.log(`web UI: dist/web/index.html, dist/web/assets/{${js},${css}}`)
