import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { type MagnetLink, parseMetadata, type TorrentInfo } from "../metainfo/index.js"
import type { Dht } from "../dht/Dht.js"
import type { Endpoint } from "../net/Datagram.js"
import type { Transport } from "../peer/transport/Transport.js"
import type { ResumeStore } from "../resume/index.js"
import { type AnnounceHooks, type Announcer, startAnnouncing, type Tracker, type TrackerStatus } from "../tracker/index.js"
import type { BanList } from "./BanList.js"
import type { ExternalAddresses } from "./externalAddresses.js"
import { type MetadataProgress, startMetadataFetch } from "./metadata/fetchMetadata.js"
import { metadataMatches } from "./metadata/MetadataAssembler.js"
import { lookForPeers } from "./dhtPeers.js"
import type { SessionConfig } from "./SessionConfig.js"
import { stallReason } from "./stallReason.js"
import type { PeerSources, TorrentHandle } from "./Torrent.js"
import { TorrentError } from "./TorrentError.js"

/**
 * What we tell trackers is left while the size is unknown: not 0, which would say we seed and get us no seeders.
 */
const UNKNOWN_LEFT = 16384

/** How a magnet link's metadata fetch goes, with its trackers and why it waits, if it does. */
export interface MagnetProgress extends MetadataProgress {
  readonly trackers: ReadonlyArray<TrackerStatus>
  readonly reason?: string
}

