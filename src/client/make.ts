import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { clockTimers } from "../peer/transport/Throttled.js"
import { ResumeStore } from "../resume/index.js"
import { Session, type TorrentHandle } from "../session/index.js"
import {
  Client,
  type ClientEvent,
  ClientError,
  type FreeSpace,
  type SessionSettings,
  type TorrentSettings,
  type TransferTotals
} from "./Client.js"
import { makeStateFiles } from "./ClientState.js"
import { applySessionLimits, applyTorrentLimits, makeSessionLimits, makeTorrentLimits } from "./limits.js"
import { loadEntries } from "./load.js"
import { makeOperations } from "./operations.js"
import { makePersistence } from "./persist.js"
import { makeRegistry } from "./registry.js"
import { makeRuns } from "./runs.js"
import { defaultSessionSettings, restoreSettings } from "./settings.js"
import { defaultFetchLimits, type FetchLimits } from "./sources.js"
import { makeTick } from "./tick.js"

export interface ClientConfig {
  /** Where the torrent list, settings and ids are kept (the ResumeStore keeps pieces and metadata). */
  readonly stateDir: string
  /** Session settings for a fresh state folder; saved ones win over these. */
  readonly settings?: Partial<SessionSettings>
  /** Session settings that win over saved ones (what this start's command line says). */
  readonly overrides?: Partial<SessionSettings>
  /** How often running torrents are sampled (rates, completion, seed limits, the queue). */
  readonly poll?: Duration.DurationInput
  /** How often counters of running torrents are saved. */
  readonly save?: Duration.DurationInput
  readonly fetch?: FetchLimits
  /**
   * Folders data may go in: a download folder (`add`, `setLocation`, `setSession`) must be one of them or inside
   * one. None: any folder (a local program's choice; a daemon serving remote users should set it).
   */
  readonly allowedFolders?: ReadonlyArray<string>
  /** How to ask the platform for a filesystem's free space; none: `freeSpace` answers Unsupported. */
  readonly freeSpace?: (path: string) => Effect.Effect<FreeSpace, ClientError>
  /**
   * Run for each torrent once it runs with its metadata, in the scope of that run (closed when it stops): what the
   * embedding program adds per torrent, such as Local Service Discovery.
   */
  readonly onTorrentRun?: (handle: TorrentHandle) => Effect.Effect<void, never, Scope.Scope>
}

const EMPTY_TOTALS: TransferTotals = { uploadedBytes: 0, downloadedBytes: 0, filesAdded: 0, secondsActive: 0, sessionCount: 0 }

/**
 * The Client over a Session: torrents kept in the state folder, run through the queue, sampled on a schedule. Every
 * change goes through one lock; snapshots are plain reads of what the last sample saw.
 */
