/**
 * What a check of a torrent's data found, file by file: missing, too short, too large, or holding bad pieces.
 * Pure: it reads the storage's `existing` list and the bitfield of good pieces.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import { pieceSize, type TorrentInfo } from "../metainfo/index.js"
import type { Bitfield } from "../piece/index.js"
import { type ExistingFile, segments } from "../storage/index.js"
import { formatCount } from "./format.js"
import { CommandFailed } from "./UsageError.js"

export type FileProblem =
  | { readonly kind: "missing" }
  | { readonly kind: "folder" }
  | { readonly kind: "too short" | "too large"; readonly size: number; readonly expected: number }
  | { readonly kind: "bad pieces"; readonly pieces: number }

export interface FileReport {
  /** The file's path as the user sees it below the data folder (the torrent's folder first, for a multi-file one). */
  readonly path: string
  readonly problem: FileProblem
}

const shownPath = (torrent: TorrentInfo, fileIndex: number): string => {
  const file = torrent.files[fileIndex]!
  return (torrent.layout === "multi" ? [torrent.name, ...file.path] : file.path).join("/")
}

/**
 * Every file with a problem, in torrent order. A file that exists at the right size but holds pieces that failed
 * is reported with the count of such pieces (those not explained by a neighbour's size); a missing, short or
 * oversized file by what is wrong with it, whatever its pieces say (an oversized file's pieces may all be good: the extra bytes are not the torrent's).
 */
export const fileReports = (
  torrent: TorrentInfo,
  existing: ReadonlyArray<ExistingFile | undefined>,
  have: Bitfield
): Array<FileReport> => {
  const wrongSize = (fileIndex: number) => existing[fileIndex]?.size !== torrent.files[fileIndex]!.length
  // A bad piece counts against its files only when none of them is missing or of the wrong size: that explains it.
  const badPieces = new Map<number, number>()
  for (let index = 0; index < torrent.pieceCount; index++) {
    if (have.has(index)) continue
    const files = segments(torrent.files, index * torrent.pieceLength, pieceSize(torrent, index))
      .map((segment) => segment.fileIndex)
    if (files.some(wrongSize)) continue
    for (const fileIndex of files) badPieces.set(fileIndex, (badPieces.get(fileIndex) ?? 0) + 1)
  }
  const reports: Array<FileReport> = []
  for (const [fileIndex, file] of torrent.files.entries()) {
    if (file.padding) continue
    const found = existing[fileIndex]
    const path = shownPath(torrent, fileIndex)
    if (found === undefined) {
      reports.push({ path, problem: { kind: "missing" } })
    } else if (found.size !== file.length) {
      const kind = found.size < file.length ? "too short" : "too large"
      reports.push({ path, problem: { kind, size: found.size, expected: file.length } })
    } else if (badPieces.has(fileIndex)) {
      reports.push({ path, problem: { kind: "bad pieces", pieces: badPieces.get(fileIndex)! } })
    }
  }
  return reports
}

/** `missing`, `too large (12,355 bytes; the torrent says 12,345)`, `3 pieces bad`. */
export const problemText = (problem: FileProblem): string => {
  switch (problem.kind) {
    case "missing":
      return "missing"
    case "folder":
      return "is a folder, not a file"
    case "too short":
    case "too large":
      return `${problem.kind} (${formatCount(problem.size)} bytes; the torrent says ${formatCount(problem.expected)})`
    case "bad pieces":
      return `${problem.pieces} piece${problem.pieces === 1 ? "" : "s"} bad`
  }
}

/** `2 files missing, 1 too large, 44 pieces bad`: what the reports add up to. */
export const reportsSummary = (reports: ReadonlyArray<FileReport>): string => {
  const count = (kind: FileProblem["kind"]) => reports.filter((report) => report.problem.kind === kind).length
  const missing = count("missing")
  const folders = count("folder")
  const parts = [
    missing === 0 ? undefined : `${missing} file${missing === 1 ? "" : "s"} missing`,
    folders === 0 ? undefined : `${folders} ${folders === 1 ? "is a folder" : "are folders"} where a file should be`,
    count("too short") === 0 ? undefined : `${count("too short")} too short`,
    count("too large") === 0 ? undefined : `${count("too large")} too large`,
    count("bad pieces") === 0 ? undefined : `${count("bad pieces")} with bad pieces`
  ].filter((part) => part !== undefined)
  return parts.join(", ")
}

/**
 * The reports, with each "missing" file that is a folder on disk named as one (the storage lists only regular files).
 * Reads only: a `stat` per missing file.
 */
export const withFolders = (
  directory: string,
  reports: ReadonlyArray<FileReport>
): Effect.Effect<Array<FileReport>, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.forEach(reports, (report) =>
      report.problem.kind !== "missing"
        ? Effect.succeed(report)
        : fs.stat(`${directory}/${report.path}`).pipe(
          Effect.map((info): FileReport => info.type === "Directory" ? { path: report.path, problem: { kind: "folder" } } : report),
          Effect.orElseSucceed(() => report)
        )))

/** Whether nothing of the torrent was found at all: the sign of a wrong data folder. */
export const nothingFound = (existing: ReadonlyArray<ExistingFile | undefined>): boolean =>
  existing.every((file) => file === undefined)

/** Fails, with a hint, unless `directory` is a folder: a check looks for data there and creates nothing. */
export const requireFolder = (
  directory: string,
  torrent: TorrentInfo
): Effect.Effect<void, CommandFailed, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.stat(directory)).pipe(
    Effect.map((info) => info.type === "Directory"),
    Effect.orElseSucceed(() => false),
    Effect.flatMap((isFolder) =>
      isFolder ? Effect.void : new CommandFailed({
        message: `${directory}: no such folder`,
        hint: `-d names the folder that holds ${torrent.name}${torrent.layout === "multi" ? "/" : ""}`
      })
    )
  )
