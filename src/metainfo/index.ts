/** The Metainfo service: `.torrent` files to validated `TorrentInfo`. */
export { layer, make, MAX_TORRENT_FILE_BYTES, Metainfo } from "./Metainfo.js"
export { MetainfoError, type MetainfoErrorReason } from "./MetainfoError.js"
export { MAX_FILES, MAX_PIECE_LENGTH, MAX_TOTAL_LENGTH, parseTorrent } from "./parse.js"
export { pieceHash, pieceSize, type TorrentFile, type TorrentInfo, trackerTiers, type TrackerTier } from "./TorrentInfo.js"
