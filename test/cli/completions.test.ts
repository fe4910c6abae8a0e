import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { btAsync, linesOf, workDir } from "./bt.js"

const dir = workDir()

/** What bash completes for the words typed so far (the last one being completed), with bt's script loaded. */
const bashCompletes = (script: string, words: ReadonlyArray<string>): Array<string> => {
  const file = join(dir, "bt.bash")
  writeFileSync(file, script)
  const result = spawnSync("bash", [
    "-c",
    `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _bt_bash_completions bt; printf '%s\\n' "\${COMPREPLY[@]}"`,
    "bash",
    file,
    ...words
  ], { encoding: "utf8", timeout: 10_000 })
  expect(result.status, result.stderr).toBe(0)
  return linesOf(result.stdout)
}

describe("bt completions", () => {
  it("bash: completes commands and a command's options from the same definitions the parser uses", async () => {
    const result = await btAsync(["completions", "bash"], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe("")
    expect(bashCompletes(result.stdout, ["bt", "dow"])).toEqual(["download"])
    expect(bashCompletes(result.stdout, ["bt", "compl"])).toEqual(["completions"])
    expect(bashCompletes(result.stdout, ["bt", "download", "--encr"])).toEqual(["--encryption"])
    expect(bashCompletes(result.stdout, ["bt", "dht", "look"])).toEqual(["lookup"])
  })

  it("bash: offers what the help shows: a command's options and those every command takes, not @effect/cli's", async () => {
    const result = await btAsync(["completions", "bash"], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    const options = bashCompletes(result.stdout, ["bt", "download", "--"])
    expect(options).toContain("--encryption")
    expect(options).toContain("--log-level")
    expect(options).toContain("--help")
    expect(options).not.toContain("--completions")
    expect(options).not.toContain("--wizard")
    // `bt --wizard` is in bt's help; --completions is not (bt completions is).
    expect(bashCompletes(result.stdout, ["bt", "--w"])).toEqual(["--wizard"])
    expect(bashCompletes(result.stdout, ["bt", "--comp"])).toEqual([])
    // An option's values where it has a known set, after the option and after the command's argument alike.
    expect(bashCompletes(result.stdout, ["bt", "download", "x.torrent", "--encryption", ""])).toEqual(["prefer", "require", "disable"])
    expect(bashCompletes(result.stdout, ["bt", "download", "--log-level", ""])).toEqual(["debug", "info", "warning", "error"])
    // `bt config list` and `bt list` are different commands.
    expect(bashCompletes(result.stdout, ["bt", "config", "l"])).toEqual(["list"])
    expect(bashCompletes(result.stdout, ["bt", "list", "--js"])).toEqual(["--json"])
  })

  it("zsh and fish: our options in the help's words, none of @effect/cli's built-ins", async () => {
    for (const shell of ["zsh", "fish"]) {
      const result = await btAsync(["completions", shell], { cwd: dir })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout, shell).not.toMatch(/--completions|-l completions/)
      expect(result.stdout, shell).not.toMatch(/user-defined|This setting is optional/i)
      expect(result.stdout, shell).toMatch(/MSE\/PE with peers: prefer/)
    }
    const fish = await btAsync(["completions", "fish"], { cwd: dir })
    // --wizard at the top only, as the help shows it.
    expect(fish.stdout.match(/-l wizard/g)).toHaveLength(1)
    expect(fish.stdout).toMatch(/^complete -c bt -n '__fish_seen_subcommand_from download' -l encryption -x -a 'prefer require disable' /m)
  })

  it("zsh and fish: scripts for their completion systems, naming the commands", async () => {
    const zsh = await btAsync(["completions", "zsh"], { cwd: dir })
    expect(zsh.code, zsh.stderr).toBe(0)
    expect(zsh.stdout.split("\n")[0]).toBe("#compdef bt")
    expect(zsh.stdout).toContain("'download:")
    const fish = await btAsync(["completions", "fish"], { cwd: dir })
    expect(fish.code, fish.stderr).toBe(0)
    expect(fish.stdout).toMatch(/^complete -c bt .*-a "download"/m)
    expect(fish.stdout).toMatch(/-l encryption/)
  })

  it("an unknown shell is one line naming it, exit 1, nothing on stdout", async () => {
    const result = await btAsync(["completions", "tcsh"], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(linesOf(result.stderr)).toEqual(["bt: completions for 'tcsh': not a shell bt knows (bash, zsh or fish)"])
  })
})
