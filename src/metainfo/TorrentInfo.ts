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
}

/** A tier of tracker URLs (BEP 12): tried in order, moving to the next tier when all of a tier fail. */
export type TrackerTier = ReadonlyArray<string>

/** What a `.torrent` file says, validated. */
export interface TorrentInfo {
  /** SHA-1 of the `info` dictionary's original bytes (v1 info-hash). */
  readonly infoHash: Uint8Array
  readonly infoHashHex: string
  /** The bencoded `info` dictionary exactly as it appeared: what BEP 9 serves to peers. */
  readonly infoBytes: Uint8Array
  readonly name: string
  readonly pieceLength: number
  readonly pieceCount: number
  /** `pieceCount` SHA-1 hashes of 20 bytes each, concatenated. Use `pieceHash` to read one. */
  readonly pieceHashes: Uint8Array
  readonly totalLength: number
  /** `single`: one file named `name`; `multi`: files inside a directory named `name`. */
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
}

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
