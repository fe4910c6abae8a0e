import * as Data from "effect/Data"
/** Bad input the user can fix: an out-of-range option, a torrent with nothing to do. Shown as one line. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}
