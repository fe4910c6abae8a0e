import * as Effect from "effect/Effect"
import type { MagnetLink } from "../metainfo/index.js"
import { CommandFailed } from "./UsageError.js"

/**
 * A magnet link with only a v2 info-hash (`urn:btmh`) cannot be downloaded yet: the info dictionary fetched from
 * peers is checked against a SHA-1 info-hash, and its piece layers would have to come from peers (BEP 52 hash
 * requests), which bt does not send yet. Refused here with one line; a `.torrent` of the same data works.
 */
export const refuseV2OnlyMagnet = (magnet: MagnetLink): Effect.Effect<void, CommandFailed> =>
  magnet.infoHashV2 !== undefined && Buffer.from(magnet.infoHashV2).subarray(0, 20).equals(magnet.infoHash)
    ? Effect.fail(
      new CommandFailed({
        message: "the magnet link is BitTorrent v2-only (urn:btmh without urn:btih): bt cannot download those yet; " +
          "use its .torrent file, or a hybrid link"
      })
    )
    : Effect.void
