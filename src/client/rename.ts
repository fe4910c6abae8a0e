import * as Either from "effect/Either"
import type { TorrentFile, TorrentInfo } from "../metainfo/index.js"
import { unsafeComponent } from "../metainfo/paths.js"

/**
 * Renaming a file or folder inside a torrent (Transmission's `torrent-rename-path`). Pure: the metadata keeps its
 * bytes and info-hash; only the names the torrent's files are stored under change.
 *
 * A path is `/`-separated and starts with the torrent's name, as the RPC's `files` list shows it: `name` itself (the
 * torrent's folder, or its one file), `name/dir` (a folder) or `name/dir/file`. A torrent's renames are kept in its
 * record, in order, and applied again to its metadata whenever that is loaded.
 */

/** One rename: the path as it was then, and the new last component. */
export type Rename = readonly [path: string, name: string]

/** What a rename did: the new metadata, and the path that moved, relative to the download folder (components). */
export interface RenameResult {
  readonly info: TorrentInfo
  readonly from: ReadonlyArray<string>
  readonly to: ReadonlyArray<string>
}

const startsWith = (path: ReadonlyArray<string>, prefix: ReadonlyArray<string>) =>
  prefix.length <= path.length && prefix.every((component, i) => path[i] === component)

/** Renames `path` to `name` in `info`, or says in plain words why not. */
export const renamePath = (info: TorrentInfo, path: string, name: string): Either.Either<RenameResult, string> => {
  const badName = unsafeComponent(name)
  if (badName !== undefined) return Either.left(`the new name ${JSON.stringify(name)} has ${badName}`)
  const components = path.split("/")
  const badPath = components.map(unsafeComponent).find((problem) => problem !== undefined)
  if (badPath !== undefined) return Either.left(`the path ${JSON.stringify(path)} has ${badPath}`)
  if (components[0] !== info.name) {
    return Either.left(`${JSON.stringify(path)} is not in the torrent: its paths start with ${JSON.stringify(info.name)}`)
  }
  if (components.length === 1) {
    // The torrent's own name: its folder (multi-file) or its one file.
    const files = info.layout === "single"
      ? info.files.map((file): TorrentFile => ({ ...file, path: [name] }))
      : info.files
    return Either.right({ info: { ...info, name, files }, from: [info.name], to: [name] })
  }
  if (info.layout === "single") return Either.left(`${JSON.stringify(path)} is not in the torrent`)
  const inner = components.slice(1)
  const visible = info.files.filter((file) => !file.padding)
  if (!visible.some((file) => startsWith(file.path, inner))) {
    return Either.left(`${JSON.stringify(path)} is not a file or folder of the torrent`)
  }
  const target = [...inner.slice(0, -1), name]
  if (name !== inner[inner.length - 1] && info.files.some((file) => startsWith(file.path, target))) {
    return Either.left(`${JSON.stringify([info.name, ...target].join("/"))} exists in the torrent already`)
  }
  const files = info.files.map((file): TorrentFile =>
    startsWith(file.path, inner) ? { ...file, path: [...target, ...file.path.slice(inner.length)] } : file
  )
  return Either.right({ info: { ...info, files }, from: [info.name, ...inner], to: [info.name, ...target] })
}

/** The metadata with a torrent's saved renames applied, in order (one that no longer applies is skipped). */
export const applyRenames = (info: TorrentInfo, renames: ReadonlyArray<Rename>): TorrentInfo =>
  renames.reduce((current, [path, name]) => Either.match(renamePath(current, path, name), {
    onLeft: () => current,
    onRight: (renamed) => renamed.info
  }), info)