/** A torrent added by magnet link: its metadata being fetched, then the torrent itself. */
export interface MagnetHandle {
  readonly magnet: MagnetLink
  /** The metadata was saved by an earlier run: nothing is fetched. */
  readonly savedMetadata: boolean
  /** How the metadata fetch goes (frozen once the torrent has started), with the trackers' state. */
  readonly metadataProgress: () => MagnetProgress
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
  /** The session's DHT node, to look for the link's peers on. */
  readonly dht: Option.Option<Dht["Type"]>
  /** Peers to ask besides the link's `x.pe` and the trackers'. */
  readonly peers: ReadonlyArray<Endpoint>
  readonly connectionAllowed: () => boolean
  /** The session's bans, by IP address. */
  readonly bans: BanList
  /** The session's view of our own addresses: trackers' `external ip` feed it. */
  readonly external?: ExternalAddresses
  /** Where fetched metadata is kept for the next run, if anywhere. */
  readonly resume: Option.Option<ResumeStore["Type"]>
  /** Tracker reports and "announce now", for a client that shows them. */
  readonly announce?: AnnounceHooks
  /**
   * Starts the torrent once the metadata is known, with the peers heard of so far (trackers and DHT are ours to
   * run: `sources` tells their state).
   */
  readonly start: (
    torrent: TorrentInfo,
    peers: ReadonlyArray<Endpoint>,
    sources: PeerSources
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
    // Metadata saved by an earlier run, if it still hashes right, spares fetching it.
    const saved = Option.isNone(options.resume)
      ? Option.none<Uint8Array>()
      : Option.filter(
        yield* options.resume.value.loadMetadata(magnet.infoHashHex),
        (bytes) => metadataMatches(bytes, magnet.infoHash, magnet.infoHashV2)
      )
    const fetch = yield* startMetadataFetch({
      infoHash: magnet.infoHash,
      infoHashV2: magnet.infoHashV2,
      peerId: options.peerId,
      config: options.config,
      port: options.port,
      connectionAllowed: options.connectionAllowed,
      bans: options.bans,
      ...(options.external === undefined ? {} : { external: options.external }),
      ...(Option.isSome(saved) ? { known: saved.value } : {})
    }).pipe(Scope.extend(fetchScope))
    /** A tracker's BEP 24 `external ip`: one vote for our own address. */
    const onExternalIp = (address: string, url: string) => options.external?.fromTracker(url, address)
    const torrent = yield* Deferred.make<TorrentHandle, TorrentError>()
    let handle: TorrentHandle | undefined
    /** Peers heard of between the end of the fetch and the torrent's start. */
    let pending: Array<Endpoint> | undefined
    /** The fetch's progress as it ended (its links close with it). */
    let final: MetadataProgress | undefined

    /** Peers from trackers and the DHT: to the fetch, then to the torrent (kept in between). */
    const routePeers = (found: ReadonlyArray<Endpoint>): Effect.Effect<void> =>
      handle !== undefined
        ? handle.addPeers(found)
        : pending !== undefined
        ? Effect.sync(() => pending!.push(...found))
        : fetch.addPeers(found)

    let announcer: Announcer | undefined
    /** Peers the DHT found so far, while it is asked. */
    let dhtFound: number | undefined
    const sources: PeerSources = { trackers: () => announcer?.status() ?? [], dhtPeers: () => dhtFound }
    if (options.useTrackers) {
      announcer = yield* startAnnouncing({
        timing: options.config.announce,
        tiers: magnet.trackers,
        infoHash: magnet.infoHash,
        peerId: options.peerId,
        port: options.port,
        key: options.key,
        stats: Effect.suspend(() =>
          handle === undefined ? Effect.succeed({ uploaded: 0, downloaded: 0, left: UNKNOWN_LEFT }) : handle.transferStats
        ),
        onPeers: routePeers,
        onExternalIp,
        completed: Deferred.await(torrent).pipe(
          Effect.flatMap((torrent) => torrent.downloadCompleted),
          Effect.orElse(() => Effect.never)
        ),
        ...(options.announce === undefined ? {} : { hooks: options.announce })
      })
    }
    // The DHT may be asked before the metadata says whether the torrent is private; a private one stops it then.
    const dhtScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    if (Option.isSome(options.dht)) {
      dhtFound = 0
      yield* lookForPeers(options.dht.value, magnet.infoHash, options.port, options.config, (found) => {
        dhtFound = (dhtFound ?? 0) + found.length
        return routePeers(found)
      }).pipe(Scope.extend(dhtScope))
    }
    yield* fetch.addPeers([...magnet.peers, ...options.peers])

    /**
     * A hybrid is announced under both its wire hashes (BEP 52), as one from a `.torrent` is: the magnet's hash from
     * the start, the other once the metadata shows it is a hybrid. Progress shows the magnet's hash's trackers.
     */
    const announceOtherHash = (parsed: TorrentInfo, started: TorrentHandle) =>
      Effect.gen(function*() {
        if (parsed.v2?.hybrid !== true) return
        const other = [parsed.infoHash, parsed.v2.infoHash.subarray(0, 20)]
          .find((hash) => !Buffer.from(hash).equals(magnet.infoHash))
        if (other === undefined) return
        if (options.useTrackers) {
          yield* startAnnouncing({
            timing: options.config.announce,
            tiers: magnet.trackers,
            infoHash: other,
            peerId: options.peerId,
            port: options.port,
            key: options.key,
            stats: started.transferStats,
            onPeers: routePeers,
            onExternalIp,
            completed: started.downloadCompleted
          })
        }
        if (Option.isSome(options.dht) && !parsed.private) {
          yield* lookForPeers(options.dht.value, other, options.port, options.config, (found) => {
            dhtFound = (dhtFound ?? 0) + found.length
            return routePeers(found)
          })
        }
      })

    const source = magnet.name === undefined ? `magnet ${magnet.infoHashHex}` : `magnet "${magnet.name}"`
    yield* Effect.gen(function*() {
      const metadata = yield* fetch.metadata
      const known = fetch.known()
      const progress = fetch.progress()
      final = progress
      pending = []
      yield* Scope.close(fetchScope, Exit.void)
      if (Option.isNone(saved) && Option.isSome(options.resume)) {
        yield* options.resume.value.saveMetadata(magnet.infoHashHex, metadata).pipe(
          Effect.catchAll((error) => Effect.logWarning(error.message))
        )
      }
      const parsed = parseMetadata(metadata, { trackers: magnet.trackers, source })
      if (Either.isLeft(parsed)) {
        return yield* new TorrentError({ reason: "Metadata", detail: parsed.left.message, cause: parsed.left })
      }
      yield* Effect.logDebug(`metadata of ${parsed.right.name}: ${metadata.length} bytes from ${progress.peers} peers`)
      // BEP 27: a private torrent's peers come from its trackers only.
      if (parsed.right.private) {
        yield* Scope.close(dhtScope, Exit.void)
        dhtFound = undefined
      }
      // The torrent runs in the scope the magnet was added in, not in this fiber's.
      const started = yield* options.start(parsed.right, known, sources).pipe(Scope.extend(scope))
      handle = started
      yield* announceOtherHash(parsed.right, started).pipe(Scope.extend(scope))
      yield* started.addPeers(pending)
      yield* Deferred.succeed(torrent, started)
    }).pipe(
      Effect.catchAll((error) => Deferred.fail(torrent, error)),
      Effect.forkScoped
    )

    const metadataProgress = (): MagnetProgress => {
      const progress = final ?? fetch.progress()
      const trackers = sources.trackers()
      const reason = final !== undefined ? undefined : stallReason({
        state: "metadata",
        peers: progress.peers,
        settling: 0,
        interesting: progress.peers,
        chokingUs: 0,
        seeds: 0,
        downloadRate: 0,
        uploadRate: 0,
        trackers,
        dhtPeers: dhtFound,
        diskBehind: false
      })
      return { ...progress, trackers, ...(reason === undefined ? {} : { reason }) }
    }

    return { magnet, savedMetadata: Option.isSome(saved), metadataProgress, torrent: Deferred.await(torrent) }
  })
