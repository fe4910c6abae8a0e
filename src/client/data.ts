import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import { dirname, resolve } from "node:path"
import type { TorrentInfo } from "../metainfo/index.js"
import { isInside } from "../storage/layout.js"
import { ClientError } from "./Client.js"

/** The torrent's own files under `directory` (padding files are never on disk), each checked to lie inside it. */
export const ownFiles = (info: TorrentInfo, directory: string): ReadonlyArray<string> => {
  const root = resolve(directory)
  return info.files.flatMap((file) => {
    if (file.padding) return []
    const path = resolve(root, ...(info.layout === "multi" ? [info.name] : []), ...file.path)
    return isInside(root, path) ? [path] : []
  })
}

const isNotFound = (cause: { readonly _tag: string; readonly reason?: string }) =>
  cause._tag === "SystemError" && cause.reason === "NotFound"

const storageError = (what: string) => (cause: { readonly message: string }) =>
  new ClientError({ reason: "Storage", detail: `${what}: ${cause.message}`, cause })

/**
 * Deletes the torrent's files in `directory`, then the folders they leave empty up to (not including) `directory`.
 * Nothing else: another file in the torrent's folder keeps that folder.
 */
export const deleteData = (
  fs: FileSystem.FileSystem,
  info: TorrentInfo,
  directory: string
): Effect.Effect<void, ClientError> =>
  Effect.gen(function*() {
    const root = resolve(directory)
    const files = ownFiles(info, directory)
    for (const file of files) {
      yield* fs.remove(file).pipe(
        Effect.catchIf(isNotFound, () => Effect.void),
        Effect.mapError(storageError(`cannot delete ${file}`))
      )
    }
    yield* removeEmptyFolders(fs, root, files)
  })

/** Removes the folders holding `files` that are now empty, deepest first, never `root` or above. */
const removeEmptyFolders = (fs: FileSystem.FileSystem, root: string, files: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const folders = new Set<string>()
    for (const file of files) {
      for (let folder = dirname(file); isInside(root, folder); folder = dirname(folder)) folders.add(folder)
    }
    for (const folder of [...folders].sort((a, b) => b.length - a.length)) {
      const entries = yield* fs.readDirectory(folder).pipe(Effect.orElseSucceed(() => ["?"]))
      if (entries.length === 0) yield* fs.remove(folder).pipe(Effect.ignore)
    }
  })

/**
 * Moves the torrent's files from `from` to `to` (rename, or copy then delete across filesystems). Files not there
 * yet are skipped: the torrent creates them in its new place.
 */
export const moveData = (
  fs: FileSystem.FileSystem,
  info: TorrentInfo,
  from: string,
  to: string
): Effect.Effect<void, ClientError> =>
  Effect.gen(function*() {
    if (resolve(from) === resolve(to)) return
    const sources = ownFiles(info, from)
    const targets = ownFiles(info, to)
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i]!
      const target = targets[i]!
      if (!(yield* fs.exists(source).pipe(Effect.orElseSucceed(() => false)))) continue
      yield* fs.makeDirectory(dirname(target), { recursive: true }).pipe(
        Effect.zipRight(
          fs.rename(source, target).pipe(
            Effect.orElse(() => Effect.zipRight(fs.copyFile(source, target), fs.remove(source)))
          )
        ),
        Effect.mapError(storageError(`cannot move ${source} to ${target}`))
      )
    }
    yield* removeEmptyFolders(fs, resolve(from), sources)
  })


/**
 * Renames the file or folder at `from` to `to` (both relative to `directory`, as components) if it is there; refuses
 * when something is at `to` already. Nothing there yet: nothing to do (the torrent creates its files under the new
 * name).
 */
export const renameData = (
  fs: FileSystem.FileSystem,
  directory: string,
  from: ReadonlyArray<string>,
  to: ReadonlyArray<string>
): Effect.Effect<void, ClientError> =>
  Effect.gen(function*() {
    const root = resolve(directory)
    const source = resolve(root, ...from)
    const target = resolve(root, ...to)
    if (!isInside(root, source) || !isInside(root, target)) {
      return yield* new ClientError({ reason: "InvalidArgument", detail: `${target} lies outside ${root}` })
    }
    if (source === target || !(yield* fs.exists(source).pipe(Effect.orElseSucceed(() => false)))) return
    if (yield* fs.exists(target).pipe(Effect.orElseSucceed(() => true))) {
      return yield* new ClientError({ reason: "InvalidArgument", detail: `cannot rename ${source}: ${target} exists` })
    }
    yield* fs.rename(source, target).pipe(Effect.mapError(storageError(`cannot rename ${source} to ${target}`)))
  })
