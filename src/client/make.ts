import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { resolve } from "node:path"
import { isInside } from "../storage/layout.js"
import { formatMagnet, parseMagnet, parseMetadata, type TorrentInfo, trackerTiers } from "../metainfo/index.js"
import { parseEndpoint } from "../net/endpoint.js"
import { clockTimers, throttle } from "../peer/transport/Throttled.js"
import type { Connection } from "../peer/transport/Transport.js"
import { ResumeStore } from "../resume/index.js"
import { Session, type TorrentHandle, type TorrentProgress } from "../session/index.js"
import {
  type AddOptions,
  type AddSource,
  Client,
  type FreeSpace,
  type ClientEvent,
  ClientError,
  type QueueMove,
  type RemoveOptions,
  type Selector,
  type SessionSettings,
  type SessionSettingsPatch,
  type SessionStats,
  type SnapshotDetail,
  type TorrentRef,
  type TorrentSettings,
  type TorrentSettingsPatch,
  type TransferTotals
} from "./Client.js"
import { makeStateFiles, type SessionRecord, type TorrentRecord } from "./ClientState.js"
import { loadEntries } from "./load.js"
import { deleteData, moveData, renameData } from "./data.js"
import {
  type Entry,
  idleLimit,
  isComplete,
  isStalled,
  isWanted,
  ratioLimit,
  type Run,
  snapshot,
  statusOf,
  totals,
  trackerStatuses,
  wantedBytes
} from "./entry.js"
import { applySessionLimits, applyTorrentLimits, makeSessionLimits, makeTorrentLimits } from "./limits.js"
import { moveInQueue, placeInQueue, runnable } from "./queue.js"
import { applyRenames, renamePath as renameInInfo } from "./rename.js"
import {
  defaultSessionSettings,
  filePriorities,
  sizedFor,
  initialTorrentSettings,
  patchSession,
  patchTorrent,
  restoreSettings
} from "./settings.js"
import type { FilePriority } from "../session/selection.js"
import { defaultFetchLimits, type FetchLimits, type Resolved, resolveSource } from "./sources.js"

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

/** How often the tick looks at a quiet torrent (no peers, nothing changing): its time counters and idle limit. */
const QUIET_VISIT_MS = 30_000

