/**
 * `bt --help` and `bt COMMAND --help`, rendered from the command definitions (spec.ts) plus what only a person needs:
 * examples, and which options are the common ones. Plain text no wider than 100 columns; bold headings only on a
 * terminal that wants colour.
 */
import type { ArgSpec, CommandSpec, OptionSpec } from "./spec.js"

/** What a command adds to its definition for the help: how it is used, and the options most people need. */
export interface CommandHelp {
  /** Command lines, each shown as given (`bt download ubuntu.torrent -o ~/Downloads`), with an optional comment. */
  readonly examples?: ReadonlyArray<readonly [command: string, comment?: string]>
  /** The options shown first, under "Options" (by name, `--output`); the rest go under "More options". */
  readonly common?: ReadonlyArray<string>
}

/** Help extras by command path: `"download"`, `"dht lookup"`. */
export type HelpExtras = Readonly<Record<string, CommandHelp>>

export const WIDTH = 100
const COLUMN = 26

/** Breaks `text` into lines of at most `width` characters, at spaces (a longer word gets a line of its own). */
export const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  for (const paragraph of text.split("\n")) {
    let line = ""
    for (const word of paragraph.split(/\s+/).filter((w) => w !== "")) {
      if (line === "") line = word
      else if (line.length + 1 + word.length <= width) line += ` ${word}`
      else {
        lines.push(line)
        line = word
      }
    }
    lines.push(line)
  }
  return lines
}

/** A label and its text in two columns; the text wrapped, on the next line when the label is too long. */
const entry = (label: string, text: string, column = COLUMN): Array<string> => {
  const indent = " ".repeat(column)
  const body = wrap(text, WIDTH - column)
  const first = `  ${label}`
  if (first.length + 2 > column) return [first, ...body.map((line) => indent + line)]
  return [first.padEnd(column) + body[0], ...body.slice(1).map((line) => indent + line)]
}

const optionLabel = (option: OptionSpec): string => {
  const names = [...option.aliases, option.name].join(", ")
  const value = option.placeholder === "" ? "" : ` ${option.placeholder}`
  return `${names}${value}${option.repeatable ? " ..." : ""}`
}

const optionText = (option: OptionSpec): string => {
  const extras: Array<string> = []
  if (option.defaultValue !== undefined && !/default/i.test(option.description)) {
    extras.push(`default: ${option.defaultValue}`)
  }
  if (option.repeatable && !/repeatable/i.test(option.description)) extras.push("repeatable")
  return extras.length === 0 ? option.description : `${option.description} [${extras.join("; ")}]`
}

const argLabel = (arg: ArgSpec): string => {
  const name = `<${arg.name}>${arg.repeatable ? "..." : ""}`
  return arg.optional ? `[${name}]` : name
}

/** The first sentence of a description: the one-line summary in a list of commands. */
export const firstSentence = (text: string): string => {
  const match = /^(.*?[a-z)][.])(\s|$)/.exec(text)
  return (match?.[1] ?? text).replace(/[.]$/, "")
}

export interface Style {
  readonly heading: (text: string) => string
}

export const plainStyle: Style = { heading: (text) => text }
export const ttyStyle: Style = { heading: (text) => `\x1b[1m${text}\x1b[0m` }

/** Bold headings on a terminal, unless NO_COLOR is set. */
export const terminalStyle = (): Style =>
  process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === "" ? ttyStyle : plainStyle

/** The help of `command` (found below `root`). */
export const renderHelp = (
  root: CommandSpec,
  command: CommandSpec,
  extras: HelpExtras,
  version: string,
  style: Style = plainStyle
): string => {
  const program = root.name
  const words = [program, ...command.path].join(" ")
  const extra = extras[command.path.join(" ")] ?? {}
  const out: Array<string> = []
  const section = (title: string, lines: ReadonlyArray<string>) => {
    if (lines.length === 0) return
    out.push("", style.heading(title), ...lines)
  }

  if (command.path.length === 0) out.push(`${program} ${version}: ${command.description}`)
  else out.push(...wrap(`${words}: ${command.description}`, WIDTH))

  if (command.subcommands.length > 0) {
    section("Usage", [`  ${words} <command> [options]`])
    section(
      "Commands",
      command.subcommands.flatMap((sub) =>
        entry(sub.name, firstSentence(sub.description), 6 + Math.max(...command.subcommands.map((c) => c.name.length)))
      )
    )
  } else {
    const args = command.args.map(argLabel).join(" ")
    section("Usage", [`  ${words}${args === "" ? "" : ` ${args}`}${command.options.length > 0 ? " [options]" : ""}`])
    section("Arguments", command.args.flatMap((arg) => entry(argLabel(arg), arg.description)))
    const common = new Set(extra.common ?? command.options.map((option) => option.name))
    const first = command.options.filter((option) => common.has(option.name))
    const rest = command.options.filter((option) => !common.has(option.name))
    section("Options", first.flatMap((option) => entry(optionLabel(option), optionText(option))))
    section(first.length === 0 ? "Options" : "More options", rest.flatMap((option) => entry(optionLabel(option), optionText(option))))
  }
  section(
    "Examples",
    (extra.examples ?? []).flatMap(([line, comment]) => [
      ...(comment === undefined ? [] : wrap(`# ${comment}`, WIDTH - 2).map((text) => `  ${text}`)),
      `  ${line}`
    ])
  )
  if (command.subcommands.length > 0) {
    section("More", [
      ...wrap(`\`${words} <command> --help\` shows a command's options and examples.`, WIDTH - 2).map((l) => `  ${l}`),
      ...(command.path.length === 0
        ? wrap(
          `Also: ${program} --version; ${program} completions bash|zsh|fish prints a completion script; ` +
            `--log-level debug|info|warning|error after any command shows that much of the log; ` +
            `--log-file FILE writes the log there (--log-format json for JSON lines, --log-max-size 10M to rotate); ` +
            `--quiet shows errors and the final summary only; --config FILE reads defaults from FILE ` +
            `(default ~/.config/bt/config.json; see ${program} config); ` +
            `${program} --wizard builds a command line step by step.`,
          WIDTH - 2
        ).map((l) => `  ${l}`)
        : [])
    ])
  }
  return out.join("\n")
}
