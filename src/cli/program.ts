/**
 * Runs a command line: finds the command, answers `--help` and `--version`, checks the options against what the
 * command declares (spec.ts), lets @effect/cli parse, and runs the command's handler. Every way the line can be
 * wrong ends as one `UsageError` in our words, with a hint naming the command's help; nothing is printed here but
 * help and the version (the caller reports errors: see run.ts).
 *
 * A new command needs nothing here: add it to the root's subcommands (its options and arguments are read from its
 * definition) and, for its help, give examples and its common options in the `HelpExtras`.
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { type HelpExtras, plainStyle, renderHelp, type Style, WIDTH } from "./help.js"
import { type CommandSpec, commandSpec, docText, type OptionSpec } from "./spec.js"
import { type CommandFailed, UsageError } from "./UsageError.js"

export interface Program<Name extends string, R, E> {
  readonly root: Command.Command<Name, R, E, any>
  readonly version: string
  readonly extras: HelpExtras
  /** How headings are shown in the help (bold on a terminal). */
  readonly style?: Style
  /** Whether stdin and stdout are a terminal, where `--wizard` can ask its questions (default true). */
  readonly interactive?: boolean
  /**
   * Options any command takes (`--config FILE`, `--quiet`), by name: `true` when it takes a value. They are taken off
   * the line and handed to `prepare`, which may add words to the line (defaults from a configuration file, for the
   * options not given) and wrap the command's run (its logger).
   */
  readonly globals?: Readonly<Record<string, boolean>>
  readonly prepare?: (context: Prepare) => Effect.Effect<Prepared, UsageError | CommandFailed>
}

export interface Prepare {
  readonly command: CommandSpec
  /** The words of the line (the global options taken off). */
  readonly args: ReadonlyArray<string>
  /** The global options given, with their values (`""` for a flag). */
  readonly globals: ReadonlyMap<string, string>
  /** The names of the command's options given on the line (`--output` for `-o` too). */
  readonly given: ReadonlySet<string>
  readonly logLevel: LogLevel.LogLevel | undefined
}

export interface Prepared {
  /** Words to add to the line, for options it does not give. */
  readonly extra: ReadonlyArray<string>
  readonly wrap: <A, E, R>(run: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CommandFailed, R>
}

/** The built-in options handed to @effect/cli as they are. */
const DELEGATED = new Set(["--completions", "--wizard"])
const HELP = new Set(["--help", "-h"])

const hintFor = (root: CommandSpec, command: CommandSpec) => `try: ${[root.name, ...command.path, "--help"].join(" ")}`

const usage = (root: CommandSpec, command: CommandSpec, message: string) =>
  new UsageError({ message, hint: hintFor(root, command) })

/** What the command line says, once the command is found and the options checked. */
interface Line {
  readonly command: CommandSpec
  /** The words after the program name, without `--log-level`. */
  readonly args: ReadonlyArray<string>
  readonly help: boolean
  readonly version: boolean
  readonly logLevel: LogLevel.LogLevel | undefined
  /** Values given to path options, to name the option when the parser refuses the path. */
  readonly pathOptions: ReadonlyMap<string, string>
  readonly globals: ReadonlyMap<string, string>
  readonly given: ReadonlySet<string>
}

/** Edit distance, for "did you mean" (short words only, so the plain quadratic table is fine). */
const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]!
}

/** `; did you mean --peer?` when one known name is close to what was typed. */
const suggestion = (typed: string, known: ReadonlyArray<string>): string => {
  const close = known.filter((name) => distance(typed, name) <= Math.max(1, Math.floor(name.length / 4)))
  return close.length === 1 ? `; did you mean ${close[0]}?` : ""
}

/** The first message whose `bt: ` line fits in 100 columns (the last one if none does). */
const fitting = (messages: ReadonlyArray<string>): string =>
  messages.find((message) => `bt: ${message}`.length <= WIDTH) ?? messages[messages.length - 1]!

const findOption = (command: CommandSpec, name: string): OptionSpec | undefined =>
  command.options.find((option) => option.name === name || option.aliases.includes(name))

const isNumber = (token: string) => /^-\d/.test(token)

/** A value that the option's type refuses, in our words; undefined if it is fine. */
const valueProblem = (option: OptionSpec, value: string): string | undefined => {
  switch (option.type.kind) {
    case "integer":
      return /^[+-]?\d+$/.test(value.trim()) ? undefined : `${option.name} ${value}: expected a whole number`
    case "float":
      return value.trim() !== "" && Number.isFinite(Number(value)) ? undefined : `${option.name} ${value}: expected a number`
    case "choice":
      return option.type.alternatives.includes(value)
        ? undefined
        : `${option.name} ${value}: expected one of ${option.type.alternatives.join(", ")}`
    default:
      return undefined
  }
}