/** How long a removed torrent's id is reported by `recently-active`, and a changed torrent counts as recent. */
const RECENT_MS = 60_000

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
    const saveLock = yield* Effect.makeSemaphore(1)
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
    const current = { uploadedBytes: 0, downloadedBytes: 0, filesAdded: 0 }
    let nextId = Math.max(loaded.session?.nextId ?? 1, ...loaded.torrents.map((record) => record.id + 1))

    // ---- rate limits: the session's buckets, each torrent's own; timers on the Clock, fibers in the client's scope

    const sessionLimits = makeSessionLimits(now)
    applySessionLimits(sessionLimits, yield* Ref.get(settings))
    const { later } = yield* clockTimers
    const limitsFor = (torrentSettings: TorrentSettings) => {
      const limits = makeTorrentLimits(now)
      applyTorrentLimits(limits, torrentSettings, sessionLimits)
      return limits
    }

    const entries = new Map<number, Entry>()
    const byHash = new Map<string, number>()
    let order: ReadonlyArray<number> = []
    let removed: Array<{ readonly id: number; readonly at: number }> = []

    // ---- persistence

    const sessionRecord = (): Effect.Effect<SessionRecord> =>
      Effect.map(Ref.get(settings), (current_) => ({
        version: 1 as const,
        nextId,
        settings: { ...current_ },
        cumulative: cumulativeNow(),
        queue: [...order]
      }))
    const saveSession = Effect.flatMap(sessionRecord(), (record) => saveLock.withPermits(1)(files.saveSession(record)))

    const recordNow = (entry: Entry): TorrentRecord => ({
      ...entry.record,
      ...totals(entry),
      queuePosition: order.indexOf(entry.record.id)
    })
    /** Each torrent's record as last written, to skip writing one that has not changed. */
    const written = new Map<number, string>()
    // Time counters alone do not make a write (an idle seed would be written every round); they go with the next.
    const comparable = (record: TorrentRecord) => JSON.stringify({ ...record, secondsDownloading: 0, secondsSeeding: 0 })
    const saveEntry = (entry: Entry) =>
      Effect.suspend(() => {
        const record = recordNow(entry)
        const text = comparable(record)
        if (written.get(record.id) === text) return Effect.void
        return saveLock.withPermits(1)(files.saveTorrent(record)).pipe(
          Effect.tap(() => Effect.sync(() => written.set(record.id, text)))
        )
      })
    /** Saves, logging a failure rather than failing what triggered it (the state is saved again later). */
    const saveQuietly = (entry: Entry) => saveEntry(entry).pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))

    const cumulativeNow = (): TransferTotals => ({
      uploadedBytes: cumulativeAtStart.uploadedBytes + current.uploadedBytes,
      downloadedBytes: cumulativeAtStart.downloadedBytes + current.downloadedBytes,
      filesAdded: cumulativeAtStart.filesAdded + current.filesAdded,
      secondsActive: cumulativeAtStart.secondsActive + Math.floor((now() - startedAt) / 1000),
      sessionCount: cumulativeAtStart.sessionCount + 1
    })

    // ---- loading

    for (const entry of yield* loadEntries(loaded.torrents, resume, limitsFor)) {
      entries.set(entry.record.id, entry)
      byHash.set(entry.record.hash, entry.record.id)
    }
    const savedOrder = (loaded.session?.queue ?? []).filter((id) => entries.has(id))
    order = [...new Set([...savedOrder, ...entries.keys()])]
    // What was loaded is what is on disk: a record is written again only once it changes.
    for (const [index, id] of order.entries()) {
      const entry = entries.get(id)!
      written.set(id, comparable({ ...entry.record, queuePosition: index }))
    }

    // ---- running torrents

    /**
     * Something changed that the queue may care about since the last `reconcile`: the tick reconciles only then
     * (or while torrents wait for a slot, where time alone can free one), so a thousand quiet seeds cost no pass.
     */
    let dirty = true
    /** Torrents wanted but not running after the last `reconcile`: waiting in the queue. */
    let waiting = 0
    const touch = (entry: Entry) => {
      entry.changedAt = now()
      dirty = true
      wakeUp(entry)
    }
    /** The next tick looks at it even if it is quiet (its settings or the session's changed). */
    const wakeUp = (entry: Entry) => {
      if (entry.run !== undefined) entry.run.quietSampled = false
    }

    const fail = (entry: Entry, message: string) =>
      Effect.gen(function*() {
        entry.error = { kind: 3, message }
        touch(entry)
        yield* publish({ _tag: "Error", id: entry.record.id, message })
        yield* Effect.logWarning(`${entry.info?.name ?? entry.record.name}: ${message}`)
        yield* Queue.offer(wake, undefined)
      })

    /** Watches a started torrent: the end of its check, its completion, its failure. */
    const watch = (entry: Entry, handle: TorrentHandle) =>
      Effect.gen(function*() {
        entry.pieces = (yield* handle.checked).copy()
        if (entry.checkOnly) {
          entry.checkOnly = false
          touch(entry)
          yield* Queue.offer(wake, undefined)
        }
        yield* handle.done
        if (entry.record.doneDate === 0) {
          entry.record = { ...entry.record, doneDate: now() }
          touch(entry)
          yield* publish({ _tag: "Completed", id: entry.record.id })
          yield* saveQuietly(entry)
        }
      }).pipe(Effect.catchAll((error) => fail(entry, error.message)))

    const startRun = (entry: Entry) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(runsScope, ExecutionStrategy.sequential)
        const announceNow = yield* Queue.sliding<void>(1)
        const run: Run = {
          scope,
          startedAt: now(),
          torrent: undefined,
          magnet: undefined,
          progress: undefined,
          announceNow,
          secondsDownloading: 0,
          secondsSeeding: 0,
          quietSampled: false,
          visitedAt: now()
        }
        entry.run = run
        touch(entry)
        let skipAll = false
        const options = {
          directory: entry.record.downloadDir,
          maxPeers: entry.record.settings.peerLimit,
          wrapConnection: (connection: Connection) => throttle(connection, entry.limits.down, entry.limits.up, later),
          announce: { now: Queue.take(announceNow) },
          // A magnet link's `ws=` web seeds, kept with the torrent: its metadata alone has no `url-list`.
          webSeeds: entry.magnet.webSeeds,
          peers: [...entry.magnet.peers, ...entry.record.peers.flatMap((text) => {
            const peer = parseEndpoint(text)
            return typeof peer === "string" ? [] : [peer]
          })],
          // The torrent's file choices, read when it starts (a magnet's once its metadata came; so= until set). A
          // magnet run for its metadata alone skips every file.
          files: (torrent: TorrentInfo, base: ReadonlyArray<FilePriority>) => {
            skipAll = entry.metadataOnly && entry.record.paused
            return skipAll
              ? torrent.files.map((): FilePriority => "skip")
              : filePriorities(entry.record.settings, torrent.files.length) ?? base
          }
        }
        if (entry.info !== undefined) {
          const started = yield* session.add(entry.info, options).pipe(Scope.extend(scope), Effect.either)
          if (Either.isLeft(started)) {
            entry.run = undefined
            yield* Scope.close(scope, Exit.void)
            return yield* fail(entry, started.left.message)
          }
          run.torrent = started.right
          yield* Effect.forkIn(watch(entry, started.right), scope)
          if (config.onTorrentRun !== undefined) yield* config.onTorrentRun(started.right).pipe(Scope.extend(scope))
        } else {
          const magnet = yield* session.addMagnet(entry.magnet, options).pipe(Scope.extend(scope))
          run.magnet = magnet
          yield* Effect.gen(function*() {
            const handle = yield* magnet.torrent
            run.torrent = handle
            entry.info = handle.torrent
            const settings = sizedFor(entry.record.settings, handle.torrent.files.length)
            entry.record = { ...entry.record, name: handle.torrent.name, settings }
            touch(entry)
            yield* publish({ _tag: "MetadataReceived", id: entry.record.id, name: handle.torrent.name })
            yield* saveQuietly(entry)
            entry.metadataOnly = false
            // Fetched for its metadata alone: the queue stops it (or starts it afresh with the files chosen).
            if (skipAll) return yield* Queue.offer(wake, undefined)
            if (config.onTorrentRun !== undefined) yield* config.onTorrentRun(handle).pipe(Scope.extend(scope))
            yield* watch(entry, handle)
          }).pipe(Effect.catchAll((error) => fail(entry, error.message)), Effect.forkIn(scope))
        }
        yield* publish({ _tag: "StatusChanged", id: entry.record.id, status: statusOf(entry) })
      })

    /** Stops a torrent: its counters go into its record, its scope closes (`stopped` to trackers, resume saved). */
    const stopRun = (entry: Entry) =>
      Effect.gen(function*() {
        const run = entry.run
        if (run === undefined) return
        yield* sample(entry)
        countTime(entry, run, now())
        const ever = totals(entry)
        entry.record = { ...entry.record, ...ever }
        entry.trackers = trackerStatuses(entry)
        entry.run = undefined
        touch(entry)
        yield* Scope.close(run.scope, Exit.void)
        yield* publish({ _tag: "StatusChanged", id: entry.record.id, status: statusOf(entry) })
        yield* saveQuietly(entry)
      })

    /** Reads a running torrent's progress into its entry; counts activity and verified pieces. */
    const sample = (entry: Entry) =>
      Effect.gen(function*() {
        const run = entry.run
        if (run?.torrent === undefined) return
        const before: TorrentProgress | undefined = run.progress
        const progress = yield* run.torrent.progress
        run.progress = progress
        const downloaded = progress.downloaded - (before?.downloaded ?? 0)
        const uploaded = progress.uploaded - (before?.uploaded ?? 0)
        current.downloadedBytes += downloaded
        current.uploadedBytes += uploaded
        if (downloaded > 0 || uploaded > 0) {
          entry.record = { ...entry.record, activityDate: now() }
          touch(entry)
        }
        if (progress.state !== "checking" && progress.verifiedPieces !== entry.pieces?.count) {
          entry.pieces = run.torrent.verified() ?? entry.pieces
          touch(entry)
          const wanted = wantedBytes(entry)
          yield* publish({
            _tag: "Progress",
            id: entry.record.id,
            percentDone: wanted.size === 0 ? 1 : wanted.have / wanted.size,
            haveValid: progress.bytesVerified,
            rateDownload: progress.downloadRate,
            rateUpload: progress.uploadRate
          })
        }
      })

    /** A seed past its ratio or idle limit stops, `finished`. */
    const seedLimitReached = (entry: Entry, current_: SessionSettings): boolean => {
      if (entry.run === undefined || statusOf(entry) !== "seeding" || entry.info === undefined) return false
      const { downloadedEver, uploadedEver } = totals(entry)
      const ratio = uploadedEver / Math.max(1, downloadedEver > 0 ? downloadedEver : entry.info.totalLength)
      const ratioAt = ratioLimit(entry.record.settings, current_)
      if (ratioAt !== undefined && ratio >= ratioAt) return true
      const idleAt = idleLimit(entry.record.settings, current_)
      const since = Math.max(entry.run.startedAt, entry.record.activityDate)
      return idleAt !== undefined && now() - since >= idleAt * 60_000
    }

    /** Starts and stops torrents as the queue says. Under the lock. */
    const reconcile = Effect.gen(function*() {
      dirty = false
      const current_ = yield* Ref.get(settings)
      const at = now()
      const run = runnable(
        order.flatMap((id) => {
          const entry = entries.get(id)
          if (entry === undefined) return []
          return [{
            id,
            wanted: isWanted(entry),
            forced: entry.forced || entry.checkOnly || entry.metadataOnly,
            complete: isComplete(entry),
            running: entry.run !== undefined,
            stalled: isStalled(entry, at, current_)
          }]
        }),
        current_
      )
      for (const id of order) {
        const entry = entries.get(id)!
        if (entry.run !== undefined && !run.has(id)) yield* stopRun(entry)
      }
      waiting = 0
      for (const id of order) {
        const entry = entries.get(id)!
        if (entry.run === undefined && run.has(id)) yield* startRun(entry)
        else if (entry.run === undefined && isWanted(entry)) waiting++
      }
    })

    let lastSave = now()
    const saveInterval = Duration.toMillis(config.save ?? Duration.seconds(30))
    /** Adds the time since the tick last looked at a running torrent to its downloading or seeding seconds. */
    const countTime = (entry: Entry, run: Run, at: number) => {
      const elapsed = (at - run.visitedAt) / 1000
      run.visitedAt = at
      const status = statusOf(entry)
      if (status === "downloading") run.secondsDownloading += elapsed
      else if (status === "seeding") run.secondsSeeding += elapsed
    }

    /**
     * Once a second: samples the running torrents that are not quiet (a quiet one once more, when it turns quiet),
     * counts their time downloading and seeding, applies seed limits, and reconciles the queue if anything moved. A
     * quiet torrent is passed over but every `QUIET_VISIT_MS` (for its time counters and its idle seeding limit):
     * a thousand idle seeds cost a thousand plain reads a second.
     */
    const tick = Effect.gen(function*() {
      const current_ = yield* Ref.get(settings)
      const at = now()
      for (const entry of entries.values()) {
        const run = entry.run
        if (run === undefined) continue
        const quiet = run.torrent?.quiet() ?? false
        if (quiet && run.quietSampled && at - run.visitedAt < QUIET_VISIT_MS) continue
        if (!quiet || !run.quietSampled) yield* sample(entry)
        run.quietSampled = quiet
        countTime(entry, run, at)
        if (seedLimitReached(entry, current_)) {
          entry.record = { ...entry.record, paused: true, finished: true }
          touch(entry)
        }
      }
      if (dirty || waiting > 0) yield* reconcile
      if (removed.length > 0) removed = removed.filter((gone) => now() - gone.at < RECENT_MS)
      if (now() - lastSave >= saveInterval) {
        const since = lastSave
        lastSave = now()
        for (const entry of entries.values()) {
          if (entry.run !== undefined && entry.changedAt >= since) yield* saveQuietly(entry)
        }
        yield* saveSession.pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))
      }
    })
    const locked = lock.withPermits(1)

    /** Fails unless `folder` is allowed to hold data. */
    const allowedFolder = (folder: string) =>
      Effect.suspend(() => {
        const allowed = config.allowedFolders
        if (allowed === undefined) return Effect.void
        const target = resolve(folder)
        return allowed.some((root) => resolve(root) === target || isInside(resolve(root), target))
          ? Effect.void
          : Effect.fail(
            new ClientError({ reason: "InvalidArgument", detail: `${folder} is outside the folders data may go in` })
          )
      })

    // ---- selection

    const find = (ref: TorrentRef): Entry | undefined => {
      const id = typeof ref === "number" ? ref : byHash.get(ref.toLowerCase())
      return id === undefined ? undefined : entries.get(id)
    }
    /** The torrents selected, in queue order; unknown ids and hashes are skipped. */
    const select = (selector: Selector): ReadonlyArray<Entry> => {
      const all = order.map((id) => entries.get(id)!)
      if (selector === "all") return all
      if (selector === "recently-active") return all.filter((entry) => now() - entry.changedAt < RECENT_MS)
      const chosen = new Set(selector.map(find).filter((entry) => entry !== undefined))
      return all.filter((entry) => chosen.has(entry))
    }
    const forEach = (selector: Selector, f: (entry: Entry) => Effect.Effect<void, ClientError>) =>
      locked(Effect.gen(function*() {
        for (const entry of select(selector)) yield* f(entry)
        yield* reconcile
      }))

    // ---- the service

    const add = (source: AddSource, options: AddOptions = {}) =>
      Effect.gen(function*() {
        const badPeer = (options.peers ?? []).find((text) => typeof parseEndpoint(text) === "string")
        if (badPeer !== undefined) {
          return yield* new ClientError({ reason: "InvalidArgument", detail: `${badPeer} is not a HOST:PORT peer address` })
        }
        if (options.downloadDir !== undefined) yield* allowedFolder(options.downloadDir)
        const resolved: Resolved = yield* resolveSource(source, fs, http, fetchLimits)
        const hash = resolved._tag === "Torrent" ? resolved.info.infoHashHex : resolved.magnet.infoHashHex
        return yield* locked(Effect.gen(function*() {
          const existing = find(hash)
          if (existing !== undefined) {
            const name = existing.info?.name ?? existing.record.name
            return { id: existing.record.id, hashString: hash, name, duplicate: true }
          }
          const current_ = yield* Ref.get(settings)
          const info = resolved._tag === "Torrent" ? resolved.info : undefined
          const magnet = resolved._tag === "Magnet" ? resolved.magnet : Either.getOrThrow(parseMagnet(formatMagnet(info!)))
          const name = info?.name ?? magnet.name ?? hash
          const id = nextId++
          yield* saveSession
          if (info !== undefined) {
            yield* resume.saveMetadata(hash, info.infoBytes).pipe(
              Effect.mapError((cause) => new ClientError({ reason: "Persistence", detail: cause.message, cause }))
            )
          }
          const at = now()
          const settingsOfNew = initialTorrentSettings(current_, info?.files.length ?? 0, options)
          const entry: Entry = {
            record: {
              version: 1,
              id,
              hash,
              name,
              magnet: info === undefined ? resolveMagnetText(source) : formatMagnet(info),
              trackers: info === undefined ? magnet.trackers.map((tier) => [...tier]) : trackerTiers(info).map((tier) => [...tier]),
              downloadDir: options.downloadDir ?? current_.downloadDir,
              peers: [...(options.peers ?? [])],
              paused: options.paused ?? !current_.startAddedTorrents,
              finished: false,
              queuePosition: order.length,
              addedDate: at,
              doneDate: 0,
              activityDate: 0,
              downloadedEver: 0,
              uploadedEver: 0,
              corruptEver: 0,
              secondsSeeding: 0,
              secondsDownloading: 0,
              settings: settingsOfNew
            },
            magnet,
            info,
            run: undefined,
            forced: false,
            checkOnly: false,
            metadataOnly: info === undefined && (options.paused ?? !current_.startAddedTorrents),
            error: undefined,
            pieces: undefined,
            changedAt: at,
            limits: limitsFor(settingsOfNew),
            trackers: []
          }
          yield* saveEntry(entry)
          entries.set(id, entry)
          byHash.set(hash, id)
          order = [...order, id]
          current.filesAdded++
          yield* publish({ _tag: "Added", id, hashString: hash, name })
          yield* reconcile
          return { id, hashString: hash, name, duplicate: false }
        }))
      })

    const remove = (selector: Selector, options: RemoveOptions = {}) =>
      forEach(selector, (entry) =>
        Effect.gen(function*() {
          yield* stopRun(entry)
          const { hash, id } = entry.record
          entries.delete(id)
          byHash.delete(hash)
          order = order.filter((other) => other !== id)
          removed.push({ id, at: now() })
          yield* files.removeTorrent(hash)
          written.delete(id)
          yield* resume.forget(hash, true).pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))
          if (options.deleteData === true && entry.info !== undefined) {
            yield* deleteData(fs, entry.info, entry.record.downloadDir)
          }
          yield* publish({ _tag: "Removed", id, hashString: hash })
        }))

    /** Changes a torrent's record and saves it. */
    const update = (entry: Entry, change: Partial<TorrentRecord>) =>
      Effect.suspend(() => {
        entry.record = { ...entry.record, ...change }
        touch(entry)
        return saveEntry(entry)
      })

    const start = (selector: Selector, forced: boolean) =>
      forEach(selector, (entry) => {
        entry.forced = forced
        entry.error = undefined
        return update(entry, { paused: false, finished: false })
      })

    const stop = (selector: Selector) =>
      forEach(selector, (entry) => {
        entry.forced = false
        entry.checkOnly = false
        entry.metadataOnly = false
        return update(entry, { paused: true })
      })

    const verify = (selector: Selector) =>
      forEach(selector, (entry) =>
        Effect.gen(function*() {
          yield* stopRun(entry)
          yield* resume.forget(entry.record.hash, false).pipe(
            Effect.mapError((cause) => new ClientError({ reason: "Persistence", detail: cause.message, cause }))
          )
          entry.error = undefined
          entry.pieces = undefined
          entry.checkOnly = entry.record.paused
          touch(entry)
        }))

    const setLocation = (selector: Selector, location: string, move: boolean) =>
      Effect.zipRight(allowedFolder(location), forEach(selector, (entry) =>
        Effect.gen(function*() {
          yield* stopRun(entry)
          if (move && entry.info !== undefined) yield* moveData(fs, entry.info, entry.record.downloadDir, location)
          yield* update(entry, { downloadDir: location })
        })))

    const renamePath = (ref: TorrentRef, path: string, name: string) =>
      locked(Effect.gen(function*() {
        const entry = find(ref)
        if (entry === undefined) return yield* new ClientError({ reason: "NotFound", detail: `no torrent ${ref}` })
        if (entry.info === undefined) {
          return yield* new ClientError({ reason: "InvalidArgument", detail: `${entry.record.name} has no metadata yet` })
        }
        const renamed = renameInInfo(entry.info, path, name)
        if (Either.isLeft(renamed)) return yield* new ClientError({ reason: "InvalidArgument", detail: renamed.left })
        yield* stopRun(entry)
        yield* renameData(fs, entry.record.downloadDir, renamed.right.from, renamed.right.to)
        entry.info = renamed.right.info
        yield* update(entry, { name: entry.info.name, renames: [...entry.record.renames ?? [], [path, name]] })
        yield* reconcile
        return { id: entry.record.id, path, name }
      }))

    const set = (selector: Selector, patch: TorrentSettingsPatch) =>
      forEach(selector, (entry) =>
        Effect.gen(function*() {
          const sized = entry.info === undefined ? entry.record.settings : sizedFor(entry.record.settings, entry.info.files.length)
          const next = patchTorrent(sized, patch)
          if (next instanceof ClientError) return yield* next
          const badUrl = (patch.trackerAdd ?? []).find((url) => !/^(https?|udp):\/\/[^/]/i.test(url) || !URL.canParse(url))
          if (badUrl !== undefined) {
            return yield* new ClientError({ reason: "InvalidArgument", detail: `${badUrl} is not an http(s) or udp tracker URL` })
          }
          if (patch.queuePosition !== undefined) order = placeInQueue(order, entry.record.id, patch.queuePosition)
          applyTorrentLimits(entry.limits, next, sessionLimits)
          const trackers = patch.trackerAdd === undefined && patch.trackerRemove === undefined
            ? undefined
            : changeTrackers(entry, patch.trackerAdd ?? [], patch.trackerRemove ?? [])
          // A new peer limit or tracker list takes a restart of the torrent (the queue starts it again at once).
          if (next.peerLimit !== entry.record.settings.peerLimit || trackers !== undefined) yield* stopRun(entry)
          yield* update(entry, { settings: next, ...(trackers === undefined ? {} : { trackers }) })
          // New file choices take effect at once in a running torrent.
          const running = entry.run?.torrent
          const files = running === undefined ? undefined : filePriorities(next, running.torrent.files.length)
          if (running !== undefined && files !== undefined) {
            yield* running.setFiles(files).pipe(
              Effect.mapError((error) => new ClientError({ reason: "Storage", detail: error.message, cause: error }))
            )
          }
        })).pipe(Effect.zipRight(patch.queuePosition === undefined ? Effect.void : saveSession))

    /**
     * The torrent's tracker tiers with the trackers of the given ids (positions in the flattened list, as snapshots
     * number them) removed and each added URL a tier of its own; its metadata takes the new list.
     */
    const changeTrackers = (entry: Entry, add: ReadonlyArray<string>, remove: ReadonlyArray<number>) => {
      const tiers = entry.info === undefined ? entry.record.trackers : trackerTiers(entry.info)
      let id = 0
      const kept = tiers.map((tier) => tier.filter(() => !remove.includes(id++))).filter((tier) => tier.length > 0)
      const known = new Set(kept.flat())
      const next = [...kept.map((tier) => [...tier]), ...[...new Set(add)].filter((url) => !known.has(url)).map((url) => [url])]
      if (entry.info !== undefined) {
        const reparsed = parseMetadata(entry.info.infoBytes, { trackers: next })
        if (Either.isRight(reparsed)) entry.info = applyRenames(reparsed.right, entry.record.renames ?? [])
      }
      return next
    }

    const queueMove = (selector: Selector, move: QueueMove) =>
      locked(Effect.gen(function*() {
        order = moveInQueue(order, select(selector).map((entry) => entry.record.id), move)
        for (const entry of select(selector)) touch(entry)
        yield* saveSession
        yield* reconcile
      }))

    const setSession = (patch: SessionSettingsPatch) =>
      locked(Effect.gen(function*() {
        if (patch.downloadDir !== undefined) yield* allowedFolder(patch.downloadDir)
        const next = patchSession(yield* Ref.get(settings), patch)
        if (next instanceof ClientError) return yield* next
        yield* Ref.set(settings, next)
        yield* session.setMaxConnections(next.peerLimitGlobal)
        applySessionLimits(sessionLimits, next)
        for (const entry of entries.values()) {
          entry.limits.down.update()
          entry.limits.up.update()
          wakeUp(entry)
        }
        yield* saveSession
        yield* reconcile
        return next
      }))

    const stats = Effect.map(session.dhtNodes, (dhtNodes): SessionStats => {
      let active = 0
      let downloadSpeed = 0
      let uploadSpeed = 0
      for (const entry of entries.values()) {
        if (entry.run !== undefined) active++
        downloadSpeed += entry.run?.progress?.downloadRate ?? 0
        uploadSpeed += entry.run?.progress?.uploadRate ?? 0
      }
      return {
        activeTorrentCount: active,
        pausedTorrentCount: entries.size - active,
        torrentCount: entries.size,
        downloadSpeed,
        uploadSpeed,
        cumulative: cumulativeNow(),
        current: { ...current, secondsActive: Math.floor((now() - startedAt) / 1000), sessionCount: 1 },
        ...(dhtNodes === undefined ? {} : { dhtNodes })
      }
    })

    const list = (selector: Selector = "all", detail: SnapshotDetail = {}) =>
      Effect.map(Ref.get(settings), (current_) => {
        const at = now()
        const positions = new Map(order.map((id, index) => [id, index]))
        return {
          torrents: select(selector).map((entry) =>
            snapshot(entry, positions.get(entry.record.id) ?? 0, at, current_, detail)
          ),
          removed: selector === "recently-active" ? removed.map((gone) => gone.id) : []
        }
      })

    const get = (ref: TorrentRef) =>
      Effect.flatMap(Effect.sync(() => find(ref)), (entry) =>
        entry === undefined
          ? Effect.fail(new ClientError({ reason: "NotFound", detail: `no torrent ${ref}` }))
          : Effect.map(
            list([entry.record.id], { files: true, peers: true, trackers: true, pieces: true }),
            (found) => found.torrents[0]!
          ))

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
      add,
      list,
      get,
      remove,
      start: (selector) => start(selector, false),
      startNow: (selector) => start(selector, true),
      stop,
      verify,
      reannounce: (selector) =>
        locked(Effect.forEach(select(selector), (entry) =>
          entry.run === undefined ? Effect.void : Queue.offer(entry.run.announceNow, undefined), { discard: true })),
      setLocation,
      renamePath,
      set,
      queueMove,
      session: Ref.get(settings),
      setSession,
      stats,
      events: Stream.fromPubSub(events),
      running: (ref) => Effect.sync(() => Option.fromNullable(find(ref)?.run?.torrent)),
      freeSpace: config.freeSpace ??
        (() => Effect.fail(new ClientError({ reason: "Unsupported", detail: "this client cannot tell free space" })))
    })
  })

/** A magnet link as the user gave it, for the record. */
const resolveMagnetText = (source: AddSource): string => (source._tag === "Magnet" ? source.uri : "")

/** The Client; needs a Session, a ResumeStore and a FileSystem (and an HttpClient, to add by URL). */
export const layer = (config: ClientConfig): Layer.Layer<Client, ClientError, Session | ResumeStore | FileSystem.FileSystem> =>
  Layer.scoped(Client, make(config))
