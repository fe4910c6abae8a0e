import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { type MagnetLink, parseMetadata, type TorrentInfo } from "../metainfo/index.js"
import type { Endpoint } from "../net/Datagram.js"
import type { Transport } from "../peer/transport/Transport.js"
import { startAnnouncing, type Tracker } from "../tracker/index.js"
import { type MetadataProgress, startMetadataFetch } from "./metadata/fetchMetadata.js"
import type { SessionConfig } from "./SessionConfig.js"
import type { TorrentHandle } from "./Torrent.js"
import { TorrentError } from "./TorrentError.js"

/**
 * What we tell trackers is left while the size is unknown: not 0, which would say we seed and get us no seeders.
 */
const UNKNOWN_LEFT = 16384

/** A torrent added by magnet link: its metadata being fetched, then the torrent itself. */
export interface MagnetHandle {
  readonly magnet: MagnetLink
  /** How the metadata fetch goes; frozen once the torrent has started. */
  readonly metadataProgress: () => MetadataProgress
  /** The torrent, once its metadata is fetched, verified and started. */
  readonly torrent: Effect.Effect<TorrentHandle, TorrentError>
}

export interface MagnetOptions {
  readonly magnet: MagnetLink
  readonly peerId: Uint8Array
  readonly key: number
  readonly port: number
  readonly config: SessionConfig
  readonly useTrackers: boolean
  /** Peers to ask besides the link's `x.pe` and the trackers'. */
  readonly peers: ReadonlyArray<Endpoint>
  readonly connectionAllowed: () => boolean
  /** Starts the torrent once the metadata is known, with the peers heard of so far (trackers are ours to run). */
  readonly start: (
    torrent: TorrentInfo,
    peers: ReadonlyArray<Endpoint>
  ) => Effect.Effect<TorrentHandle, TorrentError, Scope.Scope>
}

/**
 * Starts a magnet link in the current scope: fetches the info dictionary from the link's peers and its trackers'
 * (BEP 9), then starts the torrent. One announce loop serves both phases, so trackers see one `started`.
 */
export const startMagnet = (
  options: MagnetOptions
): Effect.Effect<MagnetHandle, never, Scope.Scope | Transport | Tracker> =>
  Effect.gen(function*() {
    const { magnet } = options
    const scope = yield* Effect.scope
    const fetchScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    const fetch = yield* startMetadataFetch({
      infoHash: magnet.infoHash,
      peerId: options.peerId,
      config: options.config,
      port: options.port,
      connectionAllowed: options.connectionAllowed
    }).pipe(Scope.extend(fetchScope))
    const started = yield* Deferred.make<TorrentHandle, TorrentError>()
    let handle: TorrentHandle | undefined
    /** The fetch's progress as it ended (its links close with it). */
    let final: MetadataProgress | undefined

    if (options.useTrackers) {
      yield* startAnnouncing({
        tiers: magnet.trackers,
        infoHash: magnet.infoHash,
        peerId: options.peerId,
        port: options.port,
        key: options.key,
        stats: Effect.suspend(() =>
          handle === undefined ? Effect.succeed({ uploaded: 0, downloaded: 0, left: UNKNOWN_LEFT }) : handle.transferStats
        ),
        onPeers: (found) => handle === undefined ? fetch.addPeers(found) : handle.addPeers(found),
        completed: Deferred.await(started).pipe(
          Effect.flatMap((torrent) => torrent.downloadCompleted),
          Effect.orElse(() => Effect.never)
        )
      })
    }
    yield* fetch.addPeers([...magnet.peers, ...options.peers])

    const source = magnet.name === undefined ? `magnet ${magnet.infoHashHex}` : `magnet "${magnet.name}"`
    yield* Effect.gen(function*() {
      const metadata = yield* fetch.metadata
      const known = fetch.known()
      const progress = fetch.progress()
      final = progress
      yield* Scope.close(fetchScope, Exit.void)
      const parsed = parseMetadata(metadata, { trackers: magnet.trackers, source })
      if (Either.isLeft(parsed)) {
        return yield* new TorrentError({ reason: "Metadata", detail: parsed.left.message, cause: parsed.left })
      }
      yield* Effect.logDebug(`metadata of ${parsed.right.name}: ${metadata.length} bytes from ${progress.peers} peers`)
      // The torrent runs in the scope the magnet was added in, not in this fiber's.
      handle = yield* options.start(parsed.right, known).pipe(Scope.extend(scope))
      yield* Deferred.succeed(started, handle)
    }).pipe(
      Effect.catchAll((error) => Deferred.fail(started, error)),
      Effect.forkScoped
    )

    return { magnet, metadataProgress: () => final ?? fetch.progress(), torrent: Deferred.await(started) }
  })
