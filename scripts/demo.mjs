#!/usr/bin/env node
// A first look at bt, offline: make a payload, `bt create` a torrent of it, `bt seed` it, and `bt download` it
// from that seeder on 127.0.0.1 with live progress; then check the bytes and clean up. Touches no network beyond
// loopback and leaves nothing behind.
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const bt = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "bt.js")
const work = mkdtempSync(join(tmpdir(), "bt-demo-"))
const children = new Set()

const step = (text) => console.log(`\n\x1b[1m== ${text}\x1b[0m`)

/** Runs bt to completion with its output shown; rejects on a non-zero exit. */
const run = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bt, ...args], { stdio: "inherit" })
    children.add(child)
    child.on("exit", (code) => {
      children.delete(child)
      code === 0 ? resolve() : reject(new Error(`bt ${args[0]} exited with ${code}`))
    })
  })

/** Starts `bt seed --json` and resolves with the port it listens on once it is seeding. */
const startSeeder = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bt, "seed", ...args, "--json"], { stdio: ["ignore", "pipe", "inherit"] })
    children.add(child)
    const timer = setTimeout(() => reject(new Error("the seeder did not start within 30 s")), 30_000)
    let buffered = ""
    child.stdout.on("data", (chunk) => {
      buffered += chunk
      for (const line of buffered.split("\n").slice(0, -1)) {
        const event = JSON.parse(line)
        if (event.event === "seeding") {
          clearTimeout(timer)
          resolve(event.port)
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1)
    })
    child.on("exit", (code) => {
      children.delete(child)
      clearTimeout(timer)
      reject(new Error(`the seeder exited with ${code}`))
    })
  })

const sha1 = (path) => createHash("sha1").update(readFileSync(path)).digest("hex")

const cleanUp = () => {
  for (const child of children) child.kill("SIGTERM")
  rmSync(work, { recursive: true, force: true })
}
process.on("SIGINT", () => {
  cleanUp()
  process.exit(130)
})

try {
  step(`making a 48 MiB payload of three files in ${work}`)
  const files = [["album/track-1.bin", 32 << 20], ["album/track-2.bin", 15 << 20], ["album/notes.txt", 12_345]]
  for (const [path, size] of files) {
    mkdirSync(dirname(join(work, "seed", path)), { recursive: true })
    writeFileSync(join(work, "seed", path), randomBytes(size))
  }

  step("bt create: hashing it into a torrent")
  const torrent = join(work, "album.torrent")
  await run(["create", join(work, "seed", "album"), "-o", torrent])

  step("bt info: what the torrent says")
  await run(["info", torrent])

  step("bt seed: serving it on 127.0.0.1")
  // Offline and on loopback only: no trackers, no DHT.
  const port = await startSeeder([torrent, "-d", join(work, "seed"), "--port", "0", "--no-trackers", "--no-dht", "--no-port-mapping", "--no-lsd"])
  console.log(`seeding on port ${port}`)

  step(`bt download: fetching it from 127.0.0.1:${port}`)
  await run(["download", torrent, "-o", join(work, "download"), "--peer", `127.0.0.1:${port}`, "--no-trackers", "--no-dht", "--no-port-mapping", "--no-lsd", "--port", "0"])

  step("checking every byte")
  for (const [path] of files) {
    const same = sha1(join(work, "seed", path)) === sha1(join(work, "download", path))
    console.log(`${same ? "ok " : "BAD"} ${path}`)
    if (!same) throw new Error(`${path} differs`)
  }
  console.log("\nbt works. Next: `npx bt download --help`.")
} catch (error) {
  console.error(`demo failed: ${error.message}`)
  process.exitCode = 1
} finally {
  cleanUp()
}
