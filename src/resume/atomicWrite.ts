import type * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"

/**
 * Writes `bytes` to `target` so that a crash leaves the old contents or the new, never a torn file: written beside
 * it, made durable (fsync), then swapped in with one rename. The folder is created if missing.
 */
export const writeAtomically = (
  fs: FileSystem.FileSystem,
  directory: string,
  target: string,
  bytes: Uint8Array
): Effect.Effect<void, PlatformError> => {
  const temporary = `${target}.tmp`
  return Effect.gen(function*() {
    yield* fs.makeDirectory(directory, { recursive: true })
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(temporary, { flag: "w" })
      yield* file.writeAll(bytes)
      yield* file.sync
    }))
    yield* fs.rename(temporary, target)
  })
}
