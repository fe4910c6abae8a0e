/**
 * The root command, built from the commands a command line needs (commands/index.ts loads each on demand).
 */
import * as Command from "@effect/cli/Command"
import { commands, isCommandName, type Load } from "./commands/index.js"
import type { HelpExtras } from "./help.js"

/** The options before a command that take a value (`--log-level debug`, `--config FILE`, …). */
const TAKES_VALUE = new Set(["--log-level", "--config", "--log-file", "--log-format", "--log-max-size"])

/**
 * The commands this command line needs: the one it names (`bt info x.torrent`, `bt seed --help`), or all of them
 * when it names none that exists (`bt`, `bt --help`, a mistyped command, `--completions`), for the help and the
 * suggestions, and for `bt completions`, which describes them all. The first word that is not an option names it
 * (the values of `--log-level` and of the options every command takes are skipped).
 */
export const needed = (argv: ReadonlyArray<string>): ReadonlyArray<Load> => {
  const words = argv.slice(2)
  const delegated = words.some((word) => word.startsWith("--completions") || word.startsWith("--wizard"))
  const named = words.find((word, i) => !word.startsWith("-") && !TAKES_VALUE.has(words[i - 1] ?? ""))
  return !delegated && named !== undefined && named !== "completions" && isCommandName(named)
    ? [commands[named]]
    : Object.values(commands)
}

/** `bt` with the given commands as its subcommands, and their help extras. */
export const loadRoot = async (loads: ReadonlyArray<Load>) => {
  // `bt completions` describes the whole command: it is handed the root, once built.
  let root: Command.Command<any, any, any, any> | undefined
  const loaded = await Promise.all(loads.map((load) => load(() => root!)))
  const [first, ...more] = loaded.map((l) => l.command)
  const built = Command.make("bt").pipe(
    Command.withDescription("a BitTorrent client."),
    Command.withSubcommands([first!, ...more])
  )
  root = built
  const extras: HelpExtras = Object.assign({}, ...loaded.map((l) => l.extras))
  return { root: built, extras }
}
