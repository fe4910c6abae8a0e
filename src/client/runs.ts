import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import type { TorrentInfo } from "../metainfo/index.js"
import { parseEndpoint } from "../net/endpoint.js"
import { type Later, throttle } from "../peer/transport/Throttled.js"
import type { Connection } from "../peer/transport/Transport.js"
import type { Session, TorrentHandle, TorrentProgress } from "../session/index.js"
import type { FilePriority } from "../session/selection.js"
import type { ClientEvent } from "./Client.js"
import { type Entry, type Run, statusOf, totals, trackerStatuses, wantedBytes } from "./entry.js"
import type { ClientConfig } from "./make.js"
import type { Persistence } from "./persist.js"
import type { Registry } from "./registry.js"
import { filePriorities, withFilesKnown } from "./settings.js"

/** Starting, watching, sampling and stopping one torrent's run in the Session. */
export const makeRuns = (o: {
  readonly session: Session["Type"]
  readonly config: ClientConfig
  readonly runsScope: Scope.Scope
  readonly now: () => number
  readonly publish: (event: ClientEvent) => Effect.Effect<boolean>
  readonly wake: Queue.Queue<void>
  readonly later: Later
  readonly registry: Registry
  readonly touch: (entry: Entry) => void
  readonly saveQuietly: Persistence["saveQuietly"]
}) => {
  const { session, config, runsScope, now, publish, wake, later, touch, saveQuietly } = o
  const { current } = o.registry

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
          if (skipAll) return torrent.files.map((): FilePriority => "skip")
          // A magnet's choices from `add`, numbered as its listed files: applied now that they are known.
          if (entry.record.pendingFiles !== undefined) entry.record = withFilesKnown(entry.record, torrent.files)
          return filePriorities(entry.record.settings, torrent.files.length) ?? base
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
          // Choices `set` while the session was taking the metadata (after it read `files`) are still pending.
          const late = entry.record.pendingFiles !== undefined
          entry.record = { ...withFilesKnown(entry.record, handle.torrent.files), name: handle.torrent.name }
          const files = late && !skipAll ? filePriorities(entry.record.settings, handle.torrent.files.length) : undefined
          if (files !== undefined) yield* handle.setFiles(files)
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

  /** Adds the time since the tick last looked at a running torrent to its downloading or seeding seconds. */
  const countTime = (entry: Entry, run: Run, at: number) => {
    const elapsed = (at - run.visitedAt) / 1000
    run.visitedAt = at
    const status = statusOf(entry)
    if (status === "downloading") run.secondsDownloading += elapsed
    else if (status === "seeding") run.secondsSeeding += elapsed
  }

  return { startRun, stopRun, sample, fail, countTime }
}

export type Runs = ReturnType<typeof makeRuns>
