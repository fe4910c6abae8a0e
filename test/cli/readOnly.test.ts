/**
 * A command that only looks writes nothing: not in the state folder (resume files, the DHT's routing table), not
 * in the home folder, not next to the torrent.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { bt, workDir } from "./bt.js"

const dir = workDir()
mkdirSync(join(dir, "data"))
writeFileSync(join(dir, "data", "payload.bin"), Buffer.alloc(100_000, 3))
const made = bt(["create", "data/payload.bin", "-o", "payload.torrent", "--tracker", "http://127.0.0.1:1/announce"], { cwd: dir })
if (made.code !== 0) throw new Error(`bt create failed: ${made.stderr}`)

/** Every file and folder under `root`, with its modification time. */
const snapshot = (root: string): Record<string, number> => {
  const out: Record<string, number> = {}
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name)
      const stat = statSync(path)
      out[relative(root, path)] = stat.mtimeMs
      if (stat.isDirectory()) walk(path)
    }
  }
  walk(root)
  return out
}

describe("commands that only look write nothing", () => {
  const state = join(dir, "state")
  mkdirSync(state)
  // A routing table a download left: a lookup starts from it and must leave it as it was.
  writeFileSync(join(state, "dht.table"), "saved by an earlier run")
  const home = join(dir, "home")
  mkdirSync(home)
  const env = { BT_STATE_DIR: state, HOME: home, XDG_STATE_HOME: "", XDG_CACHE_HOME: "" }

  const cases: ReadonlyArray<ReadonlyArray<string>> = [
    ["info", "payload.torrent"],
    ["magnet", "payload.torrent"],
    ["verify", "payload.torrent", "-d", "data"],
    ["peers", "payload.torrent", "--timeout", "2"],
    // Its bootstrap node does not answer: the lookup ends with no nodes, and the saved table stays.
    ["dht", "lookup", "0123456789abcdef0123456789abcdef01234567", "--dht-bootstrap", "127.0.0.1:9", "--port", "0"]
  ]
  for (const args of cases) {
    it(`bt ${args.join(" ")}`, () => {
      const before = snapshot(dir)
      const result = bt(args, { cwd: dir, env })
      expect(result.stderr, result.stderr).not.toMatch(/internal error/)
      expect(snapshot(dir), `exit ${result.code}\n${result.stdout}\n${result.stderr}`).toEqual(before)
    })
  }
})
