import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Endpoint } from "../../net/Datagram.js"
import { dialPeer } from "../../peer/encryption.js"
import { Transport } from "../../peer/transport/Transport.js"
import type { ExternalAddresses } from "../externalAddresses.js"
import type { BanList } from "../BanList.js"
import { type Dialer, makeDialer } from "../Dialer.js"
import { runLink } from "../runLink.js"
import type { SessionConfig } from "../SessionConfig.js"
import { MetadataLink, MetadataSwarm } from "./MetadataLink.js"

export interface MetadataProgress {
  /** Peers connected that offer the metadata, or may. */
  readonly peers: number
  /** The info dictionary's size, once a peer stated it. */
  readonly size: number | undefined
  readonly piecesReceived: number
  readonly pieceCount: number
}

/** A magnet link's metadata being fetched. It stops when the scope it was started in closes. */
export interface MetadataFetch {
  /** Adds peer addresses to ask. */
  readonly addPeers: (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void>
  readonly progress: () => MetadataProgress
  /** The verified info dictionary: its SHA-1 is the info-hash, or its SHA-256 a v2 magnet's. */
  readonly metadata: Effect.Effect<Uint8Array>
  /** Every peer address heard of, to hand to the torrent once the metadata is known. */
  readonly known: () => ReadonlyArray<Endpoint>
}

export interface MetadataFetchOptions {
  readonly infoHash: Uint8Array
  /** A v2 magnet's SHA-256 info-hash (`urn:btmh`), when it has one. */
  readonly infoHashV2?: Uint8Array | undefined
  readonly peerId: Uint8Array
  readonly config: SessionConfig
  /** The port we listen on. */
  readonly port: number
  /** Whether another connection may be opened, over all torrents of the session. */
  readonly connectionAllowed: () => boolean
  /** The session's bans, by IP address. */
  readonly bans: BanList
  /** The session's view of our own addresses: never dialled with our port. */
  readonly external?: ExternalAddresses
  /** The metadata, known already (saved by an earlier run and checked): nothing is fetched. */
  readonly known?: Uint8Array
}

/**
 * Fetches the info dictionary of a magnet link from the peers given (BEP 9): several at once, one supervised fiber
 * per peer, each piece asked of one peer and re-asked elsewhere when it lapses; metadata that hashes wrong is
 * fetched again and its sender banned. Runs until its scope closes; `metadata` completes once.
 */
export const startMetadataFetch = (
  options: MetadataFetchOptions
): Effect.Effect<MetadataFetch, never, Scope.Scope | Transport> =>
  Effect.gen(function*() {
    const { config } = options
    const transport = yield* Transport
    const clock = yield* Effect.clock
    const result = yield* Deferred.make<Uint8Array>()
    let dialer: Dialer | undefined
    // Peers learned through PEX arrive in plain code; their dialling runs as fibers of this scope.
    const runFork = yield* FiberSet.makeRuntime<never>()
    const swarm = new MetadataSwarm({
      infoHash: options.infoHash,
      infoHashV2: options.infoHashV2,
      peerId: options.peerId,
      port: options.port,
      now: () => clock.unsafeCurrentTimeMillis(),
      onPeers: (peers) => {
        if (dialer !== undefined) runFork(dialer.add(peers))
      },
      onMetadata: (metadata) => Deferred.unsafeDone(result, Effect.succeed(metadata)),
      bans: options.bans
    })
    const plaintextPeers = new Set<string>()
    const started: Dialer = yield* makeDialer({
      ownPort: options.port,
      isSelf: (address) => options.external?.isSelf(address, options.port) === true,
      roomForPeer: (): boolean =>
        swarm.metadata === undefined && started.active.size < config.maxPeers && options.connectionAllowed(),
      banned: (address) => options.bans.isBanned(address.host),
      connect: (address) =>
        dialPeer(transport, config, address, options.infoHash, plaintextPeers, (connection) =>
          runLink(
            config,
            connection,
            (events) => new MetadataLink(connection, swarm, events),
            (link) => link.start()
          )),
      reconnect: config.reconnect
    })
    dialer = started
    if (options.known !== undefined) {
      swarm.metadata = options.known
      yield* Deferred.succeed(result, options.known)
    }
    const requestMs = Duration.toMillis(config.requestTimeout)
    yield* Effect.sync(() => swarm.tick(requestMs)).pipe(Effect.schedule(Schedule.spaced(config.tick)), Effect.forkScoped)
    return {
      addPeers: started.add,
      progress: () => ({
        peers: swarm.links.size,
        size: swarm.assembler.metadataSize,
        piecesReceived: swarm.assembler.received,
        pieceCount: swarm.assembler.pieceCount
      }),
      metadata: Deferred.await(result),
      known: started.known
    }
  })
