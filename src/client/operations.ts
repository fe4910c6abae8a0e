import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { resolve } from "node:path"
import { formatMagnet, parseMagnet, parseMetadata, trackerTiers } from "../metainfo/index.js"
import { parseEndpoint } from "../net/endpoint.js"
import type { ResumeStore } from "../resume/index.js"
import type { Session } from "../session/index.js"
import { isInside } from "../storage/layout.js"
import {
  type AddOptions,
  type AddSource,
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
  type TorrentSettingsPatch
} from "./Client.js"
import type { StateFiles, TorrentRecord } from "./ClientState.js"
import { deleteData, moveData, renameData } from "./data.js"
import { type Entry, snapshot } from "./entry.js"
import { applySessionLimits, applyTorrentLimits, type SessionLimits, type TorrentLimits } from "./limits.js"
import type { ClientConfig } from "./make.js"
import type { Persistence } from "./persist.js"
import { moveInQueue, placeInQueue } from "./queue.js"
import type { makeRegistry } from "./registry.js"
import { applyRenames, renamePath as renameInInfo } from "./rename.js"
import type { Runs } from "./runs.js"
import {
  byTorrentIndex,
  encryptionPolicy,
  fileChoicesOf,
  filePriorities,
  initialTorrentSettings,
  listedIndexes,
  mergePending,
  patchSession,
  patchTorrent,
  sizedFor
} from "./settings.js"
import { type FetchLimits, type Resolved, resolveSource } from "./sources.js"

/** What the Client does when asked: each change under the lock, then the queue reconciled. */
export const makeOperations = (o: {
  readonly config: ClientConfig
  readonly session: Session["Type"]
  readonly resume: ResumeStore["Type"]
  readonly fs: FileSystem.FileSystem
  readonly http: Option.Option<HttpClient.HttpClient>
  readonly fetchLimits: FetchLimits
  readonly files: StateFiles
  readonly settings: Ref.Ref<SessionSettings>
  readonly sessionLimits: SessionLimits
  readonly limitsFor: (settings: TorrentSettings) => TorrentLimits
  readonly registry: ReturnType<typeof makeRegistry>
  readonly now: () => number
  readonly startedAt: number
  readonly publish: (event: ClientEvent) => Effect.Effect<boolean>
  readonly locked: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly persistence: Persistence
  readonly stopRun: Runs["stopRun"]
  readonly reconcile: Effect.Effect<void>
}) => {
  const { config, session, resume, fs, http, fetchLimits, files, settings, sessionLimits, limitsFor, now, startedAt } = o
  const { publish, locked, stopRun, reconcile } = o
  const { registry, touch, wakeUp, find, select } = o.registry
  const { entries, byHash, current } = registry
  const { saveSession, saveEntry, cumulativeNow, written } = o.persistence

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
        const id = registry.nextId++
        yield* saveSession
        if (info !== undefined) {
          yield* resume.saveMetadata(hash, info.infoBytes).pipe(
            Effect.mapError((cause) => new ClientError({ reason: "Persistence", detail: cause.message, cause }))
          )
        }
        const at = now()
        const settingsOfNew = info === undefined
          ? initialTorrentSettings(current_, 0, options)
          : initialTorrentSettings(current_, info.files.length, byTorrentIndex(options, listedIndexes(info.files)))
        const pendingFiles = info === undefined ? fileChoicesOf(options) : undefined
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
            queuePosition: registry.order.length,
            addedDate: at,
            doneDate: 0,
            activityDate: 0,
            downloadedEver: 0,
            uploadedEver: 0,
            corruptEver: 0,
            secondsSeeding: 0,
            secondsDownloading: 0,
            settings: settingsOfNew,
            ...(pendingFiles === undefined ? {} : { pendingFiles })
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
        registry.order = [...registry.order, id]
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
        registry.order = registry.order.filter((other) => other !== id)
        registry.removed.push({ id, at: now() })
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
        // File choices number the listed files (as `add`'s): renumbered here, under the lock, to the torrent's own.
        const next = patchTorrent(sized, entry.info === undefined ? patch : byTorrentIndex(patch, listedIndexes(entry.info.files)))
        if (next instanceof ClientError) return yield* next
        const badUrl = (patch.trackerAdd ?? []).find((url) => !/^(https?|udp):\/\/[^/]/i.test(url) || !URL.canParse(url))
        if (badUrl !== undefined) {
          return yield* new ClientError({ reason: "InvalidArgument", detail: `${badUrl} is not an http(s) or udp tracker URL` })
        }
        if (patch.queuePosition !== undefined) registry.order = placeInQueue(registry.order, entry.record.id, patch.queuePosition)
        applyTorrentLimits(entry.limits, next, sessionLimits)
        const trackers = patch.trackerAdd === undefined && patch.trackerRemove === undefined
          ? undefined
          : changeTrackers(entry, patch.trackerAdd ?? [], patch.trackerRemove ?? [])
        // A new peer limit or tracker list takes a restart of the torrent (the queue starts it again at once).
        if (next.peerLimit !== entry.record.settings.peerLimit || trackers !== undefined) yield* stopRun(entry)
        // A magnet without its metadata has no files to choose yet: its choices wait with `add`'s for it.
        const choices = entry.info === undefined ? fileChoicesOf(patch) : undefined
        const pendingFiles = choices === undefined ? undefined : mergePending(entry.record.pendingFiles, choices)
        yield* update(entry, {
          settings: next,
          ...(trackers === undefined ? {} : { trackers }),
          ...(pendingFiles === undefined ? {} : { pendingFiles })
        })
        // New file choices take effect at once in a running torrent; a stopped one that runs only to fetch its
        // metadata or to check its data takes them when it is started (its run skips every file until then).
        const running = entry.record.paused ? undefined : entry.run?.torrent
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
      registry.order = moveInQueue(registry.order, select(selector).map((entry) => entry.record.id), move)
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
      yield* session.setEncryption(encryptionPolicy[next.encryption])
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
      const positions = new Map(registry.order.map((id, index) => [id, index]))
      return {
        torrents: select(selector).map((entry) =>
          snapshot(entry, positions.get(entry.record.id) ?? 0, at, current_, detail)
        ),
        removed: selector === "recently-active" ? registry.removed.map((gone) => gone.id) : []
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

  return { add, remove, start, stop, verify, setLocation, renamePath, set, queueMove, setSession, stats, list, get }
}

/** A magnet link as the user gave it, for the record. */
const resolveMagnetText = (source: AddSource): string => (source._tag === "Magnet" ? source.uri : "")
