import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Dht, DhtStats } from "../dht/Dht.js"
import { pieceCheck, type TorrentInfo, trackerTiers } from "../metainfo/index.js"
import type { Endpoint } from "../net/Datagram.js"
import { parseEndpoint } from "../net/endpoint.js"
import { dialPeer } from "../peer/encryption.js"
import { keyOf } from "../peer/link.js"
import { type Connection, Transport } from "../peer/transport/Transport.js"
import { Bitfield, Priority } from "../piece/index.js"
import type { ResumeStore } from "../resume/index.js"
import { Storage } from "../storage/index.js"
import {
  type AnnounceHooks,
  type Announcer,
  startAnnouncing,
  type Tracker,
  type TrackerStatus,
  type TransferStats
} from "../tracker/index.js"
import type { Handshake } from "../wire/index.js"
import { Verifier } from "../verifier/index.js"
import { parseWebSeedUrl, runWebSeed, type WebSeed, type WebSeedInfo, WebSeedSource } from "../webseed/index.js"
import { lookForPeers } from "./dhtPeers.js"
import type { BanList } from "./BanList.js"
import { makeDialer } from "./Dialer.js"
import { restorePieces, saveResume } from "./restore.js"
import { allFiles, type FilePriority, piecePriorities, skippedFiles } from "./selection.js"
import { countPeers, stallReason } from "./stallReason.js"
import type { HashStats } from "./HashExchange.js"
import { ExternalAddresses } from "./externalAddresses.js"
import type { HolepunchCounts } from "./holepunch.js"
import { PeerLink } from "./PeerLink.js"
import { runLink } from "./runLink.js"
import type { SessionConfig } from "./SessionConfig.js"
import { type CompletedPiece, Swarm } from "./Swarm.js"
import { TorrentError } from "./TorrentError.js"

export interface TorrentProgress {
  /** `checking` existing data, `downloading`, or `seeding` once every piece is verified on disk. */
  readonly state: "checking" | "downloading" | "seeding"
  readonly pieceCount: number
  readonly verifiedPieces: number
  /** While checking: pieces checked so far. */
  readonly checkedPieces: number
  /** The payload's bytes, and those of them verified: BEP 47 padding files (zeros between files) not counted. */
  readonly totalLength: number
  readonly bytesVerified: number
  /** Bytes of the pieces the selected files touch, and how many of them are verified (all files: `totalLength`). */
  readonly wantedLength: number
  readonly wantedVerified: number
  /** Payload bytes received and kept, and received but not needed. */
  readonly downloaded: number
  readonly wasted: number
  /** Payload bytes sent. */
  readonly uploaded: number
  /** Bytes of complete pieces waiting to be hashed and written (none while checking). */
  readonly diskQueueBytes?: number
  /** Bytes per second over all peers. */
  readonly downloadRate: number
  readonly uploadRate: number
  readonly peers: number
  /** Each connected peer: what it speaks and how fast it goes. */
  readonly peerList: ReadonlyArray<PeerInfo>
  /** The session's DHT node, when it runs one. */
  readonly dht?: DhtStats
  /** Each tracker of the torrent: state, last error, last and next announce, swarm counts (none without trackers). */
  readonly trackers: ReadonlyArray<TrackerStatus>
  /** A v2 or hybrid torrent's BEP 52 hash messages: requests answered and rejected, answers kept, layers missing. */
  readonly hashes?: HashStats
  /** Requests sent for blocks wholly in BEP 47 padding (torrents with padding only): 0, as padding is never asked. */
  readonly padRequests?: number
  /** Why the torrent is stuck or slow, in plain words ("no peers: 3 trackers failed (timeout), …"), if it is. */
  readonly reason?: string
  /** The torrent's web seeds (BEP 19), when it has any and they are used. */
  readonly webSeeds?: ReadonlyArray<WebSeedInfo>
  /** BEP 55: what holepunch relayed, dialled and refused, once any holepunch message came or went. */
  readonly holepunch?: HolepunchCounts & { readonly malformed: number }
}

/** Where a torrent's peers come from, when something else runs its sources (a magnet link's announce loop). */
export interface PeerSources {
  readonly trackers: () => ReadonlyArray<TrackerStatus>
  /** Peers the DHT found so far; undefined without the DHT. */
  readonly dhtPeers: () => number | undefined
}

