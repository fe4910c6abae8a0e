import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { MagnetLink, TorrentInfo } from "../metainfo/index.js"
import type { Endpoint } from "../net/Datagram.js"
import { makeAnnounceKey, makePeerId } from "../peer/peerId.js"
import { ResumeStore } from "../resume/index.js"
import { Dht } from "../dht/Dht.js"
import { type Connection, Transport, type TransportError } from "../peer/transport/Transport.js"
import type { Storage } from "../storage/index.js"
import type { Tracker } from "../tracker/index.js"
import type { Verifier } from "../verifier/index.js"
import { obfuscatedInfoHash } from "../peer/mse/index.js"
import { BAN_CAPACITY, BanList } from "./BanList.js"
import { acceptHandshake, type Accepted } from "./encryption.js"
import { type MagnetHandle, startMagnet } from "./magnet.js"
import { defaultSessionConfig, type SessionConfig } from "./SessionConfig.js"
import { allFiles, type FilePriority, fromRanges } from "./selection.js"
import { type PeerSources, startTorrent, type TorrentHandle } from "./Torrent.js"
import { TorrentError } from "./TorrentError.js"

export interface AddOptions {
  /** The download folder: a single-file torrent's file, or a multi-file torrent's folder, goes inside it. */
  readonly directory: string
  /** Peers to connect to besides those trackers give. */
  readonly peers?: ReadonlyArray<Endpoint>
  /** Ask the torrent's trackers for peers. Default true. */
  readonly trackers?: boolean
  /** Look for peers on the session's DHT node, if it runs one (never for private torrents). Default true. */
  readonly dht?: boolean
  /**
   * Which files to fetch, once the torrent is known (a magnet's only after its metadata): given the default (every
   * file, or a magnet's `so=` selection, BEP 53), the priorities, or a sentence saying why the selection is wrong.
   */
  readonly files?: (torrent: TorrentInfo, base: ReadonlyArray<FilePriority>) => ReadonlyArray<FilePriority> | string
}

/**
 * The client: one peer id, one listening port and one configuration shared by every torrent it runs. Each torrent
 * runs in the scope it was added in, and stops (announcing `stopped`, closing connections and files) when that
 * scope closes.
 */
export class Session extends Context.Tag("bt/Session")<Session, {
  readonly peerId: Uint8Array
  /** The TCP port peers reach us on. */
  readonly port: number
  readonly add: (torrent: TorrentInfo, options: AddOptions) => Effect.Effect<TorrentHandle, TorrentError, Scope.Scope>
  /** Adds a magnet link: its metadata is fetched from peers (BEP 9), then it runs as `add` would run it. */
  readonly addMagnet: (magnet: MagnetLink, options: AddOptions) => Effect.Effect<MagnetHandle, never, Scope.Scope>
}>() {}

/** Ports tried after the configured one is taken, as other clients do. */
const PORT_ATTEMPTS = 10

