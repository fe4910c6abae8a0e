import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { MagnetLink, TorrentInfo } from "../metainfo/index.js"
import type { Endpoint } from "../net/Datagram.js"
import { acceptHandshake, type Accepted, type EncryptionPolicy } from "../peer/encryption.js"
import { makeAnnounceKey, makePeerId } from "../peer/peerId.js"
import { ResumeStore } from "../resume/index.js"
import { Dht, type DhtStats } from "../dht/Dht.js"
import { type Connection, Transport, type TransportError } from "../peer/transport/Transport.js"
import { Storage } from "../storage/index.js"
import { type AnnounceHooks, Tracker } from "../tracker/index.js"
import { Verifier } from "../verifier/index.js"
import { WebSeed } from "../webseed/WebSeed.js"
import { obfuscatedInfoHash } from "../peer/mse/index.js"
import { BAN_CAPACITY, BanList } from "./BanList.js"
import { Direction, TokenBucket } from "../peer/transport/RateLimit.js"
import { clockTimers, throttle } from "../peer/transport/Throttled.js"
import { type MagnetHandle, startMagnet } from "./magnet.js"
import { defaultSessionConfig, type SessionConfig } from "./SessionConfig.js"
import { allFiles, type FilePriority, fromRanges } from "./selection.js"
import { type PeerSources, startTorrent, type TorrentHandle } from "./Torrent.js"
import { ExternalAddresses, type ExternalAddressReport } from "./externalAddresses.js"
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
  /** Fetch pieces in order, for playing while downloading (see `TorrentOptions.sequential`). Default false. */
  readonly sequential?: boolean
  /** Peer connections for this torrent; default the session's `maxPeers`. */
  readonly maxPeers?: number
  /**
   * Wraps each of the torrent's peer connections, dialled or accepted (after the handshake): rate limits hook in
   * here, at the transport seam, below the peer protocol.
   */
  readonly wrapConnection?: (connection: Connection) => Connection
  /** Tracker reports and "announce now" (a magnet link's hooks serve its torrent too). */
  readonly announce?: AnnounceHooks
  /** Web seeds (BEP 19) besides the torrent's own `url-list` (a magnet link's `ws=` are added by `addMagnet`). */
  readonly webSeeds?: ReadonlyArray<string>
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
  /** Changes the most peer connections over all torrents (`maxConnections`); open ones above it stay. */
  readonly setMaxConnections: (count: number) => Effect.Effect<void>
  /** Changes the encryption policy (`encryption`) of the connections accepted and dialled from now on. */
  readonly setEncryption: (policy: EncryptionPolicy) => Effect.Effect<void>
  /**
   * Incoming connections whose handshake named a torrent we run, since the session started: evidence that peers can
   * reach our port (from the LAN or the internet: we cannot tell which).
   */
  readonly acceptedPeers: Effect.Effect<number>
  /** Nodes in the DHT node's routing table; undefined when the session runs no DHT node. */
  readonly dhtNodes: Effect.Effect<number | undefined>
  /**
   * Our own addresses as the swarm sees them (peers' `yourip`, trackers' `external ip`, the DHT's `ip` vote, the
   * gateway's answer to port mapping), IPv4 and IPv6 apart: torrents never dial them with our port, and answer a
   * rendezvous naming them with "no self" (BEP 55).
   */
  readonly externalAddresses: Effect.Effect<ExternalAddressReport>
  /** An address from outside the swarm: the gateway's (port mapping) or a tracker's `external ip` (by its host). */
  readonly learnExternal: (from: { readonly gateway: true } | { readonly tracker: string }, address: string) => Effect.Effect<void>
}>() {}

/** How often the session reads the external address the DHT's `ip` vote settled on. */
const DHT_ADDRESS_POLL = Schedule.spaced(Duration.seconds(30))

/** Ports tried after the configured one is taken, as other clients do. */
const PORT_ATTEMPTS = 10