/** Reads the command line against the commands' definitions; fails on anything they do not declare. */
const readLine = (
  root: CommandSpec,
  argv: ReadonlyArray<string>,
  globalOptions: Readonly<Record<string, boolean>>
): Effect.Effect<Line, UsageError> =>
  Effect.suspend(() => {
    let command = root
    let help = false
    let version = false
    let logLevel: LogLevel.LogLevel | undefined
    const args: Array<string> = []
    const positionals: Array<string> = []
    const pathOptions = new Map<string, string>()
    const globals = new Map<string, string>()
    const given = new Set<string>()
    const fail = (message: string) => Effect.fail(usage(root, command, message))
    // The first thing wrong, reported once the whole line is read: `--help` anywhere on it wins.
    let problem: string | undefined
    const note = (message: string) => {
      problem ??= message
    }

    for (let i = 0; i < argv.length; i++) {
      const token = argv[i]!
      if (token === "--") {
        args.push(...argv.slice(i))
        positionals.push(...argv.slice(i + 1))
        break
      }
      const [name, inline] = token.startsWith("--") && token.includes("=")
        ? [token.slice(0, token.indexOf("=")), token.slice(token.indexOf("=") + 1)]
        : [token, undefined]
      if (HELP.has(name)) {
        help = true
        continue
      }
      if (name === "--version" && command === root) {
        version = true
        continue
      }
      if (name === "--log-level") {
        const value = inline ?? argv[++i]
        const level = LogLevel.allLevels.find((l) => l._tag.toLowerCase() === value?.toLowerCase())
        if (level === undefined) {
          return fail(`--log-level ${value ?? ""}: expected one of ${LogLevel.allLevels.map((l) => l._tag.toLowerCase()).join(", ")}`.replace("  ", " "))
        }
        logLevel = level
        continue
      }
      if (Object.hasOwn(globalOptions, name)) {
        const value = globalOptions[name] ? inline ?? argv[++i] : ""
        if (value === undefined) return fail(`${name} needs a value`)
        globals.set(name, value)
        continue
      }
      args.push(token)
      if (token.startsWith("-") && token !== "-" && !isNumber(token)) {
        const option = findOption(command, name)
        if (option !== undefined) given.add(option.name)
        if (option === undefined) {
          const names = command.options.flatMap((o) => [o.name, ...o.aliases])
          note(
            command.subcommands.length > 0 && command.options.length === 0
              ? `unknown option ${name} (options go after the command: ${root.name} COMMAND ${name})`
              : `unknown option ${name}${suggestion(name, names)}`
          )
          continue
        }
        if (option.type.kind === "flag") continue
        const value = inline ?? argv[++i]
        if (value === undefined) {
          note(`${option.name} needs a value (${option.placeholder})`)
          continue
        }
        if (inline === undefined) args.push(value)
        const refused = valueProblem(option, value)
        if (refused !== undefined) note(refused)
        if (option.type.kind === "path") pathOptions.set(value, option.name)
        continue
      }
      if (command.subcommands.length > 0) {
        const sub = command.subcommands.find((c) => c.name === token)
        // `bt help download` as `bt download --help`.
        if (sub === undefined && token === "help" && command === root) {
          help = true
          continue
        }
        if (sub === undefined) {
          const names = command.subcommands.map((c) => c.name)
          const close = suggestion(token, names)
          const unknown = `unknown command '${token}'`
          // The list when it fits the line (`bt dht`'s, `bt config`'s); bt's own is in the help the hint names.
          return fail(close !== "" ? `${unknown}${close}` : fitting([`${unknown} (the commands: ${names.join(", ")})`, unknown]))
        }
        command = sub
        continue
      }
      positionals.push(token)
    }

    if (help || version) return Effect.succeed({ command, args, help, version, logLevel, pathOptions, globals, given })
    if (problem !== undefined) return fail(problem)
    if (command.subcommands.length === 0) {
      const required = command.args.filter((arg) => !arg.optional)
      if (positionals.length < required.length) {
        const missing = required[positionals.length]!
        const what = `missing <${missing.name}>`
        return fail(fitting([`${what}: ${missing.description}`, `${what}: ${missing.description.replace(/ \(.*\)$/, "")}`, what]))
      }
      if (!command.args.some((arg) => arg.repeatable) && positionals.length > command.args.length) {
        const extra = positionals[command.args.length]!
        return fail(
          command.args.length === 0
            ? `${[root.name, ...command.path].join(" ")} takes no argument, and got '${extra}'`
            : `one <${command.args.map((a) => a.name).join("> <")}> only, and got '${extra}' too`
        )
      }
    }
    return Effect.succeed({ command, args, help, version, logLevel, pathOptions, globals, given })
  })