export interface PeerInfo {
  /** `host:port` as we see it. */
  readonly address: string
  readonly direction: "outgoing" | "incoming"
  readonly family: "ipv4" | "ipv6"
  /** Its BEP 10 `v`, when it sent one. */
  readonly client: string | undefined
  /** It speaks the Fast extension (BEP 6), the extension protocol (BEP 10). */
  readonly fast: boolean
  readonly extensions: boolean
  readonly encrypted: boolean
  /** What carries the connection, where the transport says: TCP or uTP. */
  readonly transport: "tcp" | "utp" | undefined
  /** The transport's counters, where it keeps any (uTP: rttMs, cwnd, peerWindow, retransmits, lost, ...). */
  readonly transportCounters?: Readonly<Record<string, number>>
  readonly downloadRate: number
  readonly uploadRate: number
  /** Requests we keep outstanding with it now (its `reqq` bounds this), and the most we ever had at once. */
  readonly requestDepth: number
  readonly peakOutstanding: number
}

/** A running torrent. It stops when the scope it was started in closes. */
export interface TorrentHandle {
  readonly torrent: TorrentInfo
  readonly progress: Effect.Effect<TorrentProgress>
  /** Succeeds when every piece is verified and on disk; fails if the torrent had to stop. */
  readonly done: Effect.Effect<void, TorrentError>
  /** The pieces found valid on disk at start, once checking is over. */
  readonly checked: Effect.Effect<Bitfield, TorrentError>
  /** Adds peer addresses to try (duplicates and banned peers are ignored). */
  readonly addPeers: (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void>
  /** Takes a connection accepted for this torrent, whose handshake was read already. */
  readonly accept: (connection: Connection, handshake: Handshake, rest: Uint8Array) => Effect.Effect<void>
  /** Peer connections open (or being opened) right now. */
  readonly connections: () => number
  /** What to tell trackers we have transferred. */
  readonly transferStats: Effect.Effect<TransferStats>
  /**
   * Completes when a download that was incomplete at the start completes (when trackers hear `completed`);
   * never, for a torrent complete from the start.
   */
  readonly downloadCompleted: Effect.Effect<void>
  /** Each file's priority, by index in the torrent's file list. */
  readonly files: Effect.Effect<ReadonlyArray<FilePriority>>
  /**
   * New file priorities, effective at once: skipped files stop being fetched (their pieces in flight are finished),
   * files selected again get their bytes out of the part file and are fetched. `done` succeeds when every wanted
   * file is verified; once it has, a later selection is fetched but `done` stays succeeded.
   */
  readonly setFiles: (files: ReadonlyArray<FilePriority>) => Effect.Effect<void, TorrentError>
  /** The pieces verified so far (a copy); undefined while checking. */
  readonly verified: () => Bitfield | undefined
  /** Each tracker's status now (plain code, cheap): the same list `progress` carries. */
  readonly trackers: () => ReadonlyArray<TrackerStatus>
  /**
   * Succeeds once piece `index` is verified and written (at once if it is already); fails with `Stopped` when the
   * torrent stops (its scope closes) and with the torrent's error if it fails. Waiting does not make the piece
   * wanted: a reader says what it needs with `setWindow`.
   */
  readonly pieceReady: (index: number) => Effect.Effect<void, TorrentError>
  /** Reads `length` bytes at `begin` in piece `index` from storage (a verified piece: see `pieceReady`). */
  readonly read: (index: number, begin: number, length: number) => Effect.Effect<Uint8Array, TorrentError>
  /**
   * A reader's window (pieces `from` to `to`, inclusive), fetched before anything else, in order, skipped files
   * or not; `undefined` removes the reader's window. Each reader (any key) has its own.
   */
  readonly setWindow: (reader: symbol, window: { readonly from: number; readonly to: number } | undefined) => Effect.Effect<void>
  /**
   * Nothing can change in its progress until a peer comes: checked, no peer connected, no piece being verified.
   * A plain read, so a client with many torrents can skip sampling the quiet ones.
   */
  readonly quiet: () => boolean
}

export interface TorrentOptions {
  readonly torrent: TorrentInfo
  readonly directory: string
  readonly peerId: Uint8Array
  readonly key: number
  readonly config: SessionConfig
  /** The port we listen on, told to trackers. */
  readonly port: number
  /** Announce to the torrent's trackers for peers. */
  readonly useTrackers: boolean
  /** The session's DHT node, to find peers and announce on (not for private torrents); none: no DHT. */
  readonly dht: Option.Option<Dht["Type"]>
  /** Look for peers on the DHT and announce there (a magnet link's torrent leaves it to the magnet's loop). */
  readonly useDht: boolean
  /** Whether another connection may be opened, over all torrents of the session. */
  readonly connectionAllowed: () => boolean
  /** The session's bans, by IP address. */
  readonly bans: BanList
  /** The session's view of our own addresses (fed by peers' `yourip`); default the torrent's own. */
  readonly external?: ExternalAddresses
  /** Where verified pieces are recorded between runs; none: every start hashes the data on disk. */
  readonly resume: Option.Option<ResumeStore["Type"]>
  /** Trackers and DHT run elsewhere for this torrent (a magnet link's): their state, for progress. */
  readonly sources?: PeerSources
  /** Each file's priority, by index; default every file `normal`. */
  readonly files?: ReadonlyArray<FilePriority>
  /** Fetch pieces in order rather than rarest first (still from every peer, still verified). */
  readonly sequential?: boolean
  /** Tracker reports and "announce now", for a client that shows them. */
  readonly announce?: AnnounceHooks
  /** Fetches from web seeds (BEP 19); none: `url-list` is not used. */
  readonly webSeed?: Option.Option<WebSeed["Type"]>
  /** Web seeds besides the torrent's `url-list` (a magnet link's `ws=`). */
  readonly webSeeds?: ReadonlyArray<string>
}

/** BEP 55's counts for progress, once anything was counted (a swarm that never saw holepunch shows nothing). */
const holepunchProgress = (swarm: Swarm): Pick<TorrentProgress, "holepunch"> => {
  const counts = { ...swarm.holepunch.counts, malformed: swarm.holepunchMalformed }
  return Object.values(counts).some((n) => n > 0) ? { holepunch: counts } : {}
}

const storageError = (cause: { readonly message: string }) =>
  new TorrentError({ reason: "Storage", detail: cause.message, cause })

/**
 * Starts a torrent in the current scope: checks existing data, then exchanges pieces with peers from the trackers,
 * from `addPeers` and from accepted connections, one supervised fiber per peer. Completed pieces are verified and
 * written; requested pieces are read and served to the peers we unchoke. After the last piece it keeps seeding
 * until the scope closes.
 */
export const startTorrent = (
  options: TorrentOptions
): Effect.Effect<TorrentHandle, TorrentError, Scope.Scope | Transport | Storage | Verifier | Tracker> =>
  Effect.gen(function*() {
    const { config, torrent } = options
    const transport = yield* Transport
    const verifier = yield* Verifier
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()

    const resume = options.resume
    let files: ReadonlyArray<FilePriority> = options.files ?? allFiles(torrent)
    if (files.length !== torrent.files.length) {
      return yield* Effect.dieMessage(`${files.length} file priorities for ${torrent.files.length} files`)
    }
    const storage = yield* Effect.flatMap(
      Storage,
      (s) => s.open(torrent, options.directory, { skipped: skippedFiles(files) })
    ).pipe(Effect.mapError(storageError))
    const done = yield* Deferred.make<void, TorrentError>()
    const checkedPieces = yield* Deferred.make<Bitfield, TorrentError>()
    const completed = yield* Queue.unbounded<CompletedPiece>()
    const toRead = yield* Queue.unbounded<number>()
    /** Readers waiting for pieces (see `pieceReady`), by piece index; failed with `Stopped` when the torrent stops. */
    const waiting = new Map<number, Set<Deferred.Deferred<void, TorrentError>>>()
    let stopped = false
    const wake = (index: number) => {
      const set = waiting.get(index)
      if (set === undefined) return
      waiting.delete(index)
      for (const waiter of set) Deferred.unsafeDone(waiter, Exit.void)
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stopped = true
        const error = new TorrentError({ reason: "Stopped", detail: `${torrent.name} stopped` })
        for (const set of waiting.values()) for (const waiter of set) Deferred.unsafeDone(waiter, Exit.fail(error))
        waiting.clear()
      })
    )
    /** Readers' windows (see `setWindow`): their pieces are raised above every file priority. */
    const windows = new Map<symbol, { readonly from: number; readonly to: number }>()
    /** The pieces' priorities: the files', with readers' windows on top. */
    const effectivePriorities = () => {
      const priorities = piecePriorities(torrent, files)
      for (const { from, to } of windows.values()) {
        for (let piece = Math.max(0, from); piece <= Math.min(to, torrent.pieceCount - 1); piece++) {
          priorities[piece] = Priority.deadline
        }
      }
      return priorities
    }
    /**
     * Open while the torrent has peers. Its periodic upkeep (tick, rechoke, resume saves) waits on it, so a torrent
     * without peers has no timers at all: a thousand idle seeds cost nothing per second.
     */
    const connected = yield* Effect.makeLatch(false)
    /** Runs `effect` on `schedule` while the torrent has peers: once more after the last leaves, then it waits. */
    const whileConnected = <A>(effect: Effect.Effect<A>, schedule: Schedule.Schedule<unknown>) =>
      Effect.zipLeft(effect, connected.await).pipe(Effect.schedule(schedule), Effect.forkScoped)
    /** Pieces checked so far while checking existing data: written per piece by plain code, read by `progress`. */
    let checked = 0
    /** Completed pieces handed to the writers and not yet verified (or failed). */
    let verifying = 0
    let swarm: Swarm | undefined
    let announcer: Announcer | undefined
    /** Peers the torrent's own DHT lookups found. */
    let dhtFound = 0

