#!/usr/bin/env node
// A first look at bt, offline: make a payload, `bt create` a torrent of it, `bt seed` it, and `bt download` it
// from that seeder on 127.0.0.1 with live progress; then check the bytes and clean up. Touches no network beyond
// loopback and leaves nothing behind: the payload, the torrent and bt's resume state all live in one temporary
// folder, removed at the end.
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const bt = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "bt.js")
const work = mkdtempSync(join(tmpdir(), "bt-demo-"))
const children = new Set()
// bt keeps resume files and its DHT table in a state folder; the demo's own, inside `work`, not ~/.local/state/bt.
const env = { ...process.env, BT_STATE_DIR: join(work, "state") }

// Bold headings on a terminal that wants colour; plain text into a pipe or a log.
const bold = process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === ""
const step = (text) => console.log(bold ? `\n\x1b[1m== ${text}\x1b[0m` : `\n== ${text}`)

/** Runs bt to completion with its output shown; rejects on a non-zero exit. */
const run = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bt, ...args], { stdio: "inherit", env })
    children.add(child)
    child.on("exit", (code) => {
      children.delete(child)
      code === 0 ? resolve() : reject(new Error(`bt ${args[0]} exited with ${code}`))
    })
  })

/** Starts `bt seed --json` and resolves with the port it listens on once it is seeding. */
const startSeeder = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bt, "seed", ...args, "--json"], { stdio: ["ignore", "pipe", "inherit"], env })
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

/** Stops the children and waits for them (a seeder saves its resume state as it stops), then removes `work`. */
const cleanUp = async () => {
  await Promise.all([...children].map((child) =>
    new Promise((resolve) => {
      child.once("exit", resolve)
      child.kill("SIGTERM")
    })
  ))
  rmSync(work, { recursive: true, force: true })
}
process.on("SIGINT", () => {
  cleanUp().finally(() => process.exit(130))
})

try {
  // 32 MiB + (16 MiB - 12,345 bytes) + 12,345 bytes: 48 MiB exactly, as bt will report it.
  const files = [["album/track-1.bin", 32 << 20], ["album/track-2.bin", (16 << 20) - 12_345], ["album/notes.txt", 12_345]]
  const total = files.reduce((sum, [, size]) => sum + size, 0)
  step(`making a payload of three files, ${total / 2 ** 20} MiB (${total.toLocaleString("en-US")} bytes), in ${work}`)
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
  // Offline and on loopback only: no trackers, no DHT, no port mapping, no LSD. Over TCP: two bt peers on one machine would otherwise pick
  // uTP, which bt runs at about 0.6x TCP's speed today (see the README's "Not done yet").
  const local = ["--no-trackers", "--no-dht", "--no-port-mapping", "--no-lsd", "--transport", "tcp", "--port", "0"]
  const port = await startSeeder([torrent, "-d", join(work, "seed"), ...local])
  console.log(`seeding on port ${port}`)

  step(`bt download: fetching it from 127.0.0.1:${port}`)
  await run(["download", torrent, "-o", join(work, "download"), "--peer", `127.0.0.1:${port}`, ...local])

  step("checking every byte")
  for (const [path] of files) {
    const same = sha1(join(work, "seed", path)) === sha1(join(work, "download", path))
    console.log(`${same ? "ok " : "BAD"} ${path}`)
    if (!same) throw new Error(`${path} differs`)
  }
  console.log("\nbt works. Next: `bt download --help` (after `npm link`; see the README).")
} catch (error) {
  console.error(`demo failed: ${error.message}`)
  process.exitCode = 1
} finally {
  await cleanUp()
}
