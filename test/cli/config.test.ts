/**
 * The configuration file as a user meets it: `bt config set/get/list/unset`, the precedence file < $BT_KEY < flag
 * (seen in the daemon address `bt list` says it cannot reach: no daemon runs, so each run names the one it tried),
 * and one line naming the file and the key for each way a file can be wrong.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { btAsync, linesOf, workDir } from "./bt.js"
import { CONFIG_KEYS, wordsFor } from "../../src/cli/config.js"
import type { CommandSpec, OptionSpec } from "../../src/cli/spec.js"

const dir = workDir()
const xdg = join(dir, "xdg")
const env = { XDG_CONFIG_HOME: xdg }
const file = join(xdg, "bt", "config.json")

/** The address `bt list` tried (no daemon listens on these ports). */
const triedAddress = async (args: ReadonlyArray<string>, extra: Record<string, string> = {}) => {
  const result = await btAsync(["list", ...args], { cwd: dir, env: { ...env, ...extra } })
  expect(result.code, result.stderr).toBe(1)
  return /cannot reach the daemon at (\S+)/.exec(result.stderr)?.[1]
}

describe("bt config", () => {
  it("set writes the file (owner-only), get and list read it back", { timeout: 90_000 }, async () => {
    expect((await btAsync(["config", "set", "port", "7000"], { cwd: dir, env })).code).toBe(0)
    expect((await btAsync(["config", "set", "dht", "false"], { cwd: dir, env })).code).toBe(0)
    expect((await btAsync(["config", "set", "rpc-auth", "alice:s3cret"], { cwd: dir, env })).code).toBe(0)
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ port: 7000, dht: false, "rpc-auth": "alice:s3cret" })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect((await btAsync(["config", "get", "port"], { cwd: dir, env })).stdout).toBe("7000\n")
    const list = await btAsync(["config", "list"], { cwd: dir, env })
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(/^port +7000$/m)
    expect(list.stdout).toMatch(/^dht +false$/m)
    expect(list.stdout).toMatch(/^rpc-auth +alice:\*+$/m)
    expect(list.stdout).not.toContain("s3cret")
    expect(list.stdout).toMatch(/^upload-limit +-$/m)
  })

  it("unset takes a key away", async () => {
    expect((await btAsync(["config", "unset", "rpc-auth"], { cwd: dir, env })).code).toBe(0)
    const unset = await btAsync(["config", "get", "rpc-auth"], { cwd: dir, env })
    expect(unset.code).toBe(1)
    expect(linesOf(unset.stderr)).toEqual([`bt: rpc-auth is not set (in ${file} or $BT_RPC_AUTH)`])
  })

  it("a value is checked before it is written: one line naming the key, exit 1, the file unchanged", { timeout: 60_000 }, async () => {
    const before = readFileSync(file, "utf8")
    for (
      const [args, message] of [
        [["port", "abc"], `bt: port: expected a whole number from 0 to 65535, got "abc"`],
        [["upload-limit", "fast"], `bt: upload-limit: expected bytes per second as a string, such as "500K" or "4M", got "fast"`],
        [["encryption", "maybe"], `bt: encryption: expected one of "prefer", "require", "disable", got "maybe"`]
      ] as const
    ) {
      const result = await btAsync(["config", "set", ...args], { cwd: dir, env })
      expect(result.code, result.stderr).toBe(1)
      expect(linesOf(result.stderr).length, result.stderr).toBe(1)
      expect(linesOf(result.stderr)[0]).toMatch(typeof message === "string" ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : message)
    }
    // An unknown key: the line names it, the hint says where the keys are (all of them would pass 100 columns).
    const unknown = await btAsync(["config", "set", "colour", "1"], { cwd: dir, env })
    expect(unknown.code, unknown.stderr).toBe(1)
    expect(linesOf(unknown.stderr)).toEqual([`bt: unknown key "colour"`, "try: bt config list (it shows every key)"])
    expect(readFileSync(file, "utf8")).toBe(before)
  })

  // One bt run a test: on a loaded machine each takes seconds. In order: the file first holds `rpc`.
  it("precedence: the file's value when nothing else says", async () => {
    expect((await btAsync(["config", "set", "rpc", "127.0.0.1:1"], { cwd: dir, env })).code).toBe(0)
    expect(await triedAddress([])).toBe("http://127.0.0.1:1/transmission/rpc")
  })

  it("precedence: $BT_KEY over the file", async () => {
    expect(await triedAddress([], { BT_RPC: "127.0.0.1:2" })).toBe("http://127.0.0.1:2/transmission/rpc")
  })

  it("precedence: the flag over $BT_KEY and the file, as --flag VALUE and --flag=VALUE", async () => {
    expect(await triedAddress(["--rpc", "127.0.0.1:3"], { BT_RPC: "127.0.0.1:2" })).toBe("http://127.0.0.1:3/transmission/rpc")
    expect(await triedAddress(["--rpc=127.0.0.1:4"])).toBe("http://127.0.0.1:4/transmission/rpc")
  }, 60_000)

  it("--config and $BT_CONFIG name another file, --config first", { timeout: 60_000 }, async () => {
    const other = join(dir, "other.json")
    writeFileSync(other, JSON.stringify({ rpc: "127.0.0.1:5" }))
    const third = join(dir, "third.json")
    writeFileSync(third, JSON.stringify({ rpc: "127.0.0.1:6" }))
    expect(await triedAddress([], { BT_CONFIG: other })).toBe("http://127.0.0.1:5/transmission/rpc")
    expect(await triedAddress(["--config", third], { BT_CONFIG: other })).toBe("http://127.0.0.1:6/transmission/rpc")
  })

  // A test per case: each runs bt synchronously, and vitest's worker must get a turn between them.
  describe("a bad file stops any command with one line naming the file and the key, exit 1", () => {
    const cases: ReadonlyArray<readonly [string, string | undefined, RegExp]> = [
      ["wrong-type.json", JSON.stringify({ port: "6881" }), /^bt: \S+wrong-type\.json: port: expected a whole number from 0 to 65535, got "6881"$/],
      ["unknown.json", JSON.stringify({ "download-folder": "/tmp" }), /^bt: \S+unknown\.json: unknown key "download-folder"$/],
      ["broken.json", "{ \"port\": 6881,", /^bt: \S+broken\.json: not valid JSON \(/],
      ["array.json", "[1]", /^bt: \S+array\.json: expected a JSON object of settings/],
      ["missing.json", undefined, /^bt: \S+missing\.json \(--config\): no such file$/],
      ["folder.json", "folder", /^bt: \S+folder\.json \(--config\): a folder, not a file$/]
    ]
    for (const [name, text, message] of cases) it(name, async () => {
      const path = join(dir, name)
      if (text === "folder") mkdirSync(path, { recursive: true })
      else if (text !== undefined) writeFileSync(path, text)
      const result = await btAsync(["--config", path, "info", "nothing.torrent"], { cwd: dir, env })
      expect(result.code, `${name}: ${result.stderr}`).toBe(1)
      // An unknown key gets a hint: where the keys are listed.
      expect(linesOf(result.stderr).slice(1), result.stderr).toEqual(name === "unknown.json" ? ["try: bt config list (it shows every key)"] : [])
      expect(linesOf(result.stderr)[0], name).toMatch(message)
    })
  })
})

