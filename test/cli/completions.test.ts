import { describe, expect, it } from "@effect/vitest"
import { spawnSync, type SpawnSyncReturns } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { commands } from "../../src/cli/commands/index.js"
import { loadRoot } from "../../src/cli/root.js"
import { type CommandSpec, commandSpec } from "../../src/cli/spec.js"
import { btAsync, linesOf, workDir } from "./bt.js"

const dir = workDir()
/** Where zsh and fish complete: a folder and a file, so that a folder's completion can be told from a file's. */
const cwd = join(dir, "cwd")
mkdirSync(join(cwd, "a-folder"), { recursive: true })
writeFileSync(join(cwd, "a-file.torrent"), "")

/** A shell that is not there fails the test with what to do (CI installs zsh and fish), never skips it. */
const ran = (shell: string, result: SpawnSyncReturns<string>): SpawnSyncReturns<string> => {
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    throw new Error(`${shell} is not installed: scripts/install-interop-peers.sh installs it (CI runs it)`)
  }
  if (result.error !== undefined) throw result.error
  return result
}

/** `bt completions SHELL`, run once per shell. */
const scripts = new Map<string, Promise<string>>()
const scriptOf = (shell: string): Promise<string> => {
  const known = scripts.get(shell)
  if (known !== undefined) return known
  const script = btAsync(["completions", shell], { cwd: dir }).then((result) => {
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe("")
    return result.stdout
  })
  scripts.set(shell, script)
  return script
}

/**
 * What bt's bash function puts in COMPREPLY for the words typed so far (the last one being completed), given as bash
 * gives them: COMP_WORDS, and COMP_LINE (the words with a space between them unless `line` says how they were typed,
 * as `--encryption=re` for the words `--encryption`, `=`, `re`), the cursor at its end. The real split is readline's:
 * see bashCompletesAll.
 */
const bashCompletes = (script: string, words: ReadonlyArray<string>, line = words.join(" ")): Array<string> => {
  const file = join(dir, "bt.bash")
  writeFileSync(file, script)
  const result = ran("bash", spawnSync("bash", [
    "-c",
    `source "$1"; COMP_LINE=$2; COMP_POINT=\${#2}; shift 2; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ));` +
    ` _bt_bash_completions bt; printf '%s\\n' "\${COMPREPLY[@]}"`,
    "bash",
    file,
    line,
    ...words
  ], { cwd, encoding: "utf8", timeout: 10_000 }))
  expect(result.status, result.stderr).toBe(0)
  return linesOf(result.stdout)
}

/**
 * What fish completes for a line (its last word being completed), bt's script sourced: `candidate\tdescription`
 * lines, in fish's order.
 */
const fishLines = (script: string, line: string): Array<string> => {
  const file = join(dir, "bt.fish")
  writeFileSync(file, script)
  const result = ran(
    "fish",
    spawnSync("fish", ["--no-config", "-c", "source $argv[1]; complete -C $argv[2]", file, line], {
      cwd,
      // fish makes its folders under these even with --no-config: the test's, not the user's.
      env: { ...process.env, XDG_CONFIG_HOME: join(dir, "fish-config"), XDG_DATA_HOME: join(dir, "fish-data") },
      encoding: "utf8",
      timeout: 20_000
    })
  )
  expect(result.status, result.stderr).toBe(0)
  expect(result.stderr).toBe("")
  return linesOf(result.stdout)
}

const fishCompletes = (script: string, line: string): Array<string> =>
  fishLines(script, line).map((candidate) => candidate.split("\t")[0]!)

const zshDriver = fileURLToPath(new URL("zshCompletes.zsh", import.meta.url))

/**
 * What zsh's completion system offers for each line typed at an interactive zsh and a TAB (zshCompletes.zsh drives
 * one zsh in a pseudo-terminal for all the lines): bt's script as `_bt` on $fpath, as the README says, or sourced
 * after compinit. For each line, each match once, in the order the script added them.
 */
