import type { PlatformError } from "@effect/platform/Error"

const writing = new Set(["writeFile", "makeDirectory", "open", "rename", "copy", "copyFile", "truncate", "remove"])

/** What went wrong, in a few words a person reads ("no such folder"), for a file-system error on `path`. */
const problem = (error: PlatformError, path: string | undefined): string => {
  if (error._tag === "BadArgument") return "not a valid argument"
  const writes = writing.has(error.method)
  switch (error.reason) {
    case "NotFound":
      return writes ? "its folder does not exist" : "no such file or folder"
    case "AlreadyExists":
      return "it exists already"
    case "PermissionDenied":
      return "permission denied"
    case "Busy":
      return "it is busy"
    case "BadResource":
      return path === undefined ? "a bad file handle" : "it is not the kind of file expected (a folder?)"
    default:
      return error.description?.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "") ?? "it failed"
  }
}

/**
 * One sentence for an @effect/platform error, naming the file and without the module, method or errno names the
 * error's own message carries: `cannot write out/x.torrent: its folder does not exist`.
 */
export const describePlatformError = (error: PlatformError, path?: string): string => {
  const target = path ?? (error._tag === "SystemError" && typeof error.pathOrDescriptor === "string" ? error.pathOrDescriptor : undefined)
  const verb = writing.has(error.method) ? "write" : "read"
  return target === undefined ? `cannot ${verb}: ${problem(error, target)}` : `cannot ${verb} ${target}: ${problem(error, target)}`
}

/** Whether `u` is an @effect/platform error (by its tag and module field). */
export const isPlatformError = (u: unknown): u is PlatformError =>
  typeof u === "object" && u !== null && "_tag" in u && (u._tag === "SystemError" || u._tag === "BadArgument") &&
  "module" in u && "method" in u