describe("configuration keys as command-line words", () => {
  const option = (name: string): OptionSpec => ({ name, aliases: [], placeholder: "", description: "", repeatable: false, type: { kind: "text" } } as unknown as OptionSpec)
  const command = (path: string, options: ReadonlyArray<string>): CommandSpec =>
    ({ name: path, path: path.split(" "), description: "", options: options.map(option), args: [], subcommands: [] } as unknown as CommandSpec)
  const key = (name: string) => CONFIG_KEYS.find((k) => k.name === name)!
  const download = command("download", ["--output", "--port", "--no-dht", "--dht-bootstrap"])

  it("a key becomes the option of the commands that take it, unless the line gives it", async () => {
    expect(wordsFor(key("download-dir"), "/data", download, new Set())).toEqual(["--output", "/data"])
    expect(wordsFor(key("download-dir"), "/data", command("daemon", ["--download-dir"]), new Set())).toEqual(["--download-dir", "/data"])
    expect(wordsFor(key("download-dir"), "/data", command("create", ["--output"]), new Set())).toEqual([])
    expect(wordsFor(key("port"), 7000, download, new Set())).toEqual(["--port", "7000"])
    expect(wordsFor(key("port"), 7000, download, new Set(["--port"]))).toEqual([])
    expect(wordsFor(key("port"), 7000, command("dht lookup", ["--port"]), new Set())).toEqual([])
    expect(wordsFor(key("dht"), false, download, new Set())).toEqual(["--no-dht"])
    expect(wordsFor(key("dht"), true, download, new Set())).toEqual([])
    expect(wordsFor(key("dht"), false, download, new Set(["--dht-bootstrap"]))).toEqual([])
  })
})
