/**
 * The Metainfo service: `.torrent` files to validated `TorrentInfo`, magnet links to `MagnetLink`; and
 * `createTorrent`, files to `.torrent`.
 */
export {
  autoPieceLength,
  createTorrent,
  type CreateTorrentOptions,
  DEFAULT_CREATED_BY,
  MAX_AUTO_PIECE_LENGTH,
  MIN_PIECE_LENGTH,
  pieceLengthProblem
} from "./create.js"
export {
  type FileRange,
  formatEndpoint,
  formatMagnet,
  isMagnet,
  type MagnetLink,
  MAX_MAGNET_LENGTH,
  MAX_MAGNET_PEERS,
  MAX_MAGNET_TRACKERS,
  MAX_MAGNET_WEB_SEEDS,
  parseMagnet
} from "./magnet.js"
export { layer, make, MAX_TORRENT_FILE_BYTES, Metainfo } from "./Metainfo.js"
export { MetainfoError, type MetainfoErrorReason } from "./MetainfoError.js"
export {
  MAX_FILES,
  MAX_PIECE_LENGTH,
  MAX_TOTAL_LENGTH,
  type MetadataExtras,
  parseMetadata,
  parseTorrent,
  torrentFileBytes
} from "./parse.js"
export * as Merkle from "./merkle.js"
export { type MerkleCheck, pieceCheck, type PieceCheck } from "./pieceCheck.js"
export {
  pieceHash,
  pieceSize,
  type TorrentFile,
  type TorrentInfo,
  type TorrentV2,
  torrentVersion,
  trackerTiers,
  type TrackerTier
} from "./TorrentInfo.js"
export { MIN_V2_PIECE_LENGTH, pieceLayerProblem } from "./v2.js"
