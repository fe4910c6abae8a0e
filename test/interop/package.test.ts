/**
 * The package as a user gets it: `npm pack` of this tree (dist/ as `npm run build` left it: the test does not
 * rebuild, so it packs with --ignore-scripts; `npm pack` itself runs the `prepack` build), installed with
 * `npm install -g --prefix TMP` (dependencies only, from the npm registry or its cache: the one step of the interop
 * suite that needs the registry, as `npm ci` does). The installed `bt` then says its version, reads a torrent it
 * made, and downloads it from libtorrent on 127.0.0.1; a program outside the tree imports the library by the
 * package's name.
 */
import { readFileSync } from "node:fs"
import { readdir, readFile, symlink, writeFile, mkdir } from "node:fs/promises"
import { delimiter, dirname, join } from "node:path"
import { beforeAll, expect, test } from "vitest"
import { freePort, interopSuite, repoRoot, run, type RunResult, startLtSeeder, tempDir, writeFiles } from "./harness.js"

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { name: string; version: string }
const describeRun = (what: string, result: RunResult) =>
  `${what}: exit ${result.code}\nstdout:\n${result.stdout.slice(-4000)}\nstderr:\n${result.stderr.slice(-4000)}`
/** A warning Node prints itself ("(node:1234) [DEP0040] DeprecationWarning: ..."), which a user should never see. */
const nodeWarning = /^\(node:\d+\) /m

