import * as Data from "effect/Data"
/** Why a torrent stopped. Peer trouble never stops a torrent; only what makes progress impossible does. */
export class TorrentError extends Data.TaggedError("TorrentError")<{
  /**
   * `Storage`: the disk failed us. `Metadata`: a magnet link's fetched metadata is not a valid torrent.
   * `Selection`: the files asked for do not exist in the torrent. `Stopped`: the torrent stopped (or was removed)
   * while something waited on it.
   */
  readonly reason: "Storage" | "Metadata" | "Selection" | "Stopped"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.detail
  }
}
