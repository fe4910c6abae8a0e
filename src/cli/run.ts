import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { closeSync } from "node:fs"
import { resolve } from "node:path"
import { isatty } from "node:tty"
import * as Metainfo from "../metainfo/index.js"
import { terminalStyle } from "./help.js"
import { describePlatformError, isPlatformError } from "./platformError.js"
import { ConfigFile, configPath, loadSettings, wordsFor } from "./config.js"
import { LogFilePath, loggerLayer } from "./logging.js"
import { type Prepare, type Prepared, runProgram } from "./program.js"
import { Quiet } from "./quiet.js"
import { parseRate } from "./rate.js"
import { loadRoot, needed } from "./root.js"
import { CommandFailed, UsageError } from "./UsageError.js"
import { buildVersion } from "./version.js"

const { root: bt, extras } = await loadRoot(needed(process.argv))

/**
 * Logs go to stderr, one line each (`bt: warning: ...`), so that stdout carries only results and progress (and
 * stays valid JSON with --json); or to `--log-file`, as text or JSON lines (logging.ts). Only errors by default: what
 * a warning would say (a tracker that does not answer) shows in the progress line when it holds a torrent up;
 * `--log-level warning` (or `debug`) shows them, with where they come from.
 */
const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024

/**
 * `bt daemon` runs for weeks under a service manager: its journal should say what it does (started, torrents
 * added, completed), so it logs from `info` up. The one-shot commands log errors only. `--log-level` wins over both.
 */
const defaultLogLevel = process.argv.slice(2).find((arg) => !arg.startsWith("-")) === "daemon" ? LogLevel.Info : LogLevel.Error

const LoggerLayer = Layer.merge(
  loggerLayer({ format: "text", maxBytes: DEFAULT_LOG_MAX_BYTES }).pipe(Layer.orDie),
  Logger.minimumLogLevel(defaultLogLevel)
)

/** The options every command takes (true: with a value), handled before the command runs. */
const GLOBALS = { "--config": true, "--log-file": true, "--log-format": true, "--log-max-size": true, "--quiet": false }

const asCommandFailed = (error: unknown) =>
  error instanceof CommandFailed ? error : new CommandFailed({ message: error instanceof Error ? error.message : String(error) })

/**
 * Before a command runs: the configuration file's settings (and `BT_KEY`s) become the options the line does not
 * give, and the run gets its logger (`--log-file`, `--log-format`), `--quiet`, and the file's path for `bt config`.
 * `bt config` reads the file itself, so that a broken file can still be listed and mended.
 */
const prepare = ({ command, given, globals, logLevel }: Prepare): Effect.Effect<Prepared, UsageError | CommandFailed> =>
  Effect.gen(function*() {
    const daemon = command.path[0] === "daemon"
    yield* Effect.sync(daemon ? outliveHangups : stopOnHangup)
    const where = configPath(globals.get("--config"), process.env)
    const settings = command.path[0] === "config"
      ? new Map()
      : yield* Effect.tryPromise({ try: () => loadSettings(where, process.env), catch: asCommandFailed })
    const extra = [...settings].flatMap(([key, setting]) => wordsFor(key, setting.value, command, given))
    const format = globals.get("--log-format") ?? "text"
    if (format !== "text" && format !== "json") {
      return yield* new UsageError({ message: `--log-format ${format}: expected text or json` })
    }
    const maxText = globals.get("--log-max-size")
    const maxBytes = maxText === undefined ? DEFAULT_LOG_MAX_BYTES : parseRate(maxText)
    if (maxBytes === undefined) return yield* new UsageError({ message: `--log-max-size ${maxText}: expected a size such as 10M` })
    const file = globals.get("--log-file")
    const quiet = globals.has("--quiet")
    const logger = file === undefined && format === "text"
      ? undefined
      : loggerLayer({ format, maxBytes, reopenOnHangup: daemon, ...(file === undefined ? {} : { file }) })
    return {
      extra,
      wrap: <A, E, R>(run: Effect.Effect<A, E, R>): Effect.Effect<A, E | CommandFailed, R> => {
        const configured = run.pipe(
          Effect.provideService(ConfigFile, where),
          Effect.provideService(Quiet, quiet),
          Effect.provideService(LogFilePath, file === undefined ? undefined : resolve(file))
        )
        const leveled = quiet && logLevel === undefined ? configured.pipe(Logger.withMinimumLogLevel(LogLevel.Error)) : configured
        return logger === undefined ? leveled : Effect.provide(leveled, logger)
      }
    }
  })

const NodeLayer = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer, LoggerLayer)
const MainLayer = Metainfo.layer.pipe(Layer.provideMerge(NodeLayer))

/** The first line of a message: an error's own message may carry more than the one line a user gets. */
const firstLine = (text: string) => text.split("\n")[0]!.trim()

/**
 * What the user sees when a command fails, on stderr: `bt: WHAT IS WRONG` and at most one more line, a hint. A
 * defect (a bug in bt) says so in one line too; `BT_DEBUG=1` prints its full cause.
 */
