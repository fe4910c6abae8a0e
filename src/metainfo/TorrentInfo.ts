/** One file of a torrent, placed in the torrent's contiguous byte space. */
export interface TorrentFile {
  /**
   * Path components below the torrent's root. For a single-file torrent this is `[name]`; for a multi-file torrent
   * the components after the torrent's directory `name`. Every component has been checked to be safe.
   */
  readonly path: ReadonlyArray<string>
  readonly length: number
  /** Byte offset of the file's first byte in the torrent's byte space. */
  readonly offset: number
  /** A BEP 47 padding file: zeros that align the next file, never written to disk. */
  readonly padding: boolean
  /** BitTorrent v2: the root of the file's merkle tree (32 bytes), for every non-empty file of a v2 or hybrid torrent. */
  readonly piecesRoot?: Uint8Array | undefined
}

/** What a v2 or hybrid torrent (BEP 52) has besides the v1 fields. */
export interface TorrentV2 {
  /** SHA-256 of the info dictionary's original bytes (32 bytes): the v2 info-hash. */
  readonly infoHash: Uint8Array
  readonly infoHashHex: string
  /** Whether the torrent also has v1 piece hashes (`pieces`): a hybrid, checked and shared both ways. */
  readonly hybrid: boolean
  /**
   * By file index: the file's piece layer (32-byte SHA-256 piece hashes, concatenated, checked against its root)
   * for a file larger than one piece; `undefined` for other files (a smaller file's root is its one piece hash),
   * and for a torrent known by its info dictionary alone, whose layers must come from peers.
   */
  readonly pieceLayers: ReadonlyArray<Uint8Array | undefined>
}

/** A tier of tracker URLs (BEP 12): tried in order, moving to the next tier when all of a tier fail. */
export type TrackerTier = ReadonlyArray<string>

/** What a `.torrent` file says, validated. */
export interface TorrentInfo {
  /**
   * The 20-byte info-hash used on the wire, by trackers and the DHT: SHA-1 of the `info` dictionary's original
   * bytes (the v1 info-hash), or for a v2-only torrent its SHA-256 truncated to 20 bytes (BEP 52).
   */
  readonly infoHash: Uint8Array
  readonly infoHashHex: string
  /** The bencoded `info` dictionary exactly as it appeared: what BEP 9 serves to peers. */
  readonly infoBytes: Uint8Array
  readonly name: string
  readonly pieceLength: number
  readonly pieceCount: number
  /**
   * `pieceCount` SHA-1 hashes of 20 bytes each, concatenated. Use `pieceHash` to read one. Empty for a v2-only
   * torrent, whose pieces are checked with `v2` instead.
   */
  readonly pieceHashes: Uint8Array
  readonly totalLength: number
  /**
   * `single`: one file named `name`; `multi`: files inside a directory named `name`. A v2 torrent's files each
   * start on a piece boundary: padding files (listed in a hybrid, implied in a v2-only torrent) fill the gaps.
   */
  readonly layout: "single" | "multi"
  readonly files: ReadonlyArray<TorrentFile>
  /** The `announce` URL, if any. */
  readonly announce: string | undefined
  /** The `announce-list` tiers (BEP 12), empty when the torrent has none. */
  readonly announceList: ReadonlyArray<TrackerTier>
  readonly private: boolean
  /** Web seeds (BEP 19 `url-list`). */
  readonly urlList: ReadonlyArray<string>
  readonly comment: string | undefined
  readonly createdBy: string | undefined
  /** `creation date`, seconds since the Unix epoch. */
  readonly creationDate: number | undefined
  /** BitTorrent v2 (BEP 52): present for v2-only and hybrid torrents. */
  readonly v2?: TorrentV2 | undefined
}

/** `v1`, `v2` (v2-only) or `hybrid`. */
export const torrentVersion = (torrent: TorrentInfo): "v1" | "v2" | "hybrid" =>
  torrent.v2 === undefined ? "v1" : torrent.v2.hybrid ? "hybrid" : "v2"

/** The tracker tiers a client should use: `announce-list` when present (BEP 12), else the single `announce`. */
export const trackerTiers = (torrent: TorrentInfo): ReadonlyArray<TrackerTier> =>
  torrent.announceList.length > 0
    ? torrent.announceList
    : torrent.announce === undefined
    ? []
    : [[torrent.announce]]

/** The expected SHA-1 of piece `index`. */
export const pieceHash = (torrent: TorrentInfo, index: number): Uint8Array =>
  torrent.pieceHashes.subarray(index * 20, index * 20 + 20)

/** Length of piece `index`: `pieceLength`, except for a shorter last piece. */
export const pieceSize = (torrent: TorrentInfo, index: number): number =>
  index === torrent.pieceCount - 1 ? torrent.totalLength - index * torrent.pieceLength : torrent.pieceLength

/**
 * The index of the first file that ends after `offset` (files are in offset order and contiguous, so their ends never
 * decrease): the file holding byte `offset`, unless empty files sit at that offset first. `files.length` if none.
 */
export const firstFileEndingAfter = (files: ReadonlyArray<TorrentFile>, offset: number): number => {
  let lo = 0
  let hi = files.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const file = files[mid]!
    if (file.offset + file.length <= offset) lo = mid + 1
    else hi = mid
  }
  return lo
}