    // Seeded from Effect's Random, so a test can make piece choice repeatable.
    const pickRandom = lcg(yield* Random.nextIntBetween(1, 2 ** 31))

    const limits = {
      requestMs: Duration.toMillis(config.requestTimeout),
      idleMs: Duration.toMillis(config.idleTimeout),
      snubMs: Duration.toMillis(config.snubTimeout),
      chokedMs: Duration.toMillis(config.chokedTimeout)
    }
    const external = options.external ?? new ExternalAddresses({ now })
    /** Peers that closed on our encryption handshake: dialled in plaintext from then on. */
    const plaintextPeers = new Set<string>()
    const dialer = yield* makeDialer({
      ownPort: options.port,
      isSelf: (address) => external.isSelf(address, options.port),
      // Nothing is dialled before the data is checked and the swarm exists.
      roomForPeer: () => swarm !== undefined && roomForPeer(),
      banned: (address) => options.bans.isBanned(address.host),
      connect: (address) =>
        dialPeer(transport, config, address, torrent.infoHash, plaintextPeers, (connection) =>
          runPeerLink(connection, "outgoing", (link) => link.start())).pipe(
            // Not reached: a peer that told us of it may introduce us (BEP 55 holepunch).
            Effect.tapError((error) => Effect.sync(() => error.reason === "Connection" && swarm?.unreachable(address)))
          ),
      reconnect: config.reconnect
    })
    /** Runs a connection as a link of the swarm (which exists by the time anything connects). */
    const runPeerLink = (connection: Connection, direction: PeerLink["direction"], start: (link: PeerLink) => void) =>
      runLink(config, connection, (events) => new PeerLink(connection, swarm!, events, direction), start)
    // Peers learned through PEX arrive in plain code; their dialling runs as fibers of this scope.
    const runFork = yield* FiberSet.makeRuntime<never>()
    const roomForPeer = (): boolean => dialer.active.size < config.maxPeers && options.connectionAllowed()
    const addPeers = dialer.add

