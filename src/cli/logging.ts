/**
 * Where a command's log goes and how it reads: `bt: level: message` lines on stderr by default; with `--log-file
 * FILE`, appended to FILE instead, each line with its time, rotated by size (`--log-max-size`, default 10M: FILE
 * becomes FILE.1, FILE.1 FILE.2, and so on, three kept); with `--log-format json`, one JSON object a line (time,
 * level, message, and the log's annotations as fields) for a log collector. Through Effect's Logger: the library's
 * own `Effect.log*` calls land here. For `bt daemon` the file is also closed and opened again at the same path on
 * SIGHUP, as logrotate's `postrotate kill -HUP` expects: after `mv FILE FILE.1`, new lines go to a new FILE.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs"
import { resolve } from "node:path"
import { CommandFailed } from "./UsageError.js"

export type LogFormat = "text" | "json"

export interface LogTarget {
  /** Undefined: stderr. */
  readonly file?: string
  readonly format: LogFormat
  /** Bytes a log file may reach before it is rotated. */
  readonly maxBytes: number
  /** Reopen the file on SIGHUP (the daemon; a foreground command stops on a hangup instead, run.ts). */
  readonly reopenOnHangup?: boolean
}

/** The --log-file of this run, if any (resolved), for a command that says what it does with it. */
export class LogFilePath extends Context.Reference<LogFilePath>()("bt/cli/LogFilePath", {
  defaultValue: (): string | undefined => undefined
}) {}

/** Old files kept beside the current one: FILE.1 (newest) to FILE.3. */
const KEEP = 3

const messageText = (message: unknown): string =>
  (Array.isArray(message) ? message : [message]).map((part) => typeof part === "string" ? part : String(part)).join(" ")

/** One entry in the target's format, without its newline. */
const entry = (
  format: LogFormat,
  toFile: boolean,
  { annotations, date, logLevel, message }: Logger.Logger.Options<unknown>
): string => {
  const text = messageText(message)
  if (format === "json") {
    return JSON.stringify({
      time: date.toISOString(),
      level: logLevel.label.toLowerCase(),
      message: text,
      ...Object.fromEntries([...annotations].map(([key, value]) => [key, value]))
    })
  }
  const where = [...annotations].map(([key, value]) => `${key}=${String(value)}`).join(" ")
  // On a terminal the details of errors are noise; a file is read later, by someone else: it gets them all.
  const detail = where === "" || (!toFile && LogLevel.lessThan(logLevel, LogLevel.Warning)) ? "" : ` (${where})`
  return toFile
    ? `${date.toISOString()} ${logLevel.label.toLowerCase()}: ${text}${detail}`
    : `bt: ${logLevel.label.toLowerCase()}: ${text}${detail}`
}

/** A log file open for appending, rotated once a line would take it past `maxBytes`. */
class LogFile {
  private fd: number
  private size: number
  constructor(readonly path: string, private readonly maxBytes: number) {
    this.fd = openSync(path, "a", 0o640)
    this.size = fstatSync(this.fd).size
  }
  write(line: string): void {
    const bytes = Buffer.from(`${line}\n`)
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) this.rotate()
    writeSync(this.fd, bytes)
    this.size += bytes.length
  }
  private rotate(): void {
    closeSync(this.fd)
    for (let i = KEEP - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`)
      } catch {
        // no such older file yet
      }
    }
    renameSync(this.path, `${this.path}.1`)
    this.fd = openSync(this.path, "a", 0o640)
    this.size = 0
  }
  /**
   * Closes the file and opens it again at its path (a new one if it was moved away). The new file is opened
   * first: one that cannot be opened leaves the log going where it went, and says why.
   */
  reopen(): void {
    const fd = openSync(this.path, "a", 0o640)
    closeSync(this.fd)
    this.fd = fd
    this.size = fstatSync(fd).size
  }
  close(): void {
    closeSync(this.fd)
  }
}

const problemOf = (error: NodeJS.ErrnoException): string =>
  error.code === "ENOENT"
    ? "its folder does not exist"
    : error.code === "EACCES" || error.code === "EPERM"
    ? "permission denied"
    : error.code === "EISDIR"
    ? "a folder, not a file"
    : error.code ?? error.message

/** While the scope lasts, SIGHUP reopens the log file (and no longer ends the process: Node's default). */
const reopenOnHangup = (file: LogFile, path: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const onHangup = () => {
        try {
          file.reopen()
        } catch (cause) {
          process.stderr.write(`bt: cannot reopen the log ${path} (${problemOf(cause as NodeJS.ErrnoException)}); still writing the old one\n`)
        }
      }
      process.on("SIGHUP", onHangup)
      return onHangup
    }),
    (onHangup) => Effect.sync(() => process.off("SIGHUP", onHangup))
  )

/**
 * The logger for a target, as a layer: the file opened when the layer is built (one that cannot be written is a
 * CommandFailed naming it) and closed with it.
 */
const toStderr = (format: LogFormat) =>
  Logger.make((options) => {
    process.stderr.write(`${entry(format, false, options)}\n`)
  })

/** The CLI's logger unless told otherwise: `bt: level: message` on stderr. */
export const stderrLogger = toStderr("text")

export const loggerLayer = (target: LogTarget): Layer.Layer<never, CommandFailed> => {
  // In place of Effect's default logger and of ours, whichever is there: a run gets one logger.
  const clear = Layer.merge(Logger.remove(Logger.defaultLogger), Logger.remove(stderrLogger))
  if (target.file === undefined) return Layer.merge(clear, Logger.add(target.format === "text" ? stderrLogger : toStderr(target.format)))
  const path = resolve(target.file)
  return Layer.merge(clear, Logger.addScoped(
    Effect.acquireRelease(
      Effect.try({
        try: () => new LogFile(path, target.maxBytes),
        catch: (cause) => new CommandFailed({ message: `--log-file ${path}: cannot write it (${problemOf(cause as NodeJS.ErrnoException)})` })
      }),
      (file) => Effect.sync(() => file.close())
    ).pipe(
      Effect.tap((file) => target.reopenOnHangup === true ? reopenOnHangup(file, path) : Effect.void),
      Effect.map((file) =>
        Logger.make((options) => {
          try {
            file.write(entry(target.format, true, options))
          } catch (cause) {
            // A log that can no longer be written (a full disk) must not stop the torrents: say so where a person looks.
            process.stderr.write(`bt: cannot write the log ${path} (${problemOf(cause as NodeJS.ErrnoException)})\n`)
          }
        })
      )
    )
  ))
}
