import * as Data from "effect/Data"
/** Why a torrent stopped. Peer trouble never stops a torrent; only what makes progress impossible does. */
export class TorrentError extends Data.TaggedError("TorrentError")<{
  readonly reason: "Storage"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.detail
  }
}