const zshCompletesAll = (
  script: string,
  lines: ReadonlyArray<string>,
  how: "fpath" | "source" = "fpath"
): Array<Array<string>> => {
  const folder = join(dir, "zsh-functions")
  mkdirSync(folder, { recursive: true })
  const file = join(folder, "_bt")
  const out = join(dir, "zsh-matches")
  writeFileSync(file, script)
  writeFileSync(out, "")
  const result = ran(
    "zsh",
    spawnSync("zsh", ["-f", zshDriver, how, file, out, ...lines], { cwd, encoding: "utf8", timeout: 28_000 })
  )
  expect(result.status, result.stderr).toBe(0)
  const records = readFileSync(out, "utf8").split("\x1e\n")
  expect(records.pop(), "the driver ends each line's matches with a record separator").toBe("")
  expect(records).toHaveLength(lines.length)
  return records.map((record) => [...new Set(linesOf(record))])
}

const zshCompletes = (script: string, line: string, how: "fpath" | "source" = "fpath"): Array<string> =>
  zshCompletesAll(script, [line], how)[0]!

/** Where the interactive bash completes: files and folders as in `cwd`, and a folder and a file with a `:` in the name. */
const bashCwd = join(dir, "bash-cwd")
mkdirSync(join(bashCwd, "a-folder"), { recursive: true })
mkdirSync(join(bashCwd, "x:y-folder"), { recursive: true })
writeFileSync(join(bashCwd, "a-file.torrent"), "")
writeFileSync(join(bashCwd, "x:z.torrent"), "")

const bashDriver = fileURLToPath(new URL("bashCompletes.py", import.meta.url))

/** What a line typed at an interactive bash became after a TAB, and the candidates bash listed (none when it listed none). */
interface Typed {
  readonly line: string
  readonly listed: ReadonlyArray<string>
}

/**
 * Each line typed at an interactive bash, bt's script sourced, and a TAB (bashCompletes.py drives one bash in a
 * pseudo-terminal for all the lines): readline splits the words at COMP_WORDBREAKS as it does for a person.
 */
const bashCompletesAll = (script: string, lines: ReadonlyArray<string>): Array<Typed> => {
  const file = join(dir, "bt-interactive.bash")
  writeFileSync(file, script)
  const result = ran(
    "python3",
    spawnSync("/usr/bin/python3", [bashDriver, file, ...lines], { cwd: bashCwd, encoding: "utf8", timeout: 28_000 })
  )
  expect(result.status, result.stderr).toBe(0)
  const typed = JSON.parse(result.stdout) as Array<Typed>
  expect(typed).toHaveLength(lines.length)
  return typed
}

type Shell = "bash" | "fish" | "zsh"

/**
 * The candidates an interactive bash offered for `line`: those it listed, or the one word it put in place of the last
 * word typed (the line's last word after the TAB), or none when the line stayed as typed.
 */
const offeredBy = (line: string, typed: Typed): Array<string> => {
  if (typed.listed.length > 0) return [...typed.listed]
  if (typed.line === line) return []
  expect(typed.line.startsWith(line.slice(0, line.lastIndexOf(" ") + 1)), typed.line).toBe(true)
  return [typed.line.trimEnd().slice(line.lastIndexOf(" ") + 1)]
}

/** What `shell` completes for each line (for bash, an interactive bash given the line and a TAB). */
const completesAll = async (shell: Shell, lines: ReadonlyArray<string>): Promise<Array<Array<string>>> => {
  const script = await scriptOf(shell)
  switch (shell) {
    case "bash":
      return bashCompletesAll(script, lines).map((typed, i) => offeredBy(lines[i]!, typed))
    case "fish":
      return lines.map((line) => fishCompletes(script, line))
    case "zsh":
      return zshCompletesAll(script, lines)
  }
}