export const make = (
  config: Partial<SessionConfig> = {}
): Effect.Effect<Session["Type"], TransportError, Transport | Storage | Verifier | Tracker | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = { ...defaultSessionConfig, ...config }
    const context = yield* Effect.context<Transport | Storage | Verifier | Tracker>()
    // Optional: an embedding program that provides no ResumeStore gets a full check of the data at every start.
    const resume = yield* Effect.serviceOption(ResumeStore)
    // Optional too: without a DHT node, torrents find peers through trackers, PEX and the addresses given.
    const dht = yield* Effect.serviceOption(Dht)
    const transport = yield* Transport
    const peerId = makePeerId()
    const key = makeAnnounceKey()
    /** Running torrents by info-hash (hex), for accepted connections to find theirs. */
    const torrents = new Map<string, TorrentHandle>()
    /** Their info-hashes by obfuscated info-hash (hex), for encrypted connections to find theirs (MSE). */
    const obfuscated = new Map<string, Uint8Array>()
    let handshaking = 0
    const clock = yield* Effect.clock
    const bans = new BanList({
      now: () => clock.unsafeCurrentTimeMillis(),
      banMs: Duration.toMillis(settings.banTime),
      maxBanMs: Duration.toMillis(settings.maxBanTime),
      strikesToBan: settings.banAfterStrikes,
      capacity: BAN_CAPACITY
    })

    const connections = () => {
      let total = handshaking
      for (const torrent of torrents.values()) total += torrent.connections()
      return total
    }
    const connectionAllowed = () => connections() < settings.maxConnections

    /**
     * An accepted connection: read its handshake, plaintext or after an encryption handshake (bounded in time),
     * then hand it to its torrent.
     */
    const incoming = (connection: Connection): Effect.Effect<void> =>
      Effect.async<Accepted, string>((resume) =>
        acceptHandshake(
          connection,
          {
            policy: settings.encryption,
            findTorrent: (hash) => obfuscated.get(Buffer.from(hash).toString("hex"))
          },
          (accepted) => resume(Effect.succeed(accepted)),
          (detail) => resume(Effect.fail(detail))
        )
      ).pipe(
        Effect.timeoutFail({ duration: settings.handshakeTimeout, onTimeout: () => "no handshake in time" }),
        Effect.flatMap((accepted) => {
          const torrent = torrents.get(Buffer.from(accepted.handshake.infoHash).toString("hex"))
          return torrent === undefined
            ? Effect.fail("handshake for a torrent we do not have")
            : torrent.accept(accepted.connection, accepted.handshake, accepted.rest)
        }),
        Effect.catchAll((detail) =>
          Effect.zipRight(
            Effect.sync(() => connection.destroy()),
            Effect.logDebug(`${connection.remote.host}:${connection.remote.port}: refused: ${detail}`)
          )
        ),
        Effect.ensuring(Effect.sync(() => handshaking--))
      )

    const runIncoming = yield* FiberSet.makeRuntime<never>()
    const onConnection = (connection: Connection) => {
      if (!connectionAllowed()) return connection.destroy()
      // A banned address is refused before a byte of its handshake is read: one map lookup per attempt, and a
      // debug line at the 1st, 2nd, 4th, 8th... refusal, so a peer retrying in a loop cannot flood the log.
      if (bans.refuse(connection.remote.host)) {
        connection.destroy()
        const refused = bans.refusals(connection.remote.host)
        if ((refused & (refused - 1)) === 0) {
          runIncoming(Effect.logDebug(`${connection.remote.host}: banned; refused ${refused} connections from it`))
        }
        return
      }
      handshaking++
      runIncoming(incoming(connection))
    }
    const candidatePorts = settings.port === 0
      ? [0]
      : Array.from({ length: PORT_ATTEMPTS }, (_, i) => settings.port + i).filter((port) => port <= 65535)
    const [firstHost = "0.0.0.0", ...otherHosts] = settings.listenHosts
    const listener = yield* Effect.firstSuccessOf(
      candidatePorts.map((port) => transport.listen({ host: firstHost, port }, onConnection))
    )
    for (const host of otherHosts) {
      yield* transport.listen({ host, port: listener.local.port }, onConnection).pipe(
        Effect.catchAll((error) => Effect.logWarning(`not listening on ${host}: ${error.message}`))
      )
    }

    const add = (torrent: TorrentInfo, options: AddOptions, sources?: PeerSources, base = allFiles(torrent)) =>
      Effect.gen(function*() {
        const files = options.files === undefined ? base : options.files(torrent, base)
        if (typeof files === "string") return yield* new TorrentError({ reason: "Selection", detail: files })
        const handle = yield* startTorrent({
          files,
          torrent,
          directory: options.directory,
          peerId,
          key,
          config: settings,
          port: listener.local.port,
          useTrackers: options.trackers ?? true,
          dht,
          useDht: options.dht ?? true,
          connectionAllowed,
          bans,
          resume,
          ...(sources === undefined ? {} : { sources })
        })
        const hidden = Buffer.from(obfuscatedInfoHash(torrent.infoHash)).toString("hex")
        torrents.set(torrent.infoHashHex, handle)
        obfuscated.set(hidden, torrent.infoHash)
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            torrents.delete(torrent.infoHashHex)
            obfuscated.delete(hidden)
          })
        )
        if (options.peers !== undefined && options.peers.length > 0) yield* handle.addPeers(options.peers)
        return handle
      }).pipe(Effect.provide(context))

    const addMagnet = (magnet: MagnetLink, options: AddOptions) =>
      startMagnet({
        magnet,
        peerId,
        key,
        port: listener.local.port,
        config: settings,
        useTrackers: options.trackers ?? true,
        dht: (options.dht ?? true) ? dht : Option.none(),
        peers: options.peers ?? [],
        connectionAllowed,
        bans,
        resume,
        start: (torrent, peers, sources) =>
          // The magnet's announce loop goes on serving the torrent: it runs none of its own.
          add(
            torrent,
            { ...options, peers, trackers: false, dht: false },
            sources,
            fromRanges(torrent, magnet.selectOnly)
          )
      }).pipe(Effect.provide(context))

    return Session.of({ peerId, port: listener.local.port, add: (torrent, options) => add(torrent, options), addMagnet })
  })

/**
 * The session with default configuration, listening on port 6881 (or the next free one of the ten after it).
 * Needs a Transport, Storage, Verifier and Tracker.
 */
export const layer: Layer.Layer<Session, TransportError, Transport | Storage | Verifier | Tracker> = Layer.scoped(
  Session,
  make()
)

export const layerConfig = (
  config: Partial<SessionConfig>
): Layer.Layer<Session, TransportError, Transport | Storage | Verifier | Tracker> => Layer.scoped(Session, make(config))
