/** The lines a person reads about a running torrent: progress, and the summaries at the end or on Ctrl-C. Pure. */
import type { MagnetProgress, TorrentProgress } from "../session/index.js"
import { formatBytes } from "./format.js"

/** `1:02:03`, `4:05`; `--:--` for no estimate. */
export const clock = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "--:--"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`
}

const percent = (part: number, whole: number): string => `${(whole === 0 ? 100 : (100 * part) / whole).toFixed(1)}%`

/** What a progress line shows: the torrent's progress with rates measured over a window, and the ETA from them. */
export interface Shown {
  readonly progress: TorrentProgress
  readonly downloadRate: number
  readonly uploadRate: number
  /** Seconds; Infinity when nothing moves. */
  readonly eta: number
}

/**
 * Why the torrent is stuck or slow: the session's reason when it gives one ("only 1 seed, sending 80 KiB/s"), else,
 * when nothing moves, what the counts say.
 */
export const stalledReason = ({ downloadRate, progress }: Shown): string | undefined => {
  if (progress.state !== "downloading") return undefined
  if (progress.reason !== undefined) return progress.reason
  return downloadRate === 0 && progress.peers === 0 ? "looking for peers" : undefined
}

/** One line of progress, for a terminal or a log. */
export const progressLine = (shown: Shown): string => {
  const p = shown.progress
  if (p.state === "checking") {
    return `checking ${percent(p.checkedPieces, p.pieceCount)} (${p.checkedPieces}/${p.pieceCount} pieces)`
  }
  const peers = `${p.peers} peer${p.peers === 1 ? "" : "s"}${p.dht === undefined ? "" : `  DHT ${p.dht.nodes} nodes`}`
  if (p.state === "seeding") {
    return `seeding  ${formatBytes(p.totalLength)}  up ${formatBytes(shown.uploadRate)}/s  uploaded ${formatBytes(p.uploaded)}  ${peers}`
  }
  const reason = stalledReason(shown)
  const webSeeds = (p.webSeeds ?? []).filter((seed) => seed.state !== "dropped").length
  return [
    `${percent(p.wantedVerified, p.wantedLength).padStart(6)}`,
    `${formatBytes(p.wantedVerified)} of ${formatBytes(p.wantedLength)}`,
    `down ${formatBytes(shown.downloadRate)}/s`,
    `up ${formatBytes(shown.uploadRate)}/s`,
    webSeeds === 0 ? peers : `${peers}  ${webSeeds} web seed${webSeeds === 1 ? "" : "s"}`,
    // While data moves the ETA stays, the reason (if slow) beside it; when nothing moves the reason replaces it.
    ...(shown.downloadRate > 0 || reason === undefined ? [`ETA ${clock(shown.eta)}`] : []),
    ...(reason === undefined ? [] : [`(${reason})`])
  ].join("  ")
}

/** The closing summary of a finished download. */
export const summaryLine = (
  name: string,
  totalLength: number,
  downloaded: number,
  seconds: number,
  directory: string
): string =>
  `${name}: complete, ${formatBytes(totalLength)} verified; downloaded ${formatBytes(downloaded)} in ${
    clock(seconds)
  } (${formatBytes(seconds > 0 ? downloaded / seconds : 0)}/s); files in ${directory}`

/** What a download stopped early (Ctrl-C) says: how far it got, and how to go on. */
export const stoppedLine = (name: string, p: TorrentProgress, directory: string): string => {
  const share = p.wantedLength === 0 ? 100 : Math.floor((100 * p.wantedVerified) / p.wantedLength)
  return p.state === "checking"
    ? `${name}: stopped while checking the data already in ${directory}; run the same command to go on`
    : `${name}: stopped at ${share} % (${formatBytes(p.wantedVerified)} of ${formatBytes(p.wantedLength)} verified` +
      `; downloaded ${formatBytes(p.downloaded)} this run) — run the same command to resume; files in ${directory}`
}

/** What a seeder says when stopped. */
export const seededLine = (name: string, p: TorrentProgress, seconds: number): string =>
  `${name}: stopped seeding; uploaded ${formatBytes(p.uploaded)} in ${clock(seconds)}`

/** One line of a magnet link's metadata fetch. */
export const metadataLine = (p: MagnetProgress): string => {
  const peers = `${p.peers} peer${p.peers === 1 ? "" : "s"}`
  const line = p.size === undefined
    ? `fetching metadata from ${peers}`
    : `fetching metadata from ${peers}: ${p.piecesReceived}/${p.pieceCount} pieces of ${formatBytes(p.size)}`
  return p.peers === 0 && p.reason !== undefined ? `${line} (${p.reason})` : line
}