/** @effect/cli's message for a bad command line, in our words. */
const parserMessage = (error: ValidationError.ValidationError, line: Line): string => {
  const text = docText(error.error).split("\n").find((l) => l.trim() !== "")?.trim() ?? "the command line is not valid"
  const path = /^(?:Expected path|Path) '(.*)' (to be a regular file|to be a directory|must exist|must not exist)/.exec(text)
  if (path !== null) {
    const [, value, what] = path
    const option = line.pathOptions.get(value!)
    const subject = option === undefined ? value : `${option} ${value}`
    const problem = {
      "to be a regular file": "not a file",
      "to be a directory": "not a folder",
      "must exist": "no such file or folder",
      "must not exist": "it exists already"
    }[what!]
    return `${subject}: ${problem}`
  }
  const unknown = /^Received unknown argument: '(.*)'/.exec(text)
  if (unknown !== null) return `unexpected argument '${unknown[1]}'`
  return text.charAt(0).toLowerCase() + text.slice(1).replace(/\.$/, "")
}

/**
 * Runs `argv` (Node's `process.argv`: the runtime and script first) against the program. Fails with a UsageError
 * for a command line that is wrong; the command's own errors pass through, a UsageError of its given the command's
 * help as hint.
 */
export const runProgram = <Name extends string, R, E>(
  program: Program<Name, R, E>,
  argv: ReadonlyArray<string>
): Effect.Effect<void, E | UsageError | CommandFailed | ValidationError.ValidationError, R | CliApp.CliApp.Environment> => {
  const root = commandSpec(program.root.descriptor)
  const words = argv.slice(2)
  if (words.some((word) => word.split("=")[0] === "--wizard") && program.interactive === false) {
    // @effect/cli's wizard would wait forever on a closed stdin and print escapes into a pipe.
    return Effect.fail(new UsageError({ message: "--wizard asks its questions on a terminal; run it in one", hint: `try: ${root.name} --help` }))
  }
  if (words.some((word) => DELEGATED.has(word.split("=")[0]!))) {
    return Command.run(program.root, { name: root.name, version: program.version })(argv)
  }
  return Effect.gen(function*() {
    const line = yield* readLine(root, words, program.globals ?? {})
    if (line.version) return yield* Console.log(`${root.name} ${program.version}`)
    if (line.help || line.command.subcommands.length > 0) {
      return yield* Console.log(renderHelp(root, line.command, program.extras, program.version, program.style ?? plainStyle))
    }
    const prepared: Prepared = program.prepare === undefined
      ? { extra: [], wrap: (run) => run }
      : yield* program.prepare({
        command: line.command,
        args: line.args,
        globals: line.globals,
        given: line.given,
        logLevel: line.logLevel
      })
    const end = line.args.indexOf("--")
    const args = end < 0
      ? [...line.args, ...prepared.extra]
      : [...line.args.slice(0, end), ...prepared.extra, ...line.args.slice(end)]
    const directive = yield* Descriptor.parse(program.root.descriptor, [root.name, ...args], CliConfig.defaultConfig)
      .pipe(Effect.mapError((error) => usage(root, line.command, parserMessage(error, line))))
    if (directive._tag === "BuiltIn") {
      // Everything built in that we do not answer ourselves was handed over above; help and version are ours.
      return yield* Console.log(renderHelp(root, line.command, program.extras, program.version, program.style ?? plainStyle))
    }
    if (directive.leftover.length > 0) {
      return yield* usage(root, line.command, `unexpected argument '${directive.leftover[0]}'`)
    }
    const value = directive.value
    const run = prepared.wrap(program.root.transform(program.root.handler(value), value)).pipe(
      Effect.catchIf(
        (error): error is E & UsageError => error instanceof UsageError && error.hint === undefined,
        (error) => Effect.fail(usage(root, line.command, error.message))
      )
    )
    return yield* line.logLevel === undefined ? run : run.pipe(Logger.withMinimumLogLevel(line.logLevel))
  })
}