    const accept = (connection: Connection, handshake: Handshake, rest: Uint8Array): Effect.Effect<void> =>
      Effect.suspend(() => {
        const current = swarm
        const key = keyOf(connection.remote)
        // Its address is ours to dial too (uTP comes from the peer's listening port): when both sides dial at once,
        // the connection dialled by the peer with the greater id is the one both keep. A link already up stays.
        const dialling = dialer.active.has(key)
        const theirsWins = dialling && !current?.hasLink(key) && Buffer.compare(handshake.peerId, options.peerId) > 0
        if (current === undefined || options.bans.isBanned(connection.remote.host) || (dialling ? !theirsWins : !roomForPeer())) {
          connection.destroy()
          return Effect.void
        }
        return dialer.supervise(
          key,
          Effect.scoped(
            Effect.zipRight(
              Effect.addFinalizer(() => Effect.sync(() => connection.destroy())),
              runPeerLink(connection, "incoming", (link) => link.accept(handshake, rest))
            )
          ).pipe(Effect.catchTag("PeerError", (error) => Effect.logDebug(error.message)))
        )
      })

    /**
     * Verifies and writes completed pieces. Several run at once (`config.writers`), so hashing on one overlaps
     * the disk writes of others.
     */
    const writer = (swarm: Swarm) =>
      Effect.gen(function*() {
        for (;;) {
          const piece = yield* Queue.take(completed)
          const good = yield* verifier.verify(piece.data, pieceCheck(torrent, piece.index))
          if (good) yield* storage.writePiece(piece.index, piece.data)
          swarm.settled(piece.data.length)
          if (good) {
            const banned = swarm.pieceVerified(piece.index, piece.data)
            wake(piece.index)
            verifying--
            if (banned.length > 0) {
              yield* Effect.logWarning(
                `banned ${banned.map((link) => link.key).join(", ")}: piece ${piece.index} proved their data of it bad`
              )
            }
            if (swarm.picker.isComplete()) yield* finish
          } else {
            const banned = swarm.pieceFailed(piece.index, piece.data)
            verifying--
            yield* Effect.logWarning(
              `piece ${piece.index} failed its hash check; fetching it again` +
                (banned.length > 0 ? `; banned ${banned.map((link) => link.key).join(", ")}` : "")
            )
          }
        }
      }).pipe(Effect.mapError(storageError))

