import { Deferred, Duration, Effect, Exit, FiberMap, Queue, Random, Schedule, type Scope } from "effect"
import { type TorrentInfo, pieceHash, trackerTiers } from "../metainfo/index.js"
import type { Endpoint } from "../net/Datagram.js"
import { Transport } from "../peer/transport/Transport.js"
import { Bitfield } from "../piece/index.js"
import { Storage, type TorrentStorage } from "../storage/index.js"
import { startAnnouncing, type Tracker } from "../tracker/index.js"
import { Verifier } from "../verifier/index.js"
import { isFinal, PeerError } from "./PeerError.js"
import { PeerLink } from "./PeerLink.js"
import type { SessionConfig } from "./SessionConfig.js"
import { type CompletedPiece, Swarm } from "./Swarm.js"
import { TorrentError } from "./TorrentError.js"

export interface TorrentProgress {
  readonly state: "checking" | "downloading" | "complete"
  readonly pieceCount: number
  readonly verifiedPieces: number
  /** While checking: pieces checked so far. */
  readonly checkedPieces: number
  readonly totalLength: number
  readonly bytesVerified: number
  /** Payload bytes received and kept, and received but not needed. */
  readonly downloaded: number
  readonly wasted: number
  /** Bytes per second over all peers. */
  readonly rate: number
  readonly peers: number
}

/** A running torrent. It stops when the scope it was started in closes. */
export interface TorrentHandle {
  readonly torrent: TorrentInfo
  readonly progress: Effect.Effect<TorrentProgress>
  /** Succeeds when every piece is verified and on disk; fails if the torrent had to stop. */
  readonly done: Effect.Effect<void, TorrentError>
  /** Adds peer addresses to try (duplicates and banned peers are ignored). */
  readonly addPeers: (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void>
}

export interface TorrentOptions {
  readonly torrent: TorrentInfo
  readonly directory: string
  readonly peerId: Uint8Array
  readonly key: number
  readonly config: SessionConfig
  /** Announce to the torrent's trackers for peers. */
  readonly useTrackers: boolean
}

const storageError = (cause: { readonly message: string }) =>
  new TorrentError({ reason: "Storage", detail: cause.message, cause })

/** Hashes what is already on disk, so only missing pieces are downloaded. Skipped when no file has data yet. */
const checkExisting = (
  torrent: TorrentInfo,
  storage: TorrentStorage,
  onChecked: (checked: number) => void
): Effect.Effect<Bitfield, TorrentError, Verifier> =>
  Effect.gen(function*() {
    const verifier = yield* Verifier
    const have = new Bitfield(torrent.pieceCount)
    const existing = yield* Effect.mapError(storage.existing, storageError)
    if (!existing.some((file) => file !== undefined && file.size > 0)) return have
    for (let index = 0; index < torrent.pieceCount; index++) {
      const data = yield* Effect.mapError(storage.readPiece(index), storageError)
      if (yield* verifier.verify(data, pieceHash(torrent, index))) have.set(index)
      onChecked(index + 1)
    }
    return have
  })

/**
 * Starts downloading a torrent in the current scope: checks existing data, then connects to peers from the
 * trackers and from `addPeers`, one supervised fiber per peer, and verifies and writes pieces as they complete.
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

    const storage = yield* Effect.flatMap(Storage, (s) => s.open(torrent, options.directory)).pipe(
      Effect.mapError(storageError)
    )
    const done = yield* Deferred.make<void, TorrentError>()
    const completed = yield* Queue.unbounded<CompletedPiece>()
    /** Pieces checked so far while checking existing data: written per piece by plain code, read by `progress`. */
    let checked = 0
    let swarm: Swarm | undefined

    // Seeded from Effect's Random, so a test can make piece choice repeatable.
    const seed = yield* Random.nextIntBetween(1, 2 ** 31)
    const pickRandom = lcg(seed)

    const peers = yield* FiberMap.make<string>()
    const active = new Set<string>()
    const candidates = new Map<string, Endpoint>()
    const limits = {
      requestMs: Duration.toMillis(config.requestTimeout),
      idleMs: Duration.toMillis(config.idleTimeout),
      snubMs: Duration.toMillis(config.snubTimeout),
      chokedMs: Duration.toMillis(config.chokedTimeout)
    }

    /** One connection to one peer, from dial to close. Fails with why it ended (a close is a failure too). */
    const runPeer = (address: Endpoint, swarm: Swarm): Effect.Effect<never, PeerError, Scope.Scope> =>
      Effect.gen(function*() {
        const key = `${address.host}:${address.port}`
        const connection = yield* transport.connect(address).pipe(
          Effect.mapError((cause) => new PeerError({ reason: "Connection", peer: key, detail: cause.message, cause })),
          Effect.timeoutFail({
            duration: config.connectTimeout,
            onTimeout: () => new PeerError({ reason: "Connection", peer: key, detail: "connection timed out" })
          })
        )
        const handshaken = yield* Deferred.make<void>()
        const closed = yield* Deferred.make<never, PeerError>()
        const link = new PeerLink(connection, swarm, {
          onHandshake: () => Deferred.unsafeDone(handshaken, Exit.void),
          onClose: (error) => Deferred.unsafeDone(closed, Exit.fail(error))
        })
        link.start()
        yield* Effect.raceFirst(Deferred.await(handshaken), Deferred.await(closed)).pipe(
          Effect.timeoutFail({
            duration: config.handshakeTimeout,
            onTimeout: () => new PeerError({ reason: "Handshake", peer: key, detail: "no handshake in time" })
          }),
          Effect.tapError((error) => Effect.sync(() => link.fail(error)))
        )
        yield* Effect.sync(() => link.sendKeepAlive()).pipe(Effect.schedule(config.keepAlive), Effect.forkScoped)
        return yield* Deferred.await(closed)
      }).pipe(Effect.annotateLogs("peer", `${address.host}:${address.port}`))

