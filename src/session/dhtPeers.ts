import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Dht } from "../dht/Dht.js"
import type { Endpoint } from "../net/Datagram.js"
import type { SessionConfig } from "./SessionConfig.js"

/**
 * A torrent's DHT peer source, forked into the current scope: a `get_peers` lookup for the info-hash now and then
 * on `config.dhtAnnounce`, its peers handed to `onPeers` as they come, each ending with an `announce_peer` of our
 * TCP port to the closest nodes (BEP 5).
 */
export const lookForPeers = (
  dht: Dht["Type"],
  infoHash: Uint8Array,
  port: number,
  config: SessionConfig,
  onPeers: (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void>
): Effect.Effect<void, never, Scope.Scope> =>
  dht.getPeers(infoHash, { announcePort: port, onPeers }).pipe(
    Effect.repeat(config.dhtAnnounce),
    Effect.annotateLogs("dht", "lookups"),
    Effect.forkScoped,
    Effect.asVoid
  )