    /** Every wanted piece is verified: make it durable and say so. */
    const finish = Effect.gen(function*() {
      yield* storage.flush
      yield* ensureFilesPresent
      yield* Deferred.succeed(done, undefined)
    }).pipe(Effect.catchTag("StorageError", (error) => Effect.fail(storageError(error))))

    /** Serialises selection changes: each moves bytes out of the part file before the picker asks for more. */
    const selecting = yield* Effect.makeSemaphore(1)
    const setFiles = (next: ReadonlyArray<FilePriority>): Effect.Effect<void, TorrentError> =>
      selecting.withPermits(1)(Effect.gen(function*() {
        if (next.length !== torrent.files.length) {
          return yield* Effect.dieMessage(`${next.length} file priorities for ${torrent.files.length} files`)
        }
        yield* Effect.mapError(storage.select(skippedFiles(next)), storageError)
        files = [...next]
        const current = swarm
        if (current === undefined) return // still checking: the swarm starts with these
        current.setPriorities(effectivePriorities())
        if (current.picker.isComplete()) yield* finish
      }))

    /**
     * Every file is where it should be, at its full size: a file deleted or truncated under us while we wrote
     * (our handle kept writing to the deleted file) fails the torrent rather than letting it claim completion.
     */
    const ensureFilesPresent = Effect.flatMap(storage.existing, (existing) => {
      const missing = torrent.files.findIndex((file, i) =>
        !file.padding && file.length > 0 && files[i] !== "skip" && (existing[i] === undefined || existing[i]!.size < file.length)
      )
      if (missing === -1) return Effect.void
      const path = [...(torrent.layout === "multi" ? [torrent.name] : []), ...torrent.files[missing]!.path].join("/")
      return Effect.fail(
        new TorrentError({ reason: "Storage", detail: `${path} disappeared or shrank during the download; run again to fetch it` })
      )
    })

    /** Reads pieces that peers asked for and that are not in memory. */
    const reader = (swarm: Swarm) =>
      Effect.gen(function*() {
        for (;;) {
          const index = yield* Queue.take(toRead)
          swarm.pieceLoaded(index, yield* storage.readPiece(index, swarm.pieceBuffer(index)))
        }
      }).pipe(Effect.mapError(storageError))

    const transferStats = Effect.sync((): TransferStats =>
      swarm === undefined
        ? { uploaded: 0, downloaded: 0, left: torrent.totalLength }
        : { uploaded: swarm.uploaded, downloaded: swarm.downloaded, left: swarm.picker.missingBytes }
    )
    const downloadCompleted = Deferred.await(checkedPieces).pipe(
      Effect.flatMap((have) => have.isComplete() ? Effect.never : Deferred.await(done)),
      Effect.orElse(() => Effect.never)
    )

    // A torrent from a magnet link lacks its piece layers (v2): those it fetches are kept with the resume state.
    const fetchedLayers = torrent.v2?.pieceLayers.map((layer) => layer === undefined)
    const layersToKeep = (): ReadonlyArray<Uint8Array | undefined> | undefined =>
      fetchedLayers?.some((fetched) => fetched) === true
        ? torrent.v2!.pieceLayers.map((layer, index) => (fetchedLayers[index] ? layer : undefined))
        : undefined