/** Lines typed and what each completes to, in any order, in bash, fish and zsh alike. */
const cases: ReadonlyArray<readonly [line: string, expected: ReadonlyArray<string>]> = [
  ["bt dow", ["download"]],
  ["bt compl", ["completions"]],
  ["bt dht look", ["lookup"]],
  // `bt config list` and `bt list` are different commands.
  ["bt config l", ["list"]],
  ["bt list --js", ["--json"]],
  ["bt download --encr", ["--encryption"]],
  ["bt download --log-l", ["--log-level"]],
  // `bt --wizard` is in bt's help; --completions is not (bt completions is).
  ["bt --w", ["--wizard"]],
  ["bt --comp", []],
  ["bt download --wiz", []],
  // An option's values where it has a known set, after the option and after the command's argument alike.
  ["bt download a-file.torrent --encryption ", ["prefer", "require", "disable"]],
  ["bt download --log-level ", ["debug", "info", "warning", "error"]],
  ["bt --log-format ", ["text", "json"]],
  // An option's value is no command word: the command is still `download`, not `list`, and the root's value skipped.
  ["bt download --output list --rp", []],
  ["bt download --output list --enc", ["--encryption"]],
  ["bt --log-level debug dow", ["download"]],
  // No file where a command takes no word (the folder the tests complete in holds a file and a folder).
  ["bt list ", []],
  ["bt config list ", []]
]

const sorted = (words: ReadonlyArray<string>) => [...words].sort()

/** A command's options: its own and those every command takes, none of @effect/cli's built-ins. */
const expectDownloadOptions = (options: ReadonlyArray<string>) => {
  expect(options).toContain("--encryption")
  expect(options).toContain("--sequential")
  expect(options).toContain("--log-level")
  expect(options).toContain("--help")
  expect(options).not.toContain("--completions")
  expect(options).not.toContain("--wizard")
  expect(options).not.toContain("--rpc")
}

/** The options every command takes, as `bt --help` lists them under "More". */
const everyCommandTakes = ["--help", "--log-level", "--log-file", "--log-format", "--log-max-size", "--quiet", "--config"]

describe.each<Shell>(["bash", "fish", "zsh"])("bt completions in %s", (shell) => {
  /** All the cases' lines, completed in one go (for zsh, one shell for them all). */
  let completed: Promise<Array<Array<string>>> | undefined
  it.each(cases)("%j completes to %j", async (line, expected) => {
    completed ??= completesAll(shell, cases.map(([typed]) => typed))
    const index = cases.findIndex(([typed]) => typed === line)
    expect(sorted((await completed)[index]!)).toEqual(sorted(expected))
  }, 60_000)

  it("every command: its own options and those every command takes, and its subcommands, as the definitions say", async () => {
    const { root } = await loadRoot(Object.values(commands))
    const all = (command: CommandSpec): Array<CommandSpec> => [command, ...command.subcommands.flatMap(all)]
    const below = all(commandSpec(root.descriptor)).filter((command) => command.path.length > 0)
    const lines = below.flatMap((command) => [`bt ${command.path.join(" ")} --`, `bt ${command.path.join(" ")} `])
    const results = await completesAll(shell, lines)
    below.forEach((command, i) => {
      const options = [...command.options.map((option) => option.name), ...everyCommandTakes]
      expect(sorted(results[2 * i]!), `bt ${command.path.join(" ")} --`).toEqual(sorted([...new Set(options)]))
      // A command's words: its subcommands; nothing where it takes none (files where it takes an argument).
      if (command.subcommands.length === 0 && command.args.length > 0) return
      expect(sorted(results[2 * i + 1]!), `bt ${command.path.join(" ")} `).toEqual(
        sorted(command.subcommands.map((sub) => sub.name))
      )
    })
  }, 60_000)
})

describe("bt completions in fish", () => {
  it("offers a command's options and those every command takes, each with its description", async () => {
    const script = await scriptOf("fish")
    expectDownloadOptions(fishCompletes(script, "bt download --"))
    expect(fishLines(script, "bt dow")).toEqual([expect.stringMatching(/^download\tDownload a torrent/)])
    expect(fishLines(script, "bt download --encr")).toEqual([expect.stringMatching(/^--encryption\tMSE\/PE with peers/)])
    // Values bare: the option's long description stays with the option.
    expect(fishLines(script, "bt download --encryption ")).toEqual(["disable", "prefer", "require"])
  })

  it("completes a folder for a folder's option and files for a command's argument", async () => {
    const script = await scriptOf("fish")
    expect(fishCompletes(script, "bt download a-file.torrent --output ")).toEqual(["a-folder/"])
    expect(fishCompletes(script, "bt download a-file.torrent -o ")).toEqual(["a-folder/"])
    expect(sorted(fishCompletes(script, "bt download "))).toEqual(["a-file.torrent", "a-folder/"])
  })
})