interopSuite("the npm package, installed into a clean prefix", ["libtorrent"], () => {
  let work: string
  let tarball: string
  let prefix: string
  let installed: string
  /** The installed `bt` runs on the Node running this test (the bin's `#!/usr/bin/env node` finds it first). */
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    work = await tempDir()
    const packed = await run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], {
      cwd: repoRoot,
      timeoutMs: 60_000
    })
    if (packed.code !== 0) throw new Error(describeRun("npm pack", packed))
    tarball = join(work, packed.stdout.trim().split("\n").at(-1)!)
    prefix = join(work, "prefix")
    const install = await run(
      "npm",
      ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball],
      { cwd: work, timeoutMs: 240_000 }
    )
    if (install.code !== 0) throw new Error(describeRun("npm install -g", install))
    installed = join(prefix, "lib", "node_modules", pkg.name)
    env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`, BT_STATE_DIR: join(work, "state") }
    delete env.BT_CONFIG
  }, 300_000)

  const bt = (args: ReadonlyArray<string>, timeoutMs = 30_000) =>
    run(join(prefix, "bin", "bt"), args, { cwd: work, env, timeoutMs })

  test("the tarball holds the built program and its types, not the sources or the tests; no devDependency is installed", async () => {
    const listing = await run("tar", ["-tzf", tarball])
    const files = listing.stdout.split("\n").filter((line) => line !== "")
    for (const file of ["package/bin/bt.js", "package/dist/cli/main.js", "package/dist/index.js", "package/dist/index.d.ts", "package/dist/build-info.json", "package/dist/web/index.html"]) {
      expect(files, file).toContain(file)
    }
    expect(files.filter((file) => /^package\/(src|test|scripts|bench|web)\//.test(file))).toEqual([])
    const deps = await readdir(join(installed, "node_modules"))
    for (const dev of ["typescript", "vitest", "esbuild", "playwright-core", "preact"]) expect(deps, dev).not.toContain(dev)
    const effects = await readdir(join(installed, "node_modules", "@effect"))
    expect(effects).toEqual(expect.arrayContaining(["cli", "platform", "platform-node"]))
    expect(effects).not.toContain("vitest")
  })

  test("bt --version names the version and the commit the tarball was packed from", async () => {
    const info = JSON.parse(await readFile(join(repoRoot, "dist", "build-info.json"), "utf8")) as { commit?: string }
    // The bin's `#!/usr/bin/env node` finds the Node running this test (CI's smoke on Node 22, 24, 26 tests those).
    const node = await run("/usr/bin/env", ["node", "-p", "process.version"], { cwd: work, env })
    expect(node.stdout.trim(), describeRun("node -p process.version", node)).toBe(process.version)
    const result = await bt(["--version"])
    expect(result.code, describeRun("bt --version", result)).toBe(0)
    expect(result.stderr, describeRun("bt --version", result)).toBe("")
    expect(result.stdout.trim()).toMatch(new RegExp(`^bt ${pkg.version.replaceAll(".", "\\.")}( \\(git [0-9a-f]{12}(\\+changes)?\\))?$`))
    if (info.commit !== undefined) expect(result.stdout).toContain(`git ${info.commit}`)
  })

  test("the installed bt makes a torrent, reads it with bt info, and downloads it from libtorrent", async () => {
    const src = join(work, "src")
    await writeFiles(join(src, "album"), [{ path: "a.bin", size: 300_000 }, { path: "sub/b.bin", size: 123_457 }], 23)
    const torrent = join(work, "album.torrent")
    const created = await bt(["create", join(src, "album"), "--v1", "-o", torrent])
    expect(created.code, describeRun("bt create", created)).toBe(0)
    expect(created.stderr, describeRun("bt create", created)).toBe("")
    const info = await bt(["info", torrent, "--json"])
    expect(info.code, describeRun("bt info", info)).toBe(0)
    expect(info.stderr, describeRun("bt info", info)).toBe("")
    const parsed = JSON.parse(info.stdout) as { name: string; totalLength?: number; infoHash?: string }
    expect(parsed.name).toBe("album")

    const seeder = await startLtSeeder({ torrent, save: src })
    const out = join(work, "out")
    const port = await freePort()
    const download = await bt(
      ["download", torrent, "-o", out, "--peer", `127.0.0.1:${seeder.port}`, "--port", String(port), "--no-dht", "--no-lsd", "--no-port-mapping", "--no-trackers"],
      90_000
    )
    expect(download.code, describeRun("bt download", download)).toBe(0)
    expect(download.stderr, describeRun("bt download", download)).not.toMatch(nodeWarning)
    for (const file of ["a.bin", "sub/b.bin"]) {
      expect(Buffer.compare(await readFile(join(out, "album", file)), await readFile(join(src, "album", file))), file).toBe(0)
    }
  }, 120_000)

  test("the installed bt prints completions and keeps a configuration file", async () => {
    const completions = await bt(["completions", "bash"])
    expect(completions.code, describeRun("bt completions bash", completions)).toBe(0)
    expect(completions.stdout).toContain("complete -F _bt_bash_completions")
    const config = join(work, "config.json")
    const set = await bt(["--config", config, "config", "set", "port", "7000"])
    expect(set.code, describeRun("bt config set", set)).toBe(0)
    expect(JSON.parse(await readFile(config, "utf8"))).toEqual({ port: 7000 })
    const get = await bt(["--config", config, "config", "get", "port"])
    expect(get.stdout).toBe("7000\n")
  })

  test("a program outside the tree imports Client, Session and Metainfo by the package's name", async () => {
    const app = join(work, "app")
    await mkdir(join(app, "node_modules"), { recursive: true })
    await symlink(installed, join(app, "node_modules", pkg.name), "dir")
    await writeFile(
      join(app, "main.mjs"),
      `import { Client, Session, Metainfo } from "${pkg.name}"\n` +
        `console.log(JSON.stringify([typeof Client.Client, typeof Session.Session, typeof Metainfo.Metainfo, typeof Metainfo.layer]))\n`
    )
    const result = await run(process.execPath, [join(app, "main.mjs")], { cwd: app, env })
    expect(result.code, describeRun("node main.mjs", result)).toBe(0)
    expect(result.stderr, describeRun("node main.mjs", result)).not.toMatch(nodeWarning)
    expect(JSON.parse(result.stdout)).toEqual(["function", "function", "function", "object"])
    const types = await readFile(join(installed, "dist", "index.d.ts"), "utf8")
    for (const name of ["Client", "Session", "Metainfo"]) expect(types).toMatch(new RegExp(`export \\* as ${name} from`))
  })
})
