import * as Data from "effect/Data"
export type StorageErrorReason =
  /** A file or one of its folders could not be created or opened. */
  | "Open"
  /** Reading a file failed (other than the file being absent or short: that data reads as zeros). */
  | "Read"
  /** Writing or syncing a file failed: no space, no permission, an I/O error. */
  | "Write"
  /** A path would leave the download folder, go through a symlink, or land on another file of the torrent. */
  | "Unsafe"
  /** A piece index, block offset or length outside the torrent. A caller's mistake, reported rather than obeyed. */
  | "OutOfRange"
  /** The torrent's storage was used after its scope closed. */
  | "Closed"

const verbs: Record<StorageErrorReason, string> = {
  Open: "open",
  Read: "read",
  Write: "write",
  Unsafe: "use",
  OutOfRange: "access",
  Closed: "access"
}

/**
 * A storage operation that failed. `message` is one sentence naming the file and, where there is one, what to do:
 * "cannot write /downloads/a/b.bin: no space left on device; free some space and resume".
 */
export class StorageError extends Data.TaggedError("StorageError")<{
  readonly reason: StorageErrorReason
  /** The file (or folder) concerned, when there is one. */
  readonly path?: string | undefined
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.path === undefined ? this.detail : `cannot ${verbs[this.reason]} ${this.path}: ${this.detail}`
  }
}

/** A short human description of a Node system error, with a hint where there is an obvious remedy. */
export const describeSystemError = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
  switch (code) {
    case "ENOSPC":
      return "no space left on device; free some space and resume"
    case "EDQUOT":
      return "disk quota exceeded; free some space and resume"
    case "EACCES":
    case "EPERM":
      return "permission denied; check the permissions of the file and its folder"
    case "EROFS":
      return "the file system is read-only; choose another download folder"
    case "ENOTDIR":
    case "EEXIST":
      return "a file stands where a folder should be; move it out of the way"
    case "EISDIR":
      return "a folder stands where the file should be; move it out of the way"
    case "ELOOP":
      return "the path is a symbolic link, which is not followed; remove the link"
    case "EMFILE":
    case "ENFILE":
      return "too many open files; raise the limit (ulimit -n)"
    case "ENAMETOOLONG":
      return "the file name is too long for this file system"
    case "EFBIG":
      return "the file is too large for this file system"
    case "EIO":
      return "an I/O error occurred; check the disk"
    case "EBADF":
      return "the file is open read-only; check its permissions"
  }
  const text = cause instanceof Error ? cause.message : String(cause)
  return code === undefined ? text : `${text} (${code})`
}
