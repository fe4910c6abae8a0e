/** The Metainfo service: `.torrent` files to validated `TorrentInfo`; and `createTorrent`, files to `.torrent`. */
export {
  autoPieceLength,
  createTorrent,
  type CreateTorrentOptions,
  DEFAULT_CREATED_BY,
  MAX_AUTO_PIECE_LENGTH,
  MIN_PIECE_LENGTH,
  pieceLengthProblem
} from "./create.js"
export { layer, make, MAX_TORRENT_FILE_BYTES, Metainfo } from "./Metainfo.js"
export { MetainfoError, type MetainfoErrorReason } from "./MetainfoError.js"
export { MAX_FILES, MAX_PIECE_LENGTH, MAX_TOTAL_LENGTH, parseTorrent } from "./parse.js"
export { pieceHash, pieceSize, type TorrentFile, type TorrentInfo, trackerTiers, type TrackerTier } from "./TorrentInfo.js"
