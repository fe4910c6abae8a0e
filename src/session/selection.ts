/**
 * Which files of a torrent are wanted, and how much: pure helpers shared by the session, the CLI and (later) the
 * RPC. Files are numbered by their index in the info dictionary's file list (BEP 53's `so=` numbering; `bt info`
 * shows it), padding files included, though they are never listed or selected.
 */
import type { FileRange } from "../metainfo/magnet.js"
import type { TorrentInfo } from "../metainfo/TorrentInfo.js"
import { Priority } from "../piece/index.js"

/** A file's priority: `skip` (not downloaded, not created) or wanted at one of three levels. */
export type FilePriority = "skip" | "low" | "normal" | "high"

const LEVEL: Record<FilePriority, Priority> = {
  skip: Priority.skip,
  low: Priority.low,
  normal: Priority.normal,
  high: Priority.high
}

/** Each piece takes the highest priority of the (non-padding) files it touches. */
export const piecePriorities = (torrent: TorrentInfo, files: ReadonlyArray<FilePriority>): Uint8Array => {
  const pieces = new Uint8Array(torrent.pieceCount)
  for (const [index, file] of torrent.files.entries()) {
    if (file.padding || file.length === 0) continue
    const level = LEVEL[files[index] ?? "normal"]
    if (level === Priority.skip) continue
    const first = Math.floor(file.offset / torrent.pieceLength)
    const last = Math.floor((file.offset + file.length - 1) / torrent.pieceLength)
    for (let piece = first; piece <= last; piece++) if (pieces[piece]! < level) pieces[piece] = level
  }
  return pieces
}

/** Per file whether it is skipped, for storage. */
export const skippedFiles = (files: ReadonlyArray<FilePriority>): Array<boolean> => files.map((p) => p === "skip")

/** Every file at `normal`. */
export const allFiles = (torrent: TorrentInfo): Array<FilePriority> => torrent.files.map(() => "normal")

/** The files a magnet link's `so=` (BEP 53) selects, the others skipped; every file when it has none. */
export const fromRanges = (torrent: TorrentInfo, ranges: ReadonlyArray<FileRange> | undefined): Array<FilePriority> =>
  ranges === undefined
    ? allFiles(torrent)
    : torrent.files.map((_, index) => ranges.some((r) => index >= r.from && index <= r.to) ? "normal" : "skip")

/** A glob over a file's path: `*` any run of characters but `/`, `**` any run, `?` one character. */
const globRegExp = (glob: string): RegExp => {
  let source = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === "*" && glob[i + 1] === "*") {
      source += ".*"
      i++
    } else if (c === "*") source += "[^/]*"
    else if (c === "?") source += "[^/]"
    else source += c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")
  }
  return new RegExp(`^${source}$`, "u")
}

/** The path of file `index` as `bt info` shows it (within the torrent's folder). */
const pathOf = (torrent: TorrentInfo, index: number) => torrent.files[index]!.path.join("/")

/**
 * The files a SPEC names: comma-separated 0-based indices and ranges (`0,2-4`), or else a glob over the file's
 * path (`*.mkv`, matched against the whole path and, failing that, the file name). Padding files never match.
 * A string error, in words for the user, when it names no file or an index past the end.
 */
export const matchFiles = (torrent: TorrentInfo, spec: string): ReadonlySet<number> | string => {
  const listed = torrent.files.flatMap((file, index) => file.padding ? [] : [index])
  const trimmed = spec.trim()
  if (/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(trimmed.replace(/\s+/g, ""))) {
    const out = new Set<number>()
    for (const part of trimmed.replace(/\s+/g, "").split(",")) {
      const [from, to = from] = part.split("-").map(Number) as [number, number?]
      if (to < from) return `file range ${part} runs backwards`
      if (to >= torrent.files.length) {
        return `file ${to} does not exist: ${torrent.name} has files 0-${torrent.files.length - 1} (see bt info)`
      }
      for (let index = from; index <= to; index++) if (!torrent.files[index]!.padding) out.add(index)
    }
    return out.size === 0 ? `${spec} names only padding files` : out
  }
  const pattern = globRegExp(trimmed)
  const out = new Set(listed.filter((index) => {
    const path = pathOf(torrent, index)
    return pattern.test(path) || pattern.test(path.slice(path.lastIndexOf("/") + 1))
  }))
  return out.size === 0 ? `no file of ${torrent.name} matches ${spec} (see bt info for its files)` : out
}

/**
 * Priorities from `--only` and `--exclude` specs (either may be absent), starting from `base` (every file, or a
 * magnet's `so=`). A string error when a spec matches nothing, or when one file is both included and excluded.
 */
export const selectFiles = (
  torrent: TorrentInfo,
  base: ReadonlyArray<FilePriority>,
  only: string | undefined,
  exclude: string | undefined
): Array<FilePriority> | string => {
  const included = only === undefined ? undefined : matchFiles(torrent, only)
  if (typeof included === "string") return `--only: ${included}`
  const excluded = exclude === undefined ? undefined : matchFiles(torrent, exclude)
  if (typeof excluded === "string") return `--exclude: ${excluded}`
  if (included !== undefined && excluded !== undefined) {
    const both = [...included].find((index) => excluded.has(index))
    if (both !== undefined) return `file ${both} (${pathOf(torrent, both)}) is both in --only and in --exclude`
  }
  return base.map((priority, index) =>
    (included !== undefined && !included.has(index)) || excluded?.has(index) === true ? "skip" : priority
  )
}
