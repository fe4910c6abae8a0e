/**
 * `torrent-get`'s fields (snake_case names) computed from a Client snapshot, and which snapshot details each needs.
 * Transmission's units: dates in seconds since the epoch, speed limits in kB/s (1000 bytes), rates in B/s.
 */
import * as Encoding from "effect/Encoding"
import { streamPath } from "../stream/http.js"
import {
  limitModeCode,
  type SnapshotDetail,
  statusCode,
  type TorrentSnapshot
} from "../client/Client.js"

/** Bytes per "kB" in speed limits (Transmission's `units.speed-bytes`). */
export const SPEED_UNIT = 1000

const seconds = (ms: number): number => Math.floor(ms / 1000)

/** Each file's first and last piece, from the files' lengths in order. */
const pieceSpans = (t: TorrentSnapshot): Array<{ begin: number; end: number }> => {
  let offset = 0
  return t.files.map((file) => {
    const begin = t.pieceSize > 0 ? Math.floor(offset / t.pieceSize) : 0
    offset += file.length
    const end = t.pieceSize > 0 ? Math.ceil(offset / t.pieceSize) : 0
    return { begin, end }
  })
}

const sitename = (announce: string): string => {
  const host = /^[a-z]+:\/\/([^/:]+)/i.exec(announce)?.[1] ?? ""
  const parts = host.split(".")
  return parts.length >= 2 ? parts[parts.length - 2]! : host
}

type Field = (t: TorrentSnapshot) => unknown