const report = (cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.sync(() => {
    if (Cause.isInterruptedOnly(cause)) return
    const lines: Array<string> = []
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (ValidationError.isValidationError(error)) return // printed by @effect/cli (completions, wizard)
      if (error instanceof UsageError || error instanceof CommandFailed) {
        lines.push(`bt: ${firstLine(error.message)}`)
        if (error.hint !== undefined) lines.push(error.hint)
      } else if (isPlatformError(error)) {
        lines.push(`bt: ${describePlatformError(error)}`)
      } else {
        lines.push(`bt: ${firstLine(error instanceof Error ? error.message : String(error))}`)
      }
    } else {
      const defect = Cause.squash(cause)
      lines.push(`bt: internal error (${firstLine(defect instanceof Error ? defect.message : String(defect))})`)
      lines.push(
        (process.env["BT_DEBUG"] ?? "") === ""
          ? "please report it; BT_DEBUG=1 shows the details"
          : Cause.pretty(cause)
      )
    }
    process.stderr.write(`${lines.join("\n")}\n`)
  })

/**
 * The exit code: 0 on success, 2 for a command line that is wrong, 130 when stopped by SIGINT or SIGTERM (as
 * shells expect for Ctrl-C; a download stopped early is incomplete), 129 when stopped by a hangup (128 + SIGHUP's
 * 1, as for a process the signal ended), 1 for any other failure.
 */
const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.isInterruptedOnly(exit.cause)) return stoppedBy === "hangup" ? 129 : 130
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error instanceof UsageError || ValidationError.isValidationError(error)) return 2
  }
  return 1
}

/**
 * A reader that goes away (`bt download ... --json | head -2`, or a terminal that hung up) is a reason to stop, as
 * Ctrl-C is (finalizers run, resume state is saved), not a stack trace: the first EPIPE (EIO from a terminal that
 * is gone) on stdout interrupts the program, the rest are ignored, and so is any on stderr.
 */
const READER_GONE = new Set(["EPIPE", "EIO"])
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (!READER_GONE.has(error.code ?? "")) throw error
  stopAsCtrlC("reader gone")
})
process.stderr.on("error", (error: NodeJS.ErrnoException) => {
  if (!READER_GONE.has(error.code ?? "")) throw error
})

/**
 * SIGHUP for a foreground command (`bt download`, `bt seed`, ...) means its terminal went away (an SSH session
 * dropped): the user is gone, so it stops as Ctrl-C stops it (resume state saved; run the same command to go on),
 * rather than dying at once (Node's default) or running on with nowhere to report. Its --log-file is not reopened:
 * a seed meant to outlive its terminal and have its log rotated belongs in `bt daemon`, which reopens the log on
 * SIGHUP instead (logging.ts, commands/daemon.ts).
 */
const stopOnHangup = () => process.on("SIGHUP", () => stopAsCtrlC("hangup"))

/**
 * Why bt stopped itself, if it did. Once only: a terminal that goes away both hangs up and fails the next write, and
 * a second SIGINT could land after the runtime has let go of the signal, ending bt by its default action.
 */
let stoppedBy: "hangup" | "reader gone" | undefined
const stopAsCtrlC = (reason: "hangup" | "reader gone") => {
  if (stoppedBy !== undefined) return
  stoppedBy = reason
  process.kill(process.pid, "SIGINT")
}

/**
 * The daemon never ends on SIGHUP (`systemctl reload` sends it to reopen the log): from the moment its command line
 * is read, before its state is loaded and its listeners are up (commands/daemon.ts), a hangup is simply taken, so
 * a reload that races a start does not kill it with Node's default action.
 */
const outliveHangups = () => process.on("SIGHUP", () => {})

/** The standard streams that were a terminal when bt started. */
const TERMINALS = [0, 1, 2].filter((fd) => isatty(fd))

/**
 * Node 20, on its way out, puts back the modes of the terminals it started on, and when one has gone away (its window
 * closed, its SSH connection dropped: the mode cannot be set, EIO) it fails an assertion and dies of SIGABRT, dumping
 * core after bt has stopped cleanly (Node 22 and later pass over it). Node skips a descriptor that is closed, so as
 * bt leaves, the standard streams that were a terminal and are no longer one are closed.
 */
const leaveDeadTerminals = () => {
  for (const fd of TERMINALS) {
    if (isatty(fd)) continue
    try {
      closeSync(fd)
    } catch {
      // Closed already: as good.
    }
  }
}

runProgram(
  {
    root: bt,
    version: buildVersion(),
    extras,
    style: terminalStyle(),
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    globals: GLOBALS,
    prepare
  },
  process.argv
).pipe(
  Effect.tapErrorCause(report),
  Effect.provide(MainLayer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => {
      leaveDeadTerminals()
      onExit(exitCode(exit))
    }
  })
)