    const run = Effect.gen(function*() {
      const { have, peers: known, upToDate } = yield* restorePieces(torrent, storage, resume, (n) => {
        checked = n
      }).pipe(Effect.tapError((error) => Deferred.fail(checkedPieces, error)))
      yield* Deferred.succeed(checkedPieces, have.copy())
      const started = new Swarm({
        torrent,
        peerId: options.peerId,
        port: options.port,
        have,
        priorities: effectivePriorities(),
        sequential: options.sequential === true,
        now,
        random: pickRandom,
        bans: options.bans,
        external,
        cacheBytes: config.cacheBytes,
        backlogBytes: config.backlogBytes,
        outstandingBytes: config.outstandingBytes,
        choke: config.choke,
        onPieceComplete: (piece) => {
          verifying++
          Queue.unsafeOffer(completed, piece)
        },
        onLoadPiece: (index) => Queue.unsafeOffer(toRead, index),
        onPeers: (peers) => runFork(addPeers(peers)),
        dhtPort: Option.getOrUndefined(Option.map(options.dht, (dht) => dht.port)),
        onDhtNode: (node) => {
          if (Option.isSome(options.dht)) runFork(options.dht.value.addNode(node))
        },
        // A web seed that starts fetching counts as a peer here (Swarm.wake).
        onPeerCount: (peers) => (peers > 0 || swarm?.webSeedsFetching() === true ? connected.unsafeOpen() : connected.unsafeClose())
      })
      swarm = started
      started.picker.setWindows([...windows.values()])
      for (const index of [...waiting.keys()]) if (have.has(index)) wake(index)
      const completeAtStart = started.picker.isComplete()
      if (completeAtStart) yield* Deferred.succeed(done, undefined)
      // A storage failure in either worker stops the torrent: `done` fails with it.
      const stopOnError = (effect: Effect.Effect<never, TorrentError>) =>
        Effect.forkScoped(Effect.catchAll(effect, (error) => Deferred.fail(done, error)))
      for (let i = 0; i < config.writers; i++) yield* stopOnError(writer(started))
      yield* stopOnError(reader(started))
      // The per-second upkeep and the rechoke run only while the torrent has peers or a web seed fetching: a
      // thousand idle seeds have no timers at all.
      yield* whileConnected(
        Effect.sync(() => {
          started.tick(limits)
          if (started.links.size === 0 && !started.webSeedsFetching()) connected.unsafeClose()
        }),
        Schedule.spaced(config.tick)
      )
      yield* whileConnected(Effect.sync(() => started.rechoke(limits.snubMs)), config.rechoke)
      yield* startWebSeeds(started)
      // A hybrid is announced under both its wire hashes (BEP 52), so v1-only and v2 peers both find it; progress
      // shows the first (v1) hash's trackers.
      const wireHashes = torrent.v2?.hybrid === true ? [torrent.infoHash, torrent.v2.infoHash.subarray(0, 20)] : [torrent.infoHash]
      if (options.useTrackers) for (const [i, infoHash] of wireHashes.entries()) {
        const tracked = yield* startAnnouncing({
          timing: config.announce,
          tiers: trackerTiers(torrent),
          infoHash,
          peerId: options.peerId,
          port: options.port,
          key: options.key,
          stats: transferStats,
          onPeers: (found) => addPeers(found),
          onExternalIp: (address, url) => external.fromTracker(url, address),
          ...(completeAtStart ? {} : { completed: downloadCompleted }),
          ...(options.announce === undefined || i > 0 ? {} : { hooks: options.announce })
        })
        if (i === 0) announcer = tracked
      }
      if (options.useDht && Option.isSome(options.dht) && !torrent.private) {
        for (const infoHash of wireHashes) {
          yield* lookForPeers(options.dht.value, infoHash, options.port, config, (found) => {
            dhtFound += found.length
            return addPeers(found)
          })
        }
      }
      if (Option.isSome(resume)) yield* keepResumeState(started, resume.value, upToDate ? have.count : -1)
      yield* addPeers(known.flatMap((text) => {
        const peer = parseEndpoint(text)
        return typeof peer === "string" ? [] : [peer]
      }))
    }).pipe(Effect.catchAll((error) => Deferred.fail(done, error)))

    /** Runs each usable web seed URL (each once) as a source of the swarm; unusable ones get one warning each. */
    const startWebSeeds = (current: Swarm) =>
      Effect.gen(function*() {
        if (options.webSeed === undefined || Option.isNone(options.webSeed)) return
        const webSeed = options.webSeed.value
        const urls = new Set([...torrent.urlList, ...(options.webSeeds ?? [])])
        for (const text of urls) {
          const url = parseWebSeedUrl(text)
          if (typeof url === "string") {
            yield* Effect.logWarning(`web seed ${text} ${url}; not used`)
            continue
          }
          yield* Effect.forkScoped(runWebSeed(current, torrent, new WebSeedSource(url, now()), webSeed))
        }
      })

