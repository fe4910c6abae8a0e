import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { bt, btBin, workDir } from "./bt.js"

const dir = workDir()
const COMMANDS = [
  "download", "stream", "seed", "create", "verify", "info", "magnet", "peers", "dht", "dht lookup", "daemon", "add", "list",
  "start", "stop", "recheck", "remove", "config", "config get", "config set", "config unset", "config list", "config path",
  "completions"
]

const help = (words: ReadonlyArray<string>) => {
  const result = bt([...words, "--help"], { cwd: dir })
  return { ...result, context: `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}` }
}

describe("help", () => {
  it("bt --help lists every command on a line of its own, within 100 columns, without escapes in a pipe", () => {
    const { code, context, stdout } = help([])
    expect(code, context).toBe(0)
    for (const command of COMMANDS.filter((c) => !c.includes(" "))) {
      expect(stdout, context).toMatch(new RegExp(`^  ${command} +\\S`, "m"))
    }
    expect(stdout, context).not.toContain("\x1b")
    for (const line of stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100)
  })

  for (const command of COMMANDS) {
    it(`bt ${command} --help reads as a person would want it`, () => {
      const words = command.split(" ")
      const { code, context, stdout } = help(words)
      expect(code, context).toBe(0)
      expect(stdout, context).not.toContain("\x1b")
      for (const line of stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100)
      expect(stdout, context).toMatch(new RegExp(`^  bt ${command}( |$)`, "m"))
      expect(stdout, context).toMatch(/^Examples$/m)
      // @effect/cli's filler and built-ins, once on every command, are gone.
      expect(stdout, context).not.toMatch(/A user-defined piece of text|This setting is optional|--wizard|--completions/)
    })
  }

  /** The entry of an option: its line, and the lines of its description below it. */
  const entryOf = (text: string, label: string): string => {
    const start = text.indexOf(`  ${label}`)
    const end = text.slice(start + 2).search(/\n  -|\n\n/)
    return start < 0 ? "" : text.slice(start, end < 0 ? undefined : start + 2 + end).replace(/\s+/g, " ")
  }

  it("shows the defaults, and repeatable options as repeatable rather than required", () => {
    const { stdout } = help(["download"])
    expect(entryOf(stdout, "--port N")).toMatch(/default: 6881/)
    expect(entryOf(stdout, "--encryption prefer|require|disable")).toMatch(/default: prefer/)
    expect(entryOf(stdout, "--transport both|tcp|utp")).toMatch(/default: both/)
    expect(entryOf(stdout, "--max-peers N")).toMatch(/default: 50/)
    expect(stdout).toMatch(/--peer HOST:PORT \.\.\. /)
    expect(stdout).toMatch(/^  bt download <torrent> \[options\]$/m)
    // The common options come first.
    expect(stdout.indexOf("--output")).toBeLessThan(stdout.indexOf("--max-peers"))
  })

  it("bt help COMMAND is bt COMMAND --help", () => {
    const result = bt(["help", "seed"], { cwd: dir })
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(help(["seed"]).stdout)
  })

  it("shows a command's help whatever else is on the line", () => {
    const { code, stdout } = help(["download", "--port", "abc"])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^  bt download <torrent>/m)
  })
})

describe("help on a terminal", () => {
  /** Runs `bt --help` on a pseudo-terminal (util-linux `script`), with `env` added. */
  const onTerminal = (env: string) => {
    const command = `env ${env} ${JSON.stringify(process.execPath)} ${JSON.stringify(btBin)} --help`
    const result = spawnSync("script", ["-qec", command, "/dev/null"], { cwd: dir, encoding: "utf8", timeout: 60_000 })
    return { code: result.status, stdout: result.stdout }
  }

  it("uses bold headings on a terminal, and none with NO_COLOR set", () => {
    const coloured = onTerminal("TERM=xterm")
    expect(coloured.code, coloured.stdout).toBe(0)
    expect(coloured.stdout).toContain("\x1b[1mCommands\x1b[0m")
    const plain = onTerminal("TERM=xterm NO_COLOR=1")
    expect(plain.code, plain.stdout).toBe(0)
    expect(plain.stdout).toContain("Commands")
    expect(plain.stdout).not.toContain("\x1b")
  })
})
