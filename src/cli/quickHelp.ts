/**
 * `bt --help`, `bt COMMAND --help`, `bt help COMMAND` and `bt --version` without loading any command: answered
 * from a snapshot of the commands' definitions (spec.ts) taken when the CLI is bundled (scripts/build-cli.mjs), so
 * the help costs no more than Node's own start. Only these exact command lines: anything else goes to run.ts,
 * which answers the same from the definitions themselves.
 */
import { type HelpExtras, renderHelp, type Style } from "./help.js"
import type { CommandSpec } from "./spec.js"

export interface HelpSnapshot {
  readonly version: string
  readonly root: CommandSpec
  readonly extras: HelpExtras
}

const isHelp = (word: string | undefined) => word === "--help" || word === "-h"

/** What to print for `words` (the command line after `bt`), or undefined when it asks for more than help. */
export const quickHelp = (snapshot: HelpSnapshot, words: ReadonlyArray<string>, style: Style): string | undefined => {
  const { extras, root, version } = snapshot
  const [first, second] = words
  if (words.length === 0 || (words.length === 1 && (isHelp(first) || first === "help"))) {
    return renderHelp(root, root, extras, version, style)
  }
  if (words.length === 1 && first === "--version") return `${root.name} ${version}`
  if (words.length !== 2) return undefined
  const name = isHelp(second) ? first : first === "help" ? second : undefined
  const command = root.subcommands.find((c) => c.name === name)
  return command === undefined ? undefined : renderHelp(root, command, extras, version, style)
}
