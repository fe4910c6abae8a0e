import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { MagnetLink, TorrentInfo } from "../metainfo/index.js"
import { trackerTiers } from "../metainfo/index.js"
import type { Bitfield } from "../piece/index.js"
import type { TrackerStatus } from "../tracker/index.js"
import type { MagnetHandle, TorrentHandle, TorrentProgress } from "../session/index.js"
import type {
  ErrorKind,
  FileSnapshot,
  LimitMode,
  PeerSnapshot,
  SessionSettings,
  SnapshotDetail,
  TorrentSettings,
  TorrentSnapshot,
  TorrentStatus,
  TrackerSnapshot
} from "./Client.js"
import type { TorrentRecord } from "./ClientState.js"
import type { TorrentLimits } from "./limits.js"

/** A torrent while it runs: its scope (closing it stops everything), and what the session gave for it. */
export interface Run {
  readonly scope: Scope.CloseableScope
  readonly startedAt: number
  torrent: TorrentHandle | undefined
  magnet: MagnetHandle | undefined
  /** The last progress sampled; its byte counters are this run's, added to the record's at the end. */
  progress: TorrentProgress | undefined
  /** Offered to announce now. */
  readonly announceNow: Queue.Queue<void>
  /** Seconds spent downloading and seeding in this run, added to the record's at the end. */
  secondsDownloading: number
  secondsSeeding: number
  /** Sampled since it last turned quiet (see `TorrentHandle.quiet`): no need to sample it again until it stirs. */
  quietSampled: boolean
  /** When the client's tick last looked at it (time counters run from there). */
  visitedAt: number
}

/** One torrent of the client: what is saved of it, and what it is doing now. Plain mutable data, behind a lock. */
export interface Entry {
  record: TorrentRecord
  readonly magnet: MagnetLink
  info: TorrentInfo | undefined
  run: Run | undefined
  /** Started past the queue ("start now"). */
  forced: boolean
  /** A recheck asked for on a stopped torrent: it runs until checked, then stops again. */
  checkOnly: boolean
  /**
   * A magnet link added stopped: it runs until its metadata arrives (fetching no data), then stops again, so that
   * its files can be chosen before it starts. Not saved: after a restart a stopped magnet stays stopped.
   */
  metadataOnly: boolean
  error: { readonly kind: ErrorKind; readonly message: string } | undefined
  /** Verified pieces as last seen (running, or from the resume state). */
  pieces: Bitfield | undefined
  /** When anything about it last changed, for `recently-active`. */
  changedAt: number
  /** The rate limits its connections are held to. */
  readonly limits: TorrentLimits
  /** Each tracker's status as its run last saw it: kept when the torrent stops (a running one's is read live). */
  trackers: ReadonlyArray<TrackerStatus>
}

/** Each tracker's status: the running torrent's (or its magnet link's announce loop's), else the last kept. */
export const trackerStatuses = (entry: Entry): ReadonlyArray<TrackerStatus> => {
  const run = entry.run
  if (run?.torrent !== undefined) return run.torrent.trackers()
  if (run?.magnet !== undefined) return run.magnet.metadataProgress().trackers
  return entry.trackers
}

export const isComplete = (entry: Entry): boolean =>
  entry.info !== undefined && (entry.pieces?.isComplete() ?? false)

/** The user wants it running: not stopped, not failed. */
export const isWanted = (entry: Entry): boolean => (!entry.record.paused || entry.checkOnly || entry.metadataOnly) && entry.error === undefined

export const statusOf = (entry: Entry): TorrentStatus => {
  const run = entry.run
  if (run === undefined) return isWanted(entry) ? (isComplete(entry) ? "seed-wait" : "download-wait") : "stopped"
  const progress = run.progress
  if (progress === undefined) return run.torrent === undefined && run.magnet !== undefined ? "downloading" : "checking"
  return progress.state
}