/** Every field bt answers; a field asked for and not here is left out of the reply, as Transmission does. */
export const torrentFields: Readonly<Record<string, Field>> = {
  id: (t) => t.id,
  hash_string: (t) => t.hashString,
  name: (t) => t.name,
  status: (t) => statusCode[t.status],
  error: (t) => t.error,
  // The stalled reason rides in error_string when nothing went wrong: UIs show that text beside the torrent.
  error_string: (t) => (t.errorString !== "" ? t.errorString : t.stalledReason),
  is_stalled: (t) => t.isStalled,
  is_finished: (t) => t.isFinished,
  is_private: (t) => t.isPrivate,
  total_size: (t) => t.totalSize,
  size_when_done: (t) => t.sizeWhenDone,
  left_until_done: (t) => t.leftUntilDone,
  desired_available: (t) => t.leftUntilDone,
  have_valid: (t) => t.haveValid,
  have_unchecked: (t) => t.haveUnchecked,
  percent_done: (t) => t.percentDone,
  percent_complete: (t) => (t.totalSize > 0 ? t.haveValid / t.totalSize : 0),
  recheck_progress: (t) => t.recheckProgress,
  metadata_percent_complete: (t) => t.metadataPercentComplete,
  downloaded_ever: (t) => t.downloadedEver,
  uploaded_ever: (t) => t.uploadedEver,
  corrupt_ever: (t) => t.corruptEver,
  upload_ratio: (t) => t.uploadRatio,
  rate_download: (t) => t.rateDownload,
  rate_upload: (t) => t.rateUpload,
  eta: (t) => t.eta,
  eta_idle: () => -1,
  peers_connected: (t) => t.peersConnected,
  peers_sending_to_us: (t) => t.peersSendingToUs,
  peers_getting_from_us: (t) => t.peersGettingFromUs,
  webseeds_sending_to_us: (t) => t.webseedsSendingToUs,
  webseeds: (t) => t.webseeds,
  download_dir: (t) => t.downloadDir,
  added_date: (t) => seconds(t.addedDate),
  done_date: (t) => seconds(t.doneDate),
  activity_date: (t) => seconds(t.activityDate),
  start_date: (t) => seconds(t.startDate),
  date_created: () => 0,
  edit_date: () => 0,
  manual_announce_time: () => -1,
  queue_position: (t) => t.queuePosition,
  magnet_link: (t) => t.magnetLink,
  piece_count: (t) => t.pieceCount,
  piece_size: (t) => t.pieceSize,
  comment: () => "",
  creator: () => "",
  torrent_file: () => "",
  bandwidth_priority: () => 0,
  sequential_download: () => false,
  group: () => "",
  labels: (t) => t.settings.labels,
  download_limit: (t) => Math.round(t.settings.downloadLimit / SPEED_UNIT),
  download_limited: (t) => t.settings.downloadLimited,
  upload_limit: (t) => Math.round(t.settings.uploadLimit / SPEED_UNIT),
  upload_limited: (t) => t.settings.uploadLimited,
  honors_session_limits: (t) => t.settings.honorsSessionLimits,
  seed_ratio_limit: (t) => t.settings.seedRatioLimit,
  seed_ratio_mode: (t) => limitModeCode[t.settings.seedRatioMode],
  seed_idle_limit: (t) => t.settings.seedIdleLimit,
  seed_idle_mode: (t) => limitModeCode[t.settings.seedIdleMode],
  peer_limit: (t) => t.settings.peerLimit,
  max_connected_peers: (t) => t.settings.peerLimit,
  // Per listed file (padding files are not listed), in the order of `files`.
  file_count: (t) => t.files.length,
  priorities: (t) => t.files.map((f) => f.priority),
  wanted: (t) => t.files.map((f) => (f.wanted ? 1 : 0)),
  files: (t) => {
    const spans = pieceSpans(t)
    return t.files.map((f, i) => ({
      name: f.name,
      length: f.length,
      bytes_completed: f.bytesCompleted,
      begin_piece: spans[i]!.begin,
      end_piece: spans[i]!.end,
      // bt's own: where the daemon serves the file over HTTP (GET with Range), behind the RPC's auth.
      stream_url: streamPath(t.hashString, f.index)
    }))
  },
  file_stats: (t) => t.files.map((f) => ({ bytes_completed: f.bytesCompleted, wanted: f.wanted, priority: f.priority })),
  peers: (t) =>
    t.peers.map((p) => ({
      address: p.address,
      port: p.port,
      client_name: p.clientName,
      // The snapshot says whether blocks can flow each way; Transmission's four flags are read from that:
      // "client is choked" means the peer chokes us, "peer is choked" that we choke it.
      client_is_choked: !p.downloadingFrom,
      client_is_interested: p.downloadingFrom,
      peer_is_choked: !p.uploadingTo,
      peer_is_interested: p.uploadingTo,
      flag_str: p.flagStr,
      is_downloading_from: p.downloadingFrom,
      is_uploading_to: p.uploadingTo,
      is_encrypted: p.encrypted,
      is_incoming: p.direction === "incoming",
      is_utp: p.transport === "utp",
      progress: p.progress,
      rate_to_client: p.rateToClient,
      rate_to_peer: p.rateToPeer
    })),
  peers_from: (t) => ({
    from_cache: 0,
    from_dht: 0,
    from_incoming: t.peers.filter((p) => p.direction === "incoming").length,
    from_lpd: 0,
    from_ltep: 0,
    from_pex: 0,
    from_tracker: t.peers.filter((p) => p.direction === "outgoing").length
  }),
  trackers: (t) =>
    t.trackers.map((tr) => ({
      id: tr.id,
      announce: tr.announce,
      scrape: "",
      sitename: sitename(tr.announce),
      tier: tr.tier
    })),
  tracker_list: (t) => {
    const tiers: Array<Array<string>> = []
    for (const tr of t.trackers) (tiers[tr.tier] ??= []).push(tr.announce)
    return tiers.filter((tier) => tier !== undefined).map((tier) => tier.join("\n")).join("\n\n")
  },
  tracker_stats: (t) =>
    t.trackers.map((tr) => ({
      id: tr.id,
      announce: tr.announce,
      scrape: "",
      host: /^[a-z]+:\/\/[^/]+/i.exec(tr.announce)?.[0] ?? tr.announce,
      sitename: sitename(tr.announce),
      tier: tr.tier,
      is_backup: false,
      announce_state: 0,
      scrape_state: 0,
      has_announced: tr.lastAnnounceTime > 0,
      has_scraped: false,
      last_announce_time: seconds(tr.lastAnnounceTime),
      last_announce_start_time: seconds(tr.lastAnnounceTime),
      last_announce_succeeded: tr.lastAnnounceSucceeded,
      last_announce_result: tr.lastAnnounceResult,
      last_announce_peer_count: tr.lastAnnouncePeerCount,
      last_announce_timed_out: false,
      next_announce_time: seconds(tr.nextAnnounceTime),
      last_scrape_time: 0,
      last_scrape_start_time: 0,
      last_scrape_succeeded: false,
      last_scrape_result: "",
      last_scrape_timed_out: false,
      next_scrape_time: 0,
      seeder_count: tr.seederCount,
      leecher_count: tr.leecherCount,
      download_count: -1
    })),
  pieces: (t) => (t.pieces === undefined ? "" : Encoding.encodeBase64(t.pieces))
}

const needs: ReadonlyArray<readonly [keyof SnapshotDetail, ReadonlyArray<string>]> = [
  ["files", ["files", "file_stats", "file_count", "priorities", "wanted"]],
  ["peers", ["peers", "peers_from"]],
  ["trackers", ["trackers", "tracker_stats", "tracker_list"]],
  ["pieces", ["pieces"]]
]

/** The snapshot details the fields asked for need. */
export const detailFor = (fields: ReadonlyArray<string>): SnapshotDetail => {
  const detail: { -readonly [K in keyof SnapshotDetail]: boolean } = {}
  for (const [key, names] of needs) if (names.some((name) => fields.includes(name))) detail[key] = true
  return detail
}

/** The known fields among those asked for, each once, in the order asked. */
export const knownFields = (fields: ReadonlyArray<string>): Array<string> =>
  [...new Set(fields)].filter((field) => Object.hasOwn(torrentFields, field))

/** One torrent as an object of the fields given (all known). */
export const torrentObject = (t: TorrentSnapshot, fields: ReadonlyArray<string>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const field of fields) out[field] = torrentFields[field]!(t)
  return out
}

/** One torrent as a row of the fields given (`format: table`). */
export const torrentRow = (t: TorrentSnapshot, fields: ReadonlyArray<string>): Array<unknown> =>
  fields.map((field) => torrentFields[field]!(t))
