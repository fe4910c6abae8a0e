import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { bt, linesOf, startBt, workDir } from "./bt.js"

const dir = workDir()
const album = join(dir, "src", "album")
mkdirSync(album, { recursive: true })
writeFileSync(join(album, "one.bin"), Buffer.alloc(300_000, 1))
writeFileSync(join(album, "two.bin"), Buffer.alloc(700_000, 2))
const torrent = join(dir, "album.torrent")
// A tracker that refuses every connection: its failures are no news to a download that finishes from --peer.
const made = bt(["create", album, "-o", torrent, "--piece-length", "16K", "-t", "http://127.0.0.1:1/announce"], { cwd: dir })
if (made.code !== 0) throw new Error(`bt create failed: ${made.stderr}`)

/** Starts `bt seed --json` on the album and resolves with the seeder and its port once it seeds. */
const startSeeder = () =>
  new Promise<{ readonly port: number; readonly stop: () => Promise<void> }>((resolve, reject) => {
    const child = startBt(
      ["seed", torrent, "-d", join(dir, "src"), "--port", "0", "--no-trackers", "--no-dht", "--transport", "tcp", "--json"],
      { cwd: dir }
    )
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const seeding = linesOf(stdout).map((line) => JSON.parse(line) as { event: string; port?: number })
        .find((event) => event.event === "seeding")
      // Stopping waits for the exit: the seeder saves its resume state as it goes, into the test's folder.
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done()
          child.once("exit", () => done())
          child.kill("SIGTERM")
        })
      if (seeding?.port !== undefined) resolve({ port: seeding.port, stop })
    })
    child.on("error", reject)
    child.on("exit", (code) => reject(new Error(`the seeder exited (${code}) before seeding: ${stdout}`)))
  })

describe("bt download", () => {
  it("finishes from --peer with a summary naming the folder, and no word about the tracker that never answered", async () => {
    const seeder = await startSeeder()
    try {
      const out = join(dir, "out")
      const result = bt(
        ["download", torrent, "-o", out, "--peer", `127.0.0.1:${seeder.port}`, "--no-dht", "--transport", "tcp", "--port", "0"],
        { cwd: dir }
      )
      const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
      expect(result.code, context).toBe(0)
      expect(result.stderr, context).toBe("")
      expect(linesOf(result.stdout).at(-1), context).toMatch(/^album: complete, 977 KiB verified; .* files in .*\/out$/)
      expect(readFileSync(join(out, "album", "two.bin")).equals(Buffer.alloc(700_000, 2))).toBe(true)
    } finally {
      await seeder.stop()
    }
    // Longer than `bt`'s own 60 s bound, so that a download that stalls fails with what bt printed, not a bare timeout.
  }, 90_000)
})