export const make = (
  config: ClientConfig
): Effect.Effect<Client["Type"], ClientError, Session | ResumeStore | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const session = yield* Session
    const resume = yield* ResumeStore
    const fs = yield* FileSystem.FileSystem
    const http = yield* Effect.serviceOption(HttpClient.HttpClient)
    // Torrents run in scopes forked from this one, made before the finalizer that stops them (with their counters
    // saved, 32 at a time) is added: finalizers run last-added first, so that finalizer runs before this scope closes.
    const runsScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.parallel)
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const files = yield* makeStateFiles(config.stateDir)
    const fetchLimits = config.fetch ?? defaultFetchLimits
    const lock = yield* Effect.makeSemaphore(1)
    const locked = lock.withPermits(1)
    const events = yield* PubSub.sliding<ClientEvent>(10_000)
    const wake = yield* Queue.sliding<void>(1)
    const publish = (event: ClientEvent) => PubSub.publish(events, event)

    const loaded = yield* files.load
    for (const { file, problem } of loaded.skipped) yield* Effect.logWarning(`skipping ${file}: ${problem}`)
    const settings = yield* Ref.make({
      ...restoreSettings(
        { ...defaultSessionSettings(config.settings?.downloadDir ?? "."), ...config.settings },
        loaded.session?.settings
      ),
      ...config.overrides,
      peerPort: session.port
    })
    const startedAt = now()
    const cumulativeAtStart = loaded.session?.cumulative ?? EMPTY_TOTALS
    const registry = makeRegistry(now)
    const { entries, byHash } = registry.registry
    registry.registry.nextId = Math.max(loaded.session?.nextId ?? 1, ...loaded.torrents.map((record) => record.id + 1))

    // ---- rate limits: the session's buckets, each torrent's own; timers on the Clock, fibers in the client's scope

    const sessionLimits = makeSessionLimits(now)
    applySessionLimits(sessionLimits, yield* Ref.get(settings))
    const { later } = yield* clockTimers
    const limitsFor = (torrentSettings: TorrentSettings) => {
      const limits = makeTorrentLimits(now)
      applyTorrentLimits(limits, torrentSettings, sessionLimits)
      return limits
    }

    const persistence = yield* makePersistence({
      files,
      settings,
      registry: registry.registry,
      now,
      startedAt,
      cumulativeAtStart
    })
    const { saveSession, written, comparable } = persistence

    // ---- loading

    for (const entry of yield* loadEntries(loaded.torrents, resume, limitsFor)) {
      entries.set(entry.record.id, entry)
      byHash.set(entry.record.hash, entry.record.id)
    }
    const savedOrder = (loaded.session?.queue ?? []).filter((id) => entries.has(id))
    registry.registry.order = [...new Set([...savedOrder, ...entries.keys()])]
    // What was loaded is what is on disk: a record is written again only once it changes.
    for (const [index, id] of registry.registry.order.entries()) {
      const entry = entries.get(id)!
      written.set(id, comparable({ ...entry.record, queuePosition: index }))
    }

    // ---- running torrents, the queue, the tick, the operations

    const runs = makeRuns({
      session,
      config,
      runsScope,
      now,
      publish,
      wake,
      later,
      registry: registry.registry,
      touch: registry.touch,
      saveQuietly: persistence.saveQuietly
    })
    const { stopRun } = runs
    const { reconcile, tick } = makeTick({
      registry: registry.registry,
      settings,
      now,
      save: config.save,
      touch: registry.touch,
      runs,
      persistence
    })
    const operations = makeOperations({
      config,
      session,
      resume,
      fs,
      http,
      fetchLimits,
      files,
      settings,
      sessionLimits,
      limitsFor,
      registry,
      now,
      startedAt,
      publish,
      locked,
      persistence,
      stopRun,
      reconcile
    })
    const { find, select } = registry

    // ---- life

    yield* Effect.addFinalizer(() =>
      locked(Effect.gen(function*() {
        // Each stop tells trackers (bounded in time): in parallel, so a thousand torrents stop in seconds.
        yield* Effect.forEach(entries.values(), stopRun, { concurrency: 32, discard: true })
        yield* saveSession.pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))
      }))
    )
    yield* session.setMaxConnections((yield* Ref.get(settings)).peerLimitGlobal)
    yield* locked(saveSession)
    // The saved torrents start in the first tick, right away but after the client is up: a daemon with a thousand
    // of them answers its RPC (listing them waiting) while their files are being opened.
    yield* Queue.offer(wake, undefined)
    const poll = Duration.decode(config.poll ?? Duration.seconds(1))
    yield* Effect.raceFirst(Queue.take(wake), Effect.sleep(poll)).pipe(
      Effect.zipRight(locked(tick)),
      Effect.forever,
      Effect.forkScoped
    )

    return Client.of({
      port: session.port,
      add: operations.add,
      list: operations.list,
      get: operations.get,
      remove: operations.remove,
      start: (selector) => operations.start(selector, false),
      startNow: (selector) => operations.start(selector, true),
      stop: operations.stop,
      verify: operations.verify,
      reannounce: (selector) =>
        locked(Effect.forEach(select(selector), (entry) =>
          entry.run === undefined ? Effect.void : Queue.offer(entry.run.announceNow, undefined), { discard: true })),
      setLocation: operations.setLocation,
      renamePath: operations.renamePath,
      set: operations.set,
      queueMove: operations.queueMove,
      session: Ref.get(settings),
      setSession: operations.setSession,
      stats: operations.stats,
      events: Stream.fromPubSub(events),
      running: (ref) => Effect.sync(() => Option.fromNullable(find(ref)?.run?.torrent)),
      freeSpace: config.freeSpace ??
        (() => Effect.fail(new ClientError({ reason: "Unsupported", detail: "this client cannot tell free space" })))
    })
  })

/** The Client; needs a Session, a ResumeStore and a FileSystem (and an HttpClient, to add by URL). */
export const layer = (config: ClientConfig): Layer.Layer<Client, ClientError, Session | ResumeStore | FileSystem.FileSystem> =>
  Layer.scoped(Client, make(config))
