import * as Effect from "effect/Effect"
import type { MagnetLink, TorrentInfo } from "../metainfo/index.js"
import { UsageError } from "./UsageError.js"

/**
 * Downloading and seeding run on v1 piece hashes for now: a hybrid torrent works (through its v1 half), a v2-only
 * torrent or magnet link is refused here with one line saying what does work with it.
 */
export const refuseV2Only = (
  what: string,
  source: { readonly torrent: TorrentInfo } | { readonly magnet: MagnetLink }
): Effect.Effect<void, UsageError> => {
  const v2Only = "torrent" in source
    ? source.torrent.v2 !== undefined && !source.torrent.v2.hybrid
    : source.magnet.infoHashV2 !== undefined && Buffer.from(source.magnet.infoHashV2).subarray(0, 20).equals(source.magnet.infoHash)
  return v2Only
    ? Effect.fail(
      new UsageError({
        message: `${what} is BitTorrent v2-only: bt can show, create and verify v2-only torrents but not yet ${
          "torrent" in source ? "download or seed them" : "download them from a magnet link"
        } (hybrid v1+v2 torrents work)`
      })
    )
    : Effect.void
}
