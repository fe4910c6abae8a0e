import * as Data from "effect/Data"
export type MetainfoErrorReason =
  /** The .torrent file could not be found or read. */
  | "Unreadable"
  /** The file is larger than any plausible .torrent. */
  | "TooLarge"
  /** The bytes are not valid bencode. */
  | "InvalidBencode"
  /** A required field is missing or has the wrong type. */
  | "InvalidField"
  /** `pieces`, `piece length` and the total length do not describe the same data. */
  | "InvalidPieces"
  /** A file length is negative, absurd, or the torrent holds no data. */
  | "InvalidLength"
  /** A file name could escape the download folder or collide with another file. */
  | "UnsafePath"
  /** Valid, but a kind of torrent we do not handle (BitTorrent v2-only, as a .torrent or a magnet link). */
  | "Unsupported"
  /** A magnet link that is malformed: no BitTorrent info-hash, a bad escape, a bad peer address, and so on. */
  | "InvalidMagnet"

/** Why a torrent or a magnet link could not be loaded. `message` is one sentence fit to show a user. */
export class MetainfoError extends Data.TaggedError("MetainfoError")<{
  readonly reason: MetainfoErrorReason
  /** Where the torrent came from (a path), when known; magnet links have none (the detail says "magnet link"). */
  readonly source?: string | undefined
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.source === undefined ? this.detail : `${this.source}: ${this.detail}`
  }
}
