import * as Data from "effect/Data"

/**
 * Bad input the user can fix by changing the command line: an out-of-range option, options that do not go together.
 * Shown as `bt: MESSAGE` and a hint (by default `try: bt COMMAND --help`); exit code 2.
 */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
  readonly hint?: string
}> {}

/**
 * A command that ran and could not do what was asked, for a reason the user can act on: data that does not match
 * the torrent, a file that cannot be written, no tracker answering. Shown as `bt: MESSAGE` and, when there is one,
 * a hint; exit code 1.
 */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{
  readonly message: string
  readonly hint?: string
}> {}