/** Counters over the torrent's life (payload bytes, seconds active): what the record holds plus the running session's. */
export const totals = (entry: Entry) => ({
  downloadedEver: entry.record.downloadedEver + (entry.run?.progress?.downloaded ?? 0),
  uploadedEver: entry.record.uploadedEver + (entry.run?.progress?.uploaded ?? 0),
  corruptEver: entry.record.corruptEver + (entry.run?.progress?.wasted ?? 0),
  secondsDownloading: entry.record.secondsDownloading + (entry.run?.secondsDownloading ?? 0),
  secondsSeeding: entry.record.secondsSeeding + (entry.run?.secondsSeeding ?? 0)
})

/** The limit in force: the torrent's own, the session's if switched on, or none. */
const inForce = (mode: LimitMode, own: number, sessionOn: boolean, session: number): number | undefined =>
  mode === "single" ? own : mode === "global" && sessionOn ? session : undefined

/** The seed ratio limit in force, if any. */
export const ratioLimit = (settings: TorrentSettings, session: SessionSettings): number | undefined =>
  inForce(settings.seedRatioMode, settings.seedRatioLimit, session.seedRatioLimited, session.seedRatioLimit)

/** The seed idle limit in force, in minutes, if any. */
export const idleLimit = (settings: TorrentSettings, session: SessionSettings): number | undefined =>
  inForce(settings.seedIdleMode, settings.seedIdleLimit, session.idleSeedingLimitEnabled, session.idleSeedingLimit)

/** A download without payload this long gets a reason shown, well before it counts as stalled for the queue. */
const QUIET_MS = 60_000

