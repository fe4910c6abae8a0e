import type { MagnetProgress, TorrentProgress } from "../session/index.js"
import { formatBytes } from "./format.js"

const clock = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "--:--"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`
}

const percent = (part: number, whole: number): string => `${(whole === 0 ? 100 : (100 * part) / whole).toFixed(1)}%`

/** One line of progress, for a terminal or a log. */
export const progressLine = (p: TorrentProgress): string => {
  if (p.state === "checking") {
    return `checking ${percent(p.checkedPieces, p.pieceCount)} (${p.checkedPieces}/${p.pieceCount} pieces)`
  }
  const peers = `${p.peers} peer${p.peers === 1 ? "" : "s"}${p.dht === undefined ? "" : `  DHT ${p.dht.nodes} nodes`}`
  if (p.state === "seeding") {
    return `seeding  ${formatBytes(p.totalLength)}  up ${formatBytes(p.uploadRate)}/s  uploaded ${formatBytes(p.uploaded)}  ${peers}`
  }
  const left = p.wantedLength - p.wantedVerified
  const eta = p.downloadRate > 0 ? left / p.downloadRate : Infinity
  return [
    `${percent(p.wantedVerified, p.wantedLength).padStart(6)}`,
    `${formatBytes(p.wantedVerified)} of ${formatBytes(p.wantedLength)}`,
    `down ${formatBytes(p.downloadRate)}/s`,
    `up ${formatBytes(p.uploadRate)}/s`,
    peers,
    `ETA ${clock(eta)}`,
    ...(p.reason === undefined ? [] : [`(${p.reason})`])
  ].join("  ")
}

/** The closing summary of a finished download. */
export const summaryLine = (name: string, totalLength: number, downloaded: number, seconds: number): string =>
  `${name}: complete, ${formatBytes(totalLength)} verified; downloaded ${formatBytes(downloaded)} in ${
    clock(seconds)
  } (${formatBytes(seconds > 0 ? downloaded / seconds : 0)}/s)`

/** One line of a magnet link's metadata fetch. */
export const metadataLine = (p: MagnetProgress): string => {
  const peers = `${p.peers} peer${p.peers === 1 ? "" : "s"}`
  const line = p.size === undefined
    ? `fetching metadata from ${peers}`
    : `fetching metadata from ${peers}: ${p.piecesReceived}/${p.pieceCount} pieces of ${formatBytes(p.size)}`
  return p.peers === 0 && p.reason !== undefined ? `${line} (${p.reason})` : line
}
