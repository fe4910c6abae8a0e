/**
 * Web seeds (BEP 19) on 127.0.0.1: `bt create --web-seed` makes the torrent, a small HTTP server written here (Node's
 * http, with single `Range` requests; `python3 -m http.server` has no Range) serves the files, and `bt download`
 * fetches them with no peer at all, single- and multi-file; then a web seed and a libtorrent seeder together. Every
 * test compares the SHA-1 of each downloaded file with the original's.
 */
import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import { join, resolve, sep } from "node:path"
import { expect, test } from "vitest"
import { type FileSpec, interopSuite, type RunResult, runBt, startLtSeeder, tempDir, writeFiles } from "./harness.js"
import { hashFiles, listFiles } from "./leechers.js"

interface Served {
  readonly path: string
  readonly range: string | undefined
}

/**
 * Serves the files under `root` over HTTP on 127.0.0.1 (any free port), with single `bytes=A-B` ranges answered 206;
 * each answer's body paced to about `rate` bytes per second when given. Logs every request.
 */
const startWebServer = async (root: string, rate?: number) => {
  const log: Array<Served> = []
  const base = resolve(root)
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1")
    const range = request.headers.range
    log.push({ path: url.pathname, range })
    const file = resolve(base, ...url.pathname.split("/").filter((part) => part !== "").map(decodeURIComponent))
    if (!file.startsWith(base + sep)) return void response.writeHead(403).end()
    stat(file).then((info) => {
      if (!info.isFile()) return void response.writeHead(404).end()
      const match = /^bytes=(\d+)-(\d+)$/.exec(range ?? "")
      if (match === null) {
        response.writeHead(200, { "content-length": info.size })
        return void createReadStream(file).pipe(response)
      }
      const start = Number(match[1])
      const end = Math.min(Number(match[2]), info.size - 1)
      if (start > end) return void response.writeHead(416).end()
      response.writeHead(206, { "content-range": `bytes ${start}-${end}/${info.size}`, "content-length": end - start + 1 })
      const stream = createReadStream(file, { start, end, highWaterMark: 64 * 1024 })
      if (rate === undefined) return void stream.pipe(response)
      // Paced: one 64 KiB chunk, then a pause as long as that chunk takes at `rate`.
      stream.on("data", (chunk) => {
        stream.pause()
        response.write(chunk)
        setTimeout(() => stream.resume(), (chunk.length / rate) * 1000)
      })
      stream.on("end", () => response.end())
    }, () => response.writeHead(404).end())
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}/`,
    log,
    close: () => new Promise<void>((done) => server.close(() => done()))
  }
}

const lines = (result: RunResult): ReadonlyArray<Record<string, unknown>> =>
  result.stdout.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Record<string, unknown>)

const describeRun = (result: RunResult): string => `exit ${result.code}\nstdout:\n${result.stdout.slice(-3000)}\nstderr:\n${result.stderr}`

interface WebSeedShown {
  readonly url: string
  readonly state: string
  readonly downloaded: number
}

/** The web seeds of the last progress line that lists them. */
const lastWebSeeds = (result: RunResult): ReadonlyArray<WebSeedShown> | undefined =>
  lines(result).filter((line) => line.event === "progress" && Array.isArray(line.webSeeds)).map((line) =>
    line.webSeeds as ReadonlyArray<WebSeedShown>).at(-1)

/** Range lengths the server was asked for. */
const rangeLengths = (log: ReadonlyArray<Served>): Array<number> =>
  log.flatMap(({ range }) => {
    const match = /^bytes=(\d+)-(\d+)$/.exec(range ?? "")
    return match === null ? [] : [Number(match[2]) - Number(match[1]) + 1]
  })

interopSuite("web seeds (BEP 19)", ["libtorrent"], () => {
  test("a single-file torrent from its web seed alone (URL ending in /: the name appended)", async () => {
    const dir = await tempDir()
    const spec: ReadonlyArray<FileSpec> = [{ path: "disk image.iso", size: 3 * 1024 * 1024 + 12_345 }]
    await writeFiles(join(dir, "data"), spec, 19)
    const expected = await hashFiles(join(dir, "data"), spec)
    const server = await startWebServer(join(dir, "data"))
    try {
      const torrent = join(dir, "single.torrent")
      const made = await runBt(["create", join(dir, "data", "disk image.iso"), "--web-seed", server.url, "--piece-length", "64K", "-o", torrent])
      expect(made.code, describeRun(made)).toBe(0)
      const info = await runBt(["info", torrent])
      expect(info.stdout).toContain(server.url)
      const out = join(dir, "out")
      const result = await runBt(["download", torrent, "-o", out, "--no-trackers", "--json"], { timeoutMs: 90_000 })
      expect(result.code, describeRun(result)).toBe(0)
      expect(await hashFiles(out, spec)).toEqual(expected)
      // Only the file's own URL was asked, with ranges of several pieces.
      expect(new Set(server.log.map((entry) => entry.path))).toEqual(new Set(["/disk%20image.iso"]))
      expect(Math.max(...rangeLengths(server.log))).toBeGreaterThan(64 * 1024)
      expect(server.log.length).toBeLessThan(Math.ceil(spec[0]!.size / (64 * 1024)))
      const done = lines(result).find((line) => line.event === "done")
      expect(done, describeRun(result)).toBeDefined()
    } finally {
      await server.close()
    }
  })

  test("a multi-file hybrid torrent (padding files) from its web seed alone: name and path, percent-encoded", async () => {
    const dir = await tempDir()
    const spec: ReadonlyArray<FileSpec> = [
      { path: "a b/one.bin", size: 1024 * 1024 + 333 },
      { path: "a b/100%.txt", size: 20_000 },
      { path: "empty.bin", size: 0 },
      { path: "ünï/three.bin", size: 2 * 1024 * 1024 + 7 }
    ]
    await writeFiles(join(dir, "pub", "My Album"), spec, 23)
    const expected = await hashFiles(join(dir, "pub", "My Album"), spec)
    // Paced (about 512 KiB/s an answer), so the download lasts long enough for progress lines to show the seed.
    const server = await startWebServer(join(dir, "pub"), 512 * 1024)
    try {
      const torrent = join(dir, "multi.torrent")
      const made = await runBt(["create", join(dir, "pub", "My Album"), "--web-seed", server.url.slice(0, -1), "--piece-length", "32K", "-o", torrent])
      expect(made.code, describeRun(made)).toBe(0)
      const out = join(dir, "out")
      const result = await runBt(["download", torrent, "-o", out, "--no-trackers", "--json"], { timeoutMs: 90_000 })
      expect(result.code, describeRun(result)).toBe(0)
      expect(await listFiles(join(out, "My Album"))).toEqual(Object.fromEntries(spec.map((file) => [file.path, file.size])))
      expect(await hashFiles(join(out, "My Album"), spec)).toEqual(expected)
      expect(new Set(server.log.map((entry) => entry.path))).toEqual(
        new Set(["/My%20Album/a%20b/one.bin", "/My%20Album/a%20b/100%25.txt", "/My%20Album/%C3%BCn%C3%AF/three.bin"])
      )
      expect(server.log.every((entry) => entry.range !== undefined)).toBe(true)
      expect(Math.max(...rangeLengths(server.log))).toBeGreaterThan(32 * 1024)
      const seeds = lastWebSeeds(result)
      expect(seeds, describeRun(result)).toBeDefined()
      expect(seeds![0]!.url).toBe(server.url)
      expect(seeds![0]!.state).not.toBe("dropped")
    } finally {
      await server.close()
    }
  })

  test("a magnet link's ws= web seed is used once libtorrent has sent the metadata", async () => {
    const dir = await tempDir()
    const spec: ReadonlyArray<FileSpec> = [{ path: "magnet.bin", size: 6 * 1024 * 1024 }]
    await writeFiles(join(dir, "data"), spec, 31)
    const expected = await hashFiles(join(dir, "data"), spec)
    const server = await startWebServer(join(dir, "data"), 2 * 1024 * 1024)
    try {
      // The torrent itself names no web seed: only the magnet link does.
      const torrent = join(dir, "magnet.torrent")
      const made = await runBt(["create", join(dir, "data", "magnet.bin"), "--v1", "--piece-length", "128K", "-o", torrent, "--json"])
      expect(made.code, describeRun(made)).toBe(0)
      const infoHash = (JSON.parse(made.stdout) as { infoHash: string }).infoHash
      const seeder = await startLtSeeder({ torrent, save: join(dir, "data"), uploadLimit: 1024 * 1024 })
      const magnet = `magnet:?xt=urn:btih:${infoHash}&dn=magnet.bin&ws=${encodeURIComponent(server.url)}`
      const out = join(dir, "out")
      const result = await runBt(
        ["download", magnet, "-o", out, "--no-trackers", "--peer", `127.0.0.1:${seeder.port}`, "--json"],
        { timeoutMs: 100_000 }
      )
      expect(result.code, describeRun(result)).toBe(0)
      expect(await hashFiles(out, spec)).toEqual(expected)
      const seeds = lastWebSeeds(result)
      expect(seeds, describeRun(result)).toBeDefined()
      expect(seeds![0]!.url).toBe(server.url)
      expect(seeds![0]!.downloaded).toBeGreaterThan(0)
      expect(server.log.every((entry) => entry.path === "/magnet.bin")).toBe(true)
    } finally {
      await server.close()
    }
  })

  test("a web seed and a libtorrent seeder together, each sending part of it", async () => {
    const dir = await tempDir()
    const spec: ReadonlyArray<FileSpec> = [{ path: "both.bin", size: 12 * 1024 * 1024 }]
    await writeFiles(join(dir, "data"), spec, 29)
    const expected = await hashFiles(join(dir, "data"), spec)
    // Both sources paced to about 2 MiB/s, so neither finishes it before the other has sent some.
    const server = await startWebServer(join(dir, "data"), 2 * 1024 * 1024)
    try {
      const torrent = join(dir, "both.torrent")
      const made = await runBt(["create", join(dir, "data", "both.bin"), "--v1", "--web-seed", server.url, "--piece-length", "256K", "-o", torrent])
      expect(made.code, describeRun(made)).toBe(0)
      const seeder = await startLtSeeder({ torrent, save: join(dir, "data"), uploadLimit: 2 * 1024 * 1024 })
      const out = join(dir, "out")
      const result = await runBt(
        ["download", torrent, "-o", out, "--no-trackers", "--peer", `127.0.0.1:${seeder.port}`, "--json"],
        { timeoutMs: 100_000 }
      )
      expect(result.code, describeRun(result)).toBe(0)
      expect(await hashFiles(out, spec)).toEqual(expected)
      const seeds = lastWebSeeds(result)
      const done = lines(result).find((line) => line.event === "done") as { downloaded: number } | undefined
      expect(seeds, describeRun(result)).toBeDefined()
      const fromWeb = seeds![0]!.downloaded
      expect(fromWeb).toBeGreaterThan(0)
      // The rest came from libtorrent: what was downloaded in all, less the web seed's part.
      expect(done!.downloaded - fromWeb, describeRun(result)).toBeGreaterThan(0)
    } finally {
      await server.close()
    }
  })
})