    /**
     * Saves the resume state on a schedule while pieces keep verifying, and once more when the torrent stops, so
     * a restart trusts what is on disk instead of hashing it again. Only a change is written: a torrent restored
     * from a state that says all (`savedAtStart` pieces) writes nothing until a piece verifies.
     */
    const keepResumeState = (swarm: Swarm, store: ResumeStore["Type"], savedAtStart: number) =>
      Effect.gen(function*() {
        let saved = savedAtStart
        let layersSaved = swarm.hashes?.missingLayers
        const save = Effect.suspend(() => {
          // Nothing verified and no piece layer fetched since the last save: no bitfield copied, no write.
          const layersNow = swarm.hashes?.missingLayers
          if (swarm.picker.verifiedCount === saved && layersNow === layersSaved) return Effect.void
          const verified = swarm.picker.bitfield()
          const peers = [...swarm.links].map((link) => link.key)
          return saveResume(torrent, storage, store, verified, peers, layersToKeep()).pipe(
            Effect.tap(() => Effect.sync(() => {
              saved = verified.count
              layersSaved = layersNow
            })),
            Effect.catchAll((error) => Effect.logWarning(error.message))
          )
        })
        yield* Effect.addFinalizer(() => save.pipe(Effect.interruptible, Effect.timeout("10 seconds"), Effect.ignore))
        yield* whileConnected(save, config.resumeSave)
      })

    yield* Effect.forkScoped(run)

    const dhtStats = Option.match(options.dht, { onNone: () => Effect.succeed(undefined), onSome: (dht) => dht.stats })
    const usesDht = options.useDht && Option.isSome(options.dht) && !torrent.private
    const trackerStatus = () => options.sources?.trackers() ?? announcer?.status() ?? []
    const dhtPeers = () =>
      options.sources !== undefined ? options.sources.dhtPeers() : usesDht ? dhtFound : undefined

    /** Why the download is stuck or slow, if it is: read from the swarm's plain state. */
    const reasonOf = (current: Swarm, trackers: ReadonlyArray<TrackerStatus>) => {
      const reason = stallReason({
        ...countPeers(current.links, now() - Duration.toMillis(config.stallSettling)),
        state: current.picker.isComplete() ? "seeding" : "downloading",
        downloadRate: current.rate,
        uploadRate: current.uploadRate,
        trackers,
        dhtPeers: dhtPeers(),
        diskBehind: current.backlogged()
      })
      return reason === undefined ? {} : { reason }
    }

    /**
     * BEP 47 padding files, by the piece each lies in (one aligns the next file to a piece boundary, so it ends
     * there): progress counts the payload a user has, never the zeros between files.
     */
    const pads = torrent.files.filter((file) => file.padding && file.length > 0)
      .map((file) => ({ piece: Math.floor(file.offset / torrent.pieceLength), length: file.length }))
    const payloadLength = pads.reduce((total, pad) => total - pad.length, torrent.totalLength)
    type PadView = { hasPiece: (index: number) => boolean; priorityOf: (index: number) => number }
    /** Padding bytes in pieces that are verified (and wanted, if asked), or in wanted pieces. */
    const padVerified = (picker: PadView, wantedOnly = false) =>
      pads.reduce((total, pad) =>
        picker.hasPiece(pad.piece) && (!wantedOnly || picker.priorityOf(pad.piece) !== 0) ? total + pad.length : total, 0)
    const padWanted = (picker: PadView) =>
      pads.reduce((total, pad) => picker.priorityOf(pad.piece) !== 0 ? total + pad.length : total, 0)

