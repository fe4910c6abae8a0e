import { Context, Effect, Layer, type Scope } from "effect"
import type { TorrentInfo } from "../metainfo/index.js"
import type { Endpoint } from "../net/Datagram.js"
import { makeAnnounceKey, makePeerId } from "../peer/peerId.js"
import type { Transport } from "../peer/transport/Transport.js"
import type { Storage } from "../storage/index.js"
import type { Tracker } from "../tracker/index.js"
import type { Verifier } from "../verifier/index.js"
import { defaultSessionConfig, type SessionConfig } from "./SessionConfig.js"
import { startTorrent, type TorrentHandle } from "./Torrent.js"
import type { TorrentError } from "./TorrentError.js"

export interface AddOptions {
  /** The download folder: a single-file torrent's file, or a multi-file torrent's folder, goes inside it. */
  readonly directory: string
  /** Peers to connect to besides those trackers give. */
  readonly peers?: ReadonlyArray<Endpoint>
  /** Ask the torrent's trackers for peers. Default true. */
  readonly trackers?: boolean
}

/**
 * The client: one peer id and configuration shared by every torrent it runs. Each torrent runs in the scope it
 * was added in, and stops (announcing `stopped`, closing connections and files) when that scope closes.
 */
export class Session extends Context.Tag("bt/Session")<Session, {
  readonly peerId: Uint8Array
  readonly add: (torrent: TorrentInfo, options: AddOptions) => Effect.Effect<TorrentHandle, TorrentError, Scope.Scope>
}>() {}

export const make = (
  config: Partial<SessionConfig> = {}
): Effect.Effect<Session["Type"], never, Transport | Storage | Verifier | Tracker> =>
  Effect.gen(function*() {
    const settings = { ...defaultSessionConfig, ...config }
    const context = yield* Effect.context<Transport | Storage | Verifier | Tracker>()
    const peerId = makePeerId()
    const key = makeAnnounceKey()

    const add = (torrent: TorrentInfo, options: AddOptions) =>
      Effect.gen(function*() {
        const handle = yield* startTorrent({
          torrent,
          directory: options.directory,
          peerId,
          key,
          config: settings,
          useTrackers: options.trackers ?? true
        })
        if (options.peers !== undefined && options.peers.length > 0) yield* handle.addPeers(options.peers)
        return handle
      }).pipe(Effect.provide(context))

    return Session.of({ peerId, add })
  })

/** The session with default configuration; needs a Transport, Storage, Verifier and Tracker. */
export const layer: Layer.Layer<Session, never, Transport | Storage | Verifier | Tracker> = Layer.effect(Session, make())

export const layerConfig = (
  config: Partial<SessionConfig>
): Layer.Layer<Session, never, Transport | Storage | Verifier | Tracker> => Layer.effect(Session, make(config))