export const make = (
  config: Partial<SessionConfig> = {}
): Effect.Effect<Session["Type"], TransportError, Transport | Storage | Verifier | Tracker | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = { ...defaultSessionConfig, ...config }
    // Only these services: the whole context would carry this layer's Scope too, and `add` would then run each
    // torrent in the session's scope instead of the caller's (a torrent could not be stopped before the session).
    const context = Context.pick(Transport, Storage, Verifier, Tracker)(
      yield* Effect.context<Transport | Storage | Verifier | Tracker>()
    )
    // Optional: an embedding program that provides no ResumeStore gets a full check of the data at every start.
    const resume = yield* Effect.serviceOption(ResumeStore)
    // Optional too: without a DHT node, torrents find peers through trackers, PEX and the addresses given.
    const dht = yield* Effect.serviceOption(Dht)
    // Optional too: without a WebSeed service, torrents' web seeds (`url-list`, `ws=`) are not used.
    const webSeed = yield* Effect.serviceOption(WebSeed)
    const transport = yield* Transport
    const peerId = makePeerId()
    const key = makeAnnounceKey()
    /** Running torrents by info-hash (hex), for accepted connections to find theirs. */
    const torrents = new Map<string, TorrentHandle>()
    /** Their connection wrappers, for accepted connections. */
    const wrappers = new Map<string, (connection: Connection) => Connection>()
    /** Their info-hashes by obfuscated info-hash (hex), for encrypted connections to find theirs (MSE). */
    const obfuscated = new Map<string, Uint8Array>()
    let handshaking = 0
    let acceptedPeers = 0
    const clock = yield* Effect.clock
    const bans = new BanList({
      now: () => clock.unsafeCurrentTimeMillis(),
      banMs: Duration.toMillis(settings.banTime),
      maxBanMs: Duration.toMillis(settings.maxBanTime),
      strikesToBan: settings.banAfterStrikes,
      capacity: BAN_CAPACITY
    })
    const external = new ExternalAddresses({ now: () => clock.unsafeCurrentTimeMillis() })
    const dhtAddresses = (stats: DhtStats) => {
      external.fromDht("ipv4", stats.externalAddress)
      external.fromDht("ipv6", stats.ipv6?.externalAddress)
    }
    // The DHT keeps its own vote (BEP 42): what it settled on is read now and then (and whenever asked); what the
    // gateway or a majority of peers told goes the other way, to the DHT's next id.
    if (Option.isSome(dht)) {
      const node = dht.value
      const exchange = Effect.zipRight(
        Effect.map(node.stats, dhtAddresses),
        Effect.forEach(["ipv4", "ipv6"] as const, (family) => {
          const known = external.publicAddress(family)
          return known === undefined || known.source === "dht" ? Effect.void : node.externalAddressKnown(known.address)
        }, { discard: true })
      )
      yield* exchange.pipe(Effect.repeat(DHT_ADDRESS_POLL), Effect.forkScoped)
    }

    const connections = () => {
      let total = handshaking
      // A hybrid is listed under both its hashes: counted once.
      for (const torrent of new Set(torrents.values())) total += torrent.connections()
      return total
    }
    let maxConnections = settings.maxConnections
    let encryption = settings.encryption
    /** A torrent's config: the session's, its encryption policy read live (`setEncryption`) at each dial. */
    const liveConfig = (config: SessionConfig): SessionConfig =>
      Object.defineProperty({ ...config }, "encryption", { get: () => encryption, enumerable: true })
    const connectionAllowed = () => connections() < maxConnections

    /**
     * An accepted connection: read its handshake, plaintext or after an encryption handshake (bounded in time),
     * then hand it to its torrent.
     */
    const incoming = (connection: Connection): Effect.Effect<void> =>
      Effect.async<Accepted, string>((resume) =>
        acceptHandshake(
          connection,
          {
            policy: encryption,
            findTorrent: (hash) => obfuscated.get(Buffer.from(hash).toString("hex"))
          },
          (accepted) => resume(Effect.succeed(accepted)),
          (detail) => resume(Effect.fail(detail))
        )
      ).pipe(
        Effect.timeoutFail({ duration: settings.handshakeTimeout, onTimeout: () => "no handshake in time" }),
        Effect.flatMap((accepted) => {
          const hex = Buffer.from(accepted.handshake.infoHash).toString("hex")
          const torrent = torrents.get(hex)
          const wrap = wrappers.get(hex)
          if (torrent !== undefined) acceptedPeers++
          return torrent === undefined
            ? Effect.fail("handshake for a torrent we do not have")
            : torrent.accept(wrap === undefined ? accepted.connection : wrap(accepted.connection), accepted.handshake, accepted.rest)
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

    // The session's own rate limits (one-shot commands; the Client keeps its own per torrent): every connection of
    // every torrent is held to them, or, unlimited, left alone.
    const { later, now } = yield* clockTimers
    const down = new Direction([new TokenBucket(settings.downloadLimit, now)])
    const up = new Direction([new TokenBucket(settings.uploadLimit, now)])
    const withSessionLimits = (wrap: AddOptions["wrapConnection"]): AddOptions["wrapConnection"] =>
      !down.limited && !up.limited
        ? wrap
        : (connection) => throttle(wrap === undefined ? connection : wrap(connection), down, up, later)

    /** The transport a torrent dials through: the session's, its connections wrapped if asked. */
    const wrapped = (wrap: AddOptions["wrapConnection"]): Transport["Type"] =>
      wrap === undefined
        ? transport
        : Transport.of({ connect: (to) => Effect.map(transport.connect(to), wrap), listen: transport.listen })

    const add = (torrent: TorrentInfo, given: AddOptions, sources?: PeerSources, base = allFiles(torrent)) =>
      Effect.gen(function*() {
        const files = given.files === undefined ? base : given.files(torrent, base)
        if (typeof files === "string") return yield* new TorrentError({ reason: "Selection", detail: files })
        const wrapConnection = withSessionLimits(given.wrapConnection)
        const options: AddOptions = { ...given, ...(wrapConnection === undefined ? {} : { wrapConnection }) }
        const handle = yield* startTorrent({
          files,
          sequential: options.sequential === true,
          torrent,
          directory: options.directory,
          peerId,
          key,
          config: liveConfig(options.maxPeers === undefined ? settings : { ...settings, maxPeers: options.maxPeers }),
          port: listener.local.port,
          useTrackers: options.trackers ?? true,
          dht,
          useDht: options.dht ?? true,
          connectionAllowed,
          bans,
          external,
          resume,
          webSeed,
          ...(options.webSeeds === undefined ? {} : { webSeeds: options.webSeeds }),
          ...(sources === undefined ? {} : { sources }),
          ...(options.announce === undefined ? {} : { announce: options.announce })
        }).pipe(Effect.provideService(Transport, wrapped(options.wrapConnection)))
        // A hybrid is reached by either wire hash (BEP 52): its v1 hash and its v2 hash cut to 20 bytes.
        const wireHashes = torrent.v2?.hybrid === true ? [torrent.infoHash, torrent.v2.infoHash.subarray(0, 20)] : [torrent.infoHash]
        for (const hash of wireHashes) {
          const hex = Buffer.from(hash).toString("hex")
          const hidden = Buffer.from(obfuscatedInfoHash(hash)).toString("hex")
          torrents.set(hex, handle)
          if (options.wrapConnection !== undefined) wrappers.set(hex, options.wrapConnection)
          obfuscated.set(hidden, hash)
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => {
              torrents.delete(hex)
              wrappers.delete(hex)
              obfuscated.delete(hidden)
            })
          )
        }
        if (options.peers !== undefined && options.peers.length > 0) yield* handle.addPeers(options.peers)
        return handle
      }).pipe(Effect.provide(context))

    const addMagnet = (magnet: MagnetLink, options: AddOptions) =>
      startMagnet({
        magnet,
        peerId,
        key,
        port: listener.local.port,
        config: liveConfig(settings),
        useTrackers: options.trackers ?? true,
        dht: (options.dht ?? true) ? dht : Option.none(),
        peers: options.peers ?? [],
        connectionAllowed,
        bans,
        external,
        resume,
        ...(options.announce === undefined ? {} : { announce: options.announce }),
        start: (torrent, peers, sources) =>
          // The magnet's announce loop goes on serving the torrent: it runs none of its own.
          add(torrent, {
            directory: options.directory,
            peers,
            trackers: false,
            dht: false,
            ...(options.maxPeers === undefined ? {} : { maxPeers: options.maxPeers }),
            ...(options.wrapConnection === undefined ? {} : { wrapConnection: options.wrapConnection }),
            ...(options.files === undefined ? {} : { files: options.files }),
            ...(options.sequential === undefined ? {} : { sequential: options.sequential }),
            webSeeds: [...magnet.webSeeds, ...(options.webSeeds ?? [])]
          }, sources, fromRanges(torrent, magnet.selectOnly))
      }).pipe(Effect.provide(context))

    const setMaxConnections = (count: number) =>
      Effect.sync(() => {
        maxConnections = count
      })

    return Session.of({
      peerId,
      port: listener.local.port,
      add: (torrent, options) => add(torrent, options),
      addMagnet,
      setMaxConnections,
      setEncryption: (policy) =>
        Effect.sync(() => {
          encryption = policy
        }),
      acceptedPeers: Effect.sync(() => acceptedPeers),
      dhtNodes: Option.match(dht, {
        onNone: () => Effect.succeed(undefined),
        onSome: (node) => Effect.map(node.stats, (stats) => stats.nodes)
      }),
      externalAddresses: Effect.map(
        Option.match(dht, { onNone: () => Effect.void, onSome: (node) => Effect.map(node.stats, dhtAddresses) }),
        () => external.report
      ),
      learnExternal: (from, address) =>
        Effect.sync(() => ("gateway" in from ? external.fromGateway(address) : external.fromTracker(from.tracker, address)))
    })
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