describe("bt completions in zsh", () => {
  it("offers a command's options and those every command takes", async () => {
    expectDownloadOptions(zshCompletes(await scriptOf("zsh"), "bt download --"))
  })

  it("completes a folder for a folder's option and files for a command's argument", async () => {
    const script = await scriptOf("zsh")
    expect(zshCompletes(script, "bt download a-file.torrent --output ")).toEqual(["a-folder"])
    expect(zshCompletes(script, "bt download a-file.torrent -o ")).toEqual(["a-folder"])
    expect(sorted(zshCompletes(script, "bt download "))).toEqual(["a-file.torrent", "a-folder"])
  })

  it("completes an option's value joined to it by =, as fish does", async () => {
    const script = await scriptOf("zsh")
    const [joined, folder, free, fishJoined] = [
      ...zshCompletesAll(script, ["bt download --encryption=re", "bt download --output=a-", "bt download --port="]),
      fishCompletes(await scriptOf("fish"), "bt download --encryption=re")
    ]
    expect(joined).toEqual(["require"])
    expect(folder).toEqual(["a-folder"])
    expect(free).toEqual([])
    expect(fishJoined).toEqual(["--encryption=require"])
  })

  it("completes when the script is sourced after compinit rather than found on $fpath", async () => {
    const script = await scriptOf("zsh")
    expect(zshCompletes(script, "bt dow", "source")).toEqual(["download"])
    expect(zshCompletes(script, "bt download --encryption ", "source")).toEqual(["prefer", "require", "disable"])
  })
})