    const connectMore: Effect.Effect<void> = Effect.suspend(() => {
      const current = swarm
      if (current === undefined) return Effect.void
      const starts: Array<Effect.Effect<void>> = []
      for (const [key, address] of candidates) {
        if (active.size >= config.maxPeers || current.picker.isComplete()) break
        candidates.delete(key)
        if (current.banned.has(key)) continue
        active.add(key)
        const supervised = Effect.scoped(runPeer(address, current)).pipe(
          Effect.tapError((error) => Effect.logDebug(error.message)),
          Effect.retry({
            schedule: config.reconnect,
            while: (error) => !isFinal(error) && !current.picker.isComplete()
          }),
          Effect.catchTag("PeerError", (error) => Effect.logDebug(`giving up: ${error.message}`)),
          Effect.ensuring(Effect.suspend(() => {
            active.delete(key)
            return connectMore
          }))
        )
        starts.push(FiberMap.run(peers, key, supervised, { onlyIfMissing: true }).pipe(Effect.asVoid))
      }
      return Effect.all(starts, { discard: true })
    })

    const addPeers = (addresses: ReadonlyArray<Endpoint>): Effect.Effect<void> =>
      Effect.suspend(() => {
        for (const address of addresses) {
          const key = `${address.host}:${address.port}`
          if (!active.has(key)) candidates.set(key, address)
        }
        return connectMore
      })

    /** Verifies and writes completed pieces, one at a time, in the order they completed. */
    const writer = (swarm: Swarm) =>
      Effect.gen(function*() {
        for (;;) {
          const piece = yield* Queue.take(completed)
          if (yield* verifier.verify(piece.data, pieceHash(torrent, piece.index))) {
            yield* storage.writePiece(piece.index, piece.data)
            swarm.pieceVerified(piece.index)
            if (swarm.picker.isComplete()) {
              yield* storage.flush
              yield* Deferred.succeed(done, undefined)
            }
          } else {
            const banned = swarm.pieceFailed(piece.index)
            yield* Effect.logWarning(
              `piece ${piece.index} failed its hash check; fetching it again` +
                (banned.length > 0 ? `; banned ${banned.map((link) => link.key).join(", ")}` : "")
            )
          }
        }
      }).pipe(
        Effect.mapError(storageError),
        Effect.catchAll((error) => Deferred.fail(done, error))
      )

    const run = Effect.gen(function*() {
      const have = yield* checkExisting(torrent, storage, (n) => {
        checked = n
      })
      const started = new Swarm({
        torrent,
        peerId: options.peerId,
        have,
        now,
        random: pickRandom,
        banAfterStrikes: config.banAfterStrikes,
        onPieceComplete: (piece) => Queue.unsafeOffer(completed, piece)
      })
      swarm = started
      if (started.picker.isComplete()) return yield* Deferred.succeed(done, undefined)
      yield* Effect.forkScoped(writer(started))
      yield* Effect.sync(() => started.tick(limits)).pipe(Effect.schedule(Schedule.spaced(config.tick)), Effect.forkScoped)
      if (options.useTrackers) {
        yield* startAnnouncing({
          tiers: trackerTiers(torrent),
          infoHash: torrent.infoHash,
          peerId: options.peerId,
          port: config.port,
          key: options.key,
          stats: Effect.sync(() => ({ uploaded: 0, downloaded: started.downloaded, left: started.picker.missingBytes })),
          onPeers: (found) => addPeers(found)
        })
      }
      yield* connectMore
    }).pipe(Effect.catchAll((error) => Deferred.fail(done, error)))

    yield* Effect.forkScoped(run)

    const progress = Effect.gen(function*() {
      const current = swarm
      const checkedPieces = checked
      const complete = yield* Deferred.isDone(done)
      const base = { pieceCount: torrent.pieceCount, totalLength: torrent.totalLength, checkedPieces }
      if (current === undefined) {
        return { ...base, state: "checking", verifiedPieces: 0, bytesVerified: 0, downloaded: 0, wasted: 0, rate: 0, peers: 0 } as const
      }
      return {
        ...base,
        state: complete && current.picker.isComplete() ? "complete" : "downloading",
        verifiedPieces: current.picker.verifiedCount,
        bytesVerified: current.picker.bytesVerified,
        downloaded: current.downloaded,
        wasted: current.wasted,
        rate: current.rate,
        peers: current.links.size
      } as const
    })

    return { torrent, progress, done: Deferred.await(done), addPeers } satisfies TorrentHandle
  }).pipe(Effect.annotateLogs("torrent", options.torrent.name))

/** A small seeded generator for piece choice (uniform in [0, 1)); plain code, as the picker runs per block. */
const lcg = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}
