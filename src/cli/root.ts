/**
 * The root command, built from the commands a command line needs (commands/index.ts loads each on demand).
 */
import * as Command from "@effect/cli/Command"
import { commands, isCommandName, type Loaded } from "./commands/index.js"
import type { HelpExtras } from "./help.js"

export const VERSION = "0.1.0"

/**
 * The commands this command line needs: the one it names (`bt info x.torrent`, `bt seed --help`), or all of them
 * when it names none that exists (`bt`, `bt --help`, a mistyped command, `--completions`), for the help and the
 * suggestions. The first word that is not an option names it (the value of `--log-level` is skipped).
 */
export const needed = (argv: ReadonlyArray<string>): ReadonlyArray<() => Promise<Loaded>> => {
  const words = argv.slice(2)
  const delegated = words.some((word) => word.startsWith("--completions") || word.startsWith("--wizard"))
  const named = words.find((word, i) => !word.startsWith("-") && words[i - 1] !== "--log-level")
  return !delegated && named !== undefined && isCommandName(named) ? [commands[named]] : Object.values(commands)
}

/** `bt` with the given commands as its subcommands, and their help extras. */
export const loadRoot = async (loads: ReadonlyArray<() => Promise<Loaded>>) => {
  const loaded = await Promise.all(loads.map((load) => load()))
  const [first, ...more] = loaded.map((l) => l.command)
  const root = Command.make("bt").pipe(
    Command.withDescription("a BitTorrent client."),
    Command.withSubcommands([first!, ...more])
  )
  const extras: HelpExtras = Object.assign({}, ...loaded.map((l) => l.extras))
  return { root, extras }
}
