/** The torrent session: peers, pieces, verification and storage working together. */
export type { MagnetHandle, MagnetProgress } from "./magnet.js"
export type { MetadataProgress } from "./metadata/fetchMetadata.js"
export { isFinal, PeerError, type PeerErrorReason } from "../peer/PeerError.js"
export { type AddOptions, layer, layerConfig, make, Session } from "./Session.js"
export { defaultSessionConfig, type SessionConfig } from "./SessionConfig.js"
export {
  allFiles,
  type FilePriority,
  fromRanges,
  matchFiles,
  piecePriorities,
  selectFiles,
  skippedFiles
} from "./selection.js"
export { type StallSnapshot, stallReason, trackerSummary } from "./stallReason.js"
export type { PeerInfo, PeerSources, TorrentHandle, TorrentOptions, TorrentProgress } from "./Torrent.js"
export { TorrentError } from "./TorrentError.js"