const perSecond = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB/s` : `${Math.round(bytes / 1024)} KiB/s`

/** What the trackers say when every one of them failed its last announce, if so. */
const trackerTrouble = (entry: Entry): string | undefined => {
  const trackers = trackerStatuses(entry)
  if (trackers.length === 0 || trackers.some((tracker) => tracker.state !== "error")) return undefined
  return `every tracker fails (${trackers[0]!.error})`
}

/**
 * What holds an active torrent back, in plain words: why a download does not move (after a minute without payload,
 * or once stalled), or that a rate limit holds it; "" when nothing does or it is not active.
 */
const stalledReason = (entry: Entry, status: TorrentStatus, stalled: boolean, now: number): string => {
  const run = entry.run
  if (run === undefined || status === "checking") return ""
  const progress = run.progress
  if (status === "downloading") {
    const limit = entry.limits.down.rate
    const rate = progress?.downloadRate ?? 0
    if (rate > 0 && rate >= 0.8 * limit) return `held to the download limit of ${perSecond(limit)}`
    if (rate > 0) return ""
    if (!stalled && now - Math.max(run.startedAt, entry.record.activityDate) < QUIET_MS) return ""
    if (entry.info === undefined) return "fetching the metadata: no peer has sent it yet"
    if (progress === undefined || progress.peers === 0) {
      return `no peers: ${trackerTrouble(entry) ?? "none found by trackers, the DHT or PEX yet"}`
    }
    return `connected to ${progress.peers} peers, but none is sending (they choke us or lack the pieces we need)`
  }
  if (status === "seeding") {
    const limit = entry.limits.up.rate
    const rate = progress?.uploadRate ?? 0
    if (rate > 0 && rate >= 0.8 * limit) return `held to the upload limit of ${perSecond(limit)}`
    return stalled ? "no peer is downloading from us" : ""
  }
  return ""
}

/** Seconds without payload after which an active torrent counts as stalled. */
export const stalledAfter = (session: SessionSettings): number =>
  session.queueStalledEnabled ? session.queueStalledMinutes * 60 : Number.POSITIVE_INFINITY

export const isStalled = (entry: Entry, now: number, session: SessionSettings): boolean => {
  const run = entry.run
  if (run === undefined || statusOf(entry) === "checking") return false
  const since = Math.max(run.startedAt, entry.record.activityDate)
  return now - since > stalledAfter(session) * 1000
}

const filePath = (info: TorrentInfo, path: ReadonlyArray<string>): string =>
  [...(info.layout === "multi" ? [info.name] : []), ...path].join("/")

/** Bytes of each file in verified pieces, from the bitfield. */
const fileStats = (entry: Entry): ReadonlyArray<FileSnapshot> => {
  const info = entry.info
  if (info === undefined) return []
  const pieces = entry.pieces
  return info.files.flatMap((file, index): Array<FileSnapshot> => {
    if (file.padding) return []
    let completed = 0
    if (pieces !== undefined && file.length > 0) {
      const first = Math.floor(file.offset / info.pieceLength)
      const last = Math.floor((file.offset + file.length - 1) / info.pieceLength)
      for (let piece = first; piece <= last; piece++) {
        if (!pieces.has(piece)) continue
        const start = Math.max(file.offset, piece * info.pieceLength)
        const end = Math.min(file.offset + file.length, (piece + 1) * info.pieceLength)
        completed += end - start
      }
    }
    return [{
      index,
      name: filePath(info, file.path),
      length: file.length,
      bytesCompleted: completed,
      wanted: entry.record.settings.wanted[index] ?? true,
      priority: entry.record.settings.priorities[index] ?? 0
    }]
  })
}

const peerSnapshots = (entry: Entry): ReadonlyArray<PeerSnapshot> =>
  (entry.run?.progress?.peerList ?? []).map((peer) => {
    const at = peer.address.lastIndexOf(":")
    const downloading = peer.downloadRate > 0
    const uploading = peer.uploadRate > 0
    return {
      address: peer.address.slice(0, at).replace(/^\[|\]$/g, ""),
      port: Number(peer.address.slice(at + 1)),
      clientName: peer.client ?? "",
      direction: peer.direction,
      encrypted: peer.encrypted,
      transport: peer.transport,
      progress: 0,
      rateToClient: peer.downloadRate,
      rateToPeer: peer.uploadRate,
      downloadingFrom: downloading,
      uploadingTo: uploading,
      flagStr: [
        downloading ? "D" : "",
        uploading ? "U" : "",
        peer.encrypted ? "E" : "",
        peer.transport === "utp" ? "T" : "",
        peer.direction === "incoming" ? "I" : ""
      ].join("")
    }
  })

const trackerSnapshots = (entry: Entry): ReadonlyArray<TrackerSnapshot> => {
  const byUrl = new Map(trackerStatuses(entry).map((status) => [status.url, status]))
  return (entry.info === undefined ? entry.record.trackers : trackerTiers(entry.info)).flatMap((tier, tierIndex) =>
    tier.map((announce) => ({ announce, tier: tierIndex }))
  ).map(({ announce, tier }, id) => {
    const status = byUrl.get(announce)
    const announced = status?.lastAnnounce !== undefined
    return {
      id,
      announce,
      tier,
      lastAnnounceTime: status?.lastAnnounce ?? 0,
      lastAnnounceSucceeded: announced && status.error === undefined,
      lastAnnounceResult: !announced ? "" : status.error ?? status.warning ?? "Success",
      lastAnnouncePeerCount: status?.error === undefined ? status?.peers ?? 0 : 0,
      nextAnnounceTime: entry.run === undefined ? 0 : status?.nextAnnounce ?? 0,
      seederCount: status?.seeders ?? -1,
      leecherCount: status?.leechers ?? -1
    }
  })
}

/** Bytes in verified pieces (the last piece may be short). */
export const haveBytes = (entry: Entry): number => {
  const { info, pieces } = entry
  if (info === undefined || pieces === undefined) return 0
  const lastShortBy = info.pieceCount * info.pieceLength - info.totalLength
  return pieces.count * info.pieceLength - (pieces.has(info.pieceCount - 1) ? lastShortBy : 0)
}

/**
 * The bytes of the pieces a wanted file touches, and how many of them are verified: what `sizeWhenDone` and
 * `percentDone` count (as Transmission does, by whole pieces). Every file wanted: the whole torrent.
 */
export const wantedBytes = (entry: Entry): { readonly size: number; readonly have: number } => {
  const { info, pieces } = entry
  const wanted = entry.record.settings.wanted
  if (info === undefined || wanted.every((w) => w)) return { size: info?.totalLength ?? 0, have: haveBytes(entry) }
  const marked = new Uint8Array(info.pieceCount)
  info.files.forEach((file, index) => {
    if (file.padding || file.length === 0 || !(wanted[index] ?? true)) return
    const last = Math.floor((file.offset + file.length - 1) / info.pieceLength)
    for (let piece = Math.floor(file.offset / info.pieceLength); piece <= last; piece++) marked[piece] = 1
  })
  let size = 0
  let have = 0
  for (let piece = 0; piece < info.pieceCount; piece++) {
    if (marked[piece] === 0) continue
    const length = Math.min(info.pieceLength, info.totalLength - piece * info.pieceLength)
    size += length
    if (pieces?.has(piece) === true) have += length
  }
  return { size, have }
}

/** A snapshot of one torrent: plain reads of the entry and its last sampled progress. */
export const snapshot = (
  entry: Entry,
  queuePosition: number,
  now: number,
  session: SessionSettings,
  detail: SnapshotDetail
): TorrentSnapshot => {
  const { record, info } = entry
  const progress = entry.run?.progress
  const status = statusOf(entry)
  const total = info?.totalLength ?? 0
  const have = haveBytes(entry)
  const { corruptEver, downloadedEver, secondsDownloading, secondsSeeding, uploadedEver } = totals(entry)
  const rateDownload = progress?.downloadRate ?? 0
  const rateUpload = progress?.uploadRate ?? 0
  const wanted = wantedBytes(entry)
  const left = wanted.size - wanted.have
  const stalled = status !== "checking" && entry.run !== undefined && isStalled(entry, now, session)
  const metadataProgress = entry.run?.magnet?.metadataProgress()
  return {
    id: record.id,
    hashString: record.hash,
    name: info?.name ?? record.name,
    status,
    error: entry.error?.kind ?? 0,
    errorString: entry.error?.message ?? "",
    stalledReason: stalledReason(entry, status, stalled, now),
    isStalled: stalled,
    isFinished: record.finished,
    isPrivate: info?.private ?? false,
    totalSize: total,
    sizeWhenDone: wanted.size,
    leftUntilDone: left,
    haveValid: have,
    haveUnchecked: 0,
    percentDone: info === undefined ? 0 : wanted.size === 0 ? 1 : wanted.have / wanted.size,
    recheckProgress: status === "checking" && info !== undefined && info.pieceCount > 0
      ? (progress?.checkedPieces ?? 0) / info.pieceCount
      : 0,
    metadataPercentComplete: info !== undefined
      ? 1
      : metadataProgress === undefined || metadataProgress.pieceCount === 0
      ? 0
      : metadataProgress.piecesReceived / metadataProgress.pieceCount,
    downloadedEver,
    uploadedEver,
    corruptEver,
    uploadRatio: downloadedEver > 0 ? uploadedEver / downloadedEver : total > 0 && have === total ? uploadedEver / total : 0,
    rateDownload,
    rateUpload,
    eta: status !== "downloading" ? -1 : rateDownload > 0 ? Math.round(left / rateDownload) : -2,
    peersConnected: progress?.peers ?? 0,
    diskQueueBytes: entry.run === undefined ? 0 : progress?.diskQueueBytes ?? 0,
    peersSendingToUs: progress?.peerList.filter((peer) => peer.downloadRate > 0).length ?? 0,
    peersGettingFromUs: progress?.peerList.filter((peer) => peer.uploadRate > 0).length ?? 0,
    peersKnown: progress?.peers ?? 0,
    webseeds: progress?.webSeeds?.map((seed) => seed.url) ?? info?.urlList ?? [],
    webseedsSendingToUs: progress?.webSeeds?.filter((seed) => seed.downloadRate > 0).length ?? 0,
    downloadDir: record.downloadDir,
    addedDate: record.addedDate,
    doneDate: record.doneDate,
    activityDate: record.activityDate,
    startDate: entry.run?.startedAt ?? 0,
    secondsDownloading: Math.floor(secondsDownloading),
    secondsSeeding: Math.floor(secondsSeeding),
    queuePosition,
    magnetLink: record.magnet,
    pieceCount: info?.pieceCount ?? 0,
    pieceSize: info?.pieceLength ?? 0,
    settings: record.settings,
    files: detail.files === true ? fileStats(entry) : [],
    peers: detail.peers === true ? peerSnapshots(entry) : [],
    trackers: detail.trackers === true ? trackerSnapshots(entry) : [],
    ...(detail.pieces === true && entry.pieces !== undefined ? { pieces: entry.pieces.toBytes() } : {})
  }
}