describe("bt completions in an interactive bash, the line split by readline", () => {
  const hash = "0123456789abcdef0123456789abcdef01234567"
  /** Each line typed and a TAB: what it became, and what bash listed. */
  const typed: ReadonlyArray<readonly [line: string, became: string, listed: ReadonlyArray<string>]> = [
    // A command, and a command's option.
    ["bt dow", "bt download ", []],
    ["bt dht look", "bt dht lookup ", []],
    ["bt download --encr", "bt download --encryption ", []],
    // An option's value after a space, and after = (readline's word is the part after the =).
    ["bt download --encryption ", "bt download --encryption ", ["disable", "prefer", "require"]],
    ["bt download --encryption re", "bt download --encryption require ", []],
    ["bt download --encryption=re", "bt download --encryption=require ", []],
    ["bt download --encryption=", "bt download --encryption=", ["disable", "prefer", "require"]],
    ["bt --log-level=de", "bt --log-level=debug ", []],
    ["bt download --port=", "bt download --port=", []],
    // A folder option's value after =, and a folder whose name holds a `:` (a break for readline too).
    // A folder gets a / after it, not a space, its name with a `:` or not.
    ["bt download --output=a-", "bt download --output=a-folder/", []],
    ["bt download --output=x:", "bt download --output=x:y-folder/", []],
    ["bt download --output x:", "bt download --output x:y-folder/", []],
    // A file argument, its name with a `:` or not.
    ["bt download a-", "bt download a-f", ["a-file.torrent", "a-folder/"]],
    ["bt download a-fo", "bt download a-folder/", []],
    ["bt download a-file", "bt download a-file.torrent ", []],
    ["bt download x:z", "bt download x:z.torrent ", []],
    // Listed, names show as readline shows them: the part after the `:` (and no / after a folder's there).
    ["bt download x:", "bt download x:", ["y-folder", "z.torrent"]],
    // The cursor moved back into a word (^B): what is before the cursor is completed, what is after it stays.
    ["bt download --encX\x02", "bt download --encryptionX", []],
    ["bt download --encryption=reX\x02", "bt download --encryption=requireX", []],
    ["bt download --encr --port 1" + "\x02".repeat(9), "bt download --encryption --port 1", []],
    // A host:port word before the cursor: still download's options.
    ["bt download --peer 127.0.0.1:6881 --enc", "bt download --peer 127.0.0.1:6881 --encryption ", []],
    ["bt download --peer=127.0.0.1:6881 --encryption=re", "bt download --peer=127.0.0.1:6881 --encryption=require ", []],
    ["bt download --peer 127.0.0.1:", "bt download --peer 127.0.0.1:", []],
    // A magnet link: the word itself is left as typed; after it, the command is still download.
    [`bt download magnet:?xt=urn:btih:${hash}`, `bt download magnet:?xt=urn:btih:${hash}`, []],
    [`bt download magnet:?xt=urn:btih:${hash} --encryption=re`, `bt download magnet:?xt=urn:btih:${hash} --encryption=require `, []],
    [`bt download 'magnet:?xt=urn:btih:${hash}&dn=x' --enc`, `bt download 'magnet:?xt=urn:btih:${hash}&dn=x' --encryption `, []]
  ]
  let completed: Promise<Array<Typed>> | undefined
  it.each(typed)("%j becomes %j, listing %j", async (line, became, listed) => {
    completed ??= scriptOf("bash").then((script) => bashCompletesAll(script, typed.map(([line]) => line)))
    const index = typed.findIndex(([each]) => each === line)
    const result = (await completed)[index]!
    expect(result.line).toBe(became)
    expect(sorted(result.listed)).toEqual(sorted(listed))
  }, 60_000)

  it("lists a command's options, after a host:port word and after a magnet link alike", async () => {
    const [plain, afterPeer, afterMagnet] = bashCompletesAll(await scriptOf("bash"), [
      "bt download --",
      "bt download --peer=127.0.0.1:6881 --",
      `bt download magnet:?xt=urn:btih:${hash} --`
    ])
    expectDownloadOptions(plain!.listed)
    expect(afterPeer!.listed).toEqual(plain!.listed)
    expect(afterMagnet!.listed).toEqual(plain!.listed)
    expect(afterMagnet!.line).toBe(`bt download magnet:?xt=urn:btih:${hash} --`)
  }, 60_000)
})

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
    // --option=value, in the words bash splits it into (= is in COMP_WORDBREAKS).
    const joined = (line: string) => bashCompletes(result.stdout, line.split(/(?<=[=:])|(?=[=:])| /), line)
    expect(joined("bt download --encryption=re")).toEqual(["require"])
    expect(joined("bt download --encryption=")).toEqual(["prefer", "require", "disable"])
    expect(joined("bt download --port=")).toEqual([])
    // Where COMP_WORDBREAKS has no = (a user's choice), the word is readline's whole word, the option and all.
    const whole = (line: string) => bashCompletes(result.stdout, line.split(" "), line)
    expect(whole("bt download --encryption=re")).toEqual(["--encryption=require"])
    expect(whole("bt download --output=a-")).toEqual(["--output=a-folder"])
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
    expect(fish.stdout).toMatch(/^complete -c bt -n '__bt_using \\'download\\'' -l encryption -x -a 'prefer\\\\t require\\\\t disable\\\\t' /m)
  })

  it("zsh and fish: scripts for their completion systems, naming the commands", async () => {
    const zsh = await btAsync(["completions", "zsh"], { cwd: dir })
    expect(zsh.code, zsh.stderr).toBe(0)
    expect(zsh.stdout.split("\n")[0]).toBe("#compdef bt")
    expect(zsh.stdout).toContain("'download:")
    const fish = await btAsync(["completions", "fish"], { cwd: dir })
    expect(fish.code, fish.stderr).toBe(0)
    expect(fish.stdout).toMatch(/^complete -c bt .*-a 'download'/m)
    expect(fish.stdout).toMatch(/-l encryption/)
  })

  it("an unknown shell is one line naming it, exit 1, nothing on stdout", async () => {
    const result = await btAsync(["completions", "tcsh"], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(linesOf(result.stderr)).toEqual(["bt: completions for 'tcsh': not a shell bt knows (bash, zsh or fish)"])
  })
})