    const ownProgress = Effect.sync((): TorrentProgress => {
      const current = swarm
      const trackers = trackerStatus()
      const base = { pieceCount: torrent.pieceCount, totalLength: payloadLength, checkedPieces: checked }
      if (current === undefined) {
        return {
          ...base,
          state: "checking",
          verifiedPieces: 0,
          bytesVerified: 0,
          wantedLength: payloadLength,
          wantedVerified: 0,
          downloaded: 0,
          wasted: 0,
          uploaded: 0,
          downloadRate: 0,
          uploadRate: 0,
          peers: 0,
          peerList: [],
          trackers
        }
      }
      const at = now()
      return {
        ...base,
        state: current.picker.isComplete() ? "seeding" : "downloading",
        verifiedPieces: current.picker.verifiedCount,
        bytesVerified: current.picker.bytesVerified - (pads.length === 0 ? 0 : padVerified(current.picker)),
        wantedLength: current.picker.wantedBytes - (pads.length === 0 ? 0 : padWanted(current.picker)),
        wantedVerified: current.picker.wantedBytes - current.picker.missingBytes -
          (pads.length === 0 ? 0 : padVerified(current.picker, true)),
        downloaded: current.downloaded,
        wasted: current.wasted,
        uploaded: current.uploaded,
        diskQueueBytes: current.diskQueueBytes(),
        downloadRate: current.rate,
        uploadRate: current.uploadRate,
        peers: current.links.size,
        peerList: [...current.links].map((link): PeerInfo => ({
          address: link.key,
          direction: link.direction,
          family: link.connection.remote.host.includes(":") ? "ipv6" : "ipv4",
          client: link.extensions.peer.handshake?.v,
          fast: link.fast,
          extensions: link.extensions.peer.handshake !== undefined,
          encrypted: link.connection.encrypted === true,
          transport: link.connection.transport,
          ...(link.connection.counters === undefined ? {} : { transportCounters: link.connection.counters() }),
          // Before the session's first tick counts its bytes, a peer's rate is what it sent so far (not 0).
          downloadRate: link.download.current(at),
          uploadRate: link.upload.current(at),
          requestDepth: link.depth,
          peakOutstanding: link.peakOutstanding
        })),
        trackers,
        ...(current.hashes === undefined ? {} : { hashes: current.hashes.stats() }),
        ...(pads.length === 0 ? {} : { padRequests: current.padRequests }),
        ...reasonOf(current, trackers),
        ...(current.webSeeds.size === 0 ? {} : { webSeeds: [...current.webSeeds].map((seed) => seed.info()) }),
        ...holepunchProgress(current)
      }
    })

    const pieceReady = (index: number): Effect.Effect<void, TorrentError> =>
      Effect.suspend(() => {
        if (stopped) return Effect.fail(new TorrentError({ reason: "Stopped", detail: `${torrent.name} stopped` }))
        if (swarm?.picker.hasPiece(index) === true) return Effect.void
        const waiter = Deferred.unsafeMake<void, TorrentError>(FiberId.none)
        const set = waiting.get(index) ?? new Set()
        set.add(waiter)
        waiting.set(index, set)
        // A torrent that fails (its disk) fails its readers too.
        return Effect.raceFirst(Deferred.await(waiter), Effect.zipRight(Deferred.await(done), Effect.never)).pipe(
          Effect.ensuring(Effect.sync(() => {
            set.delete(waiter)
            if (set.size === 0 && waiting.get(index) === set) waiting.delete(index)
          }))
        )
      })

    const setWindow = (reader: symbol, window: { readonly from: number; readonly to: number } | undefined) =>
      Effect.sync(() => {
        const before = windows.get(reader)
        if (window === undefined ? before === undefined : before?.from === window.from && before.to === window.to) return
        if (window === undefined) windows.delete(reader)
        else windows.set(reader, window)
        swarm?.picker.setWindows([...windows.values()])
        swarm?.setPriorities(effectivePriorities())
      })

    const progress = Effect.zipWith(ownProgress, dhtStats, (own, dht): TorrentProgress =>
      dht === undefined ? own : { ...own, dht })

    return {
      torrent,
      progress,
      done: Deferred.await(done),
      checked: Deferred.await(checkedPieces),
      addPeers,
      accept,
      connections: () => dialer.active.size,
      transferStats,
      downloadCompleted,
      files: Effect.sync(() => files),
      setFiles,
      verified: () => swarm?.picker.bitfield(),
      trackers: trackerStatus,
      pieceReady,
      read: (index, begin, length) => Effect.mapError(storage.read(index, begin, length), storageError),
      setWindow,
      quiet: () => swarm !== undefined && swarm.links.size === 0 && verifying === 0 && !swarm.webSeedsFetching()
    } satisfies TorrentHandle
  }).pipe(Effect.annotateLogs("torrent", options.torrent.name))

/** A small seeded generator for piece choice (uniform in [0, 1)); plain code, as the picker runs per block. */
const lcg = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}
