/**
 * Schemas of the methods' arguments, in snake_case as every request is normalised to (see names.ts), decoding to
 * the Client's shapes: speed limits from kB/s to bytes per second, limit modes from Transmission's numbers.
 * Keys a method does not know are ignored, as Transmission does.
 */
import * as Schema from "effect/Schema"
import type { LimitMode, Selector } from "../client/Client.js"
import { SPEED_UNIT } from "./torrentFields.js"

/** `ids`: a number, a hash, `recently-active`, or a list of numbers and hashes; absent: all torrents. */
const Id = Schema.Union(Schema.Int.pipe(Schema.nonNegative()), Schema.String)
export const Ids = Schema.Union(Id, Schema.Array(Id))

/** The Client's selector for an `ids` argument. */
export const selectorOf = (ids: typeof Ids.Type | undefined): Selector => {
  if (ids === undefined) return "all"
  if (ids === "recently-active" || ids === "recently_active") return "recently-active"
  return Array.isArray(ids) ? ids : [ids as number | string]
}

/** An optional argument under its snake_case name (absent stays absent: never `undefined`). */
const opt = <A, I>(schema: Schema.Schema<A, I>, key: string) =>
  Schema.optionalWith(schema, { exact: true }).pipe(Schema.fromKey(key))

const exact = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

const Count = Schema.Int.pipe(Schema.nonNegative())
const Indexes = Schema.Array(Count)

/** A speed limit: kB/s on the wire, bytes per second in the Client. */
export const Speed = Schema.transform(Schema.NonNegative, Schema.NonNegative, {
  strict: true,
  decode: (kB) => kB * SPEED_UNIT,
  encode: (bytes) => bytes / SPEED_UNIT
})

const modes: ReadonlyArray<LimitMode> = ["global", "single", "unlimited"]
export const Mode = Schema.transform(Schema.Literal(0, 1, 2), Schema.Literal(...modes), {
  strict: true,
  decode: (code) => modes[code]!,
  encode: (mode) => modes.indexOf(mode) as 0 | 1 | 2
})

const fileChoices = {
  filesWanted: opt(Indexes, "files_wanted"),
  filesUnwanted: opt(Indexes, "files_unwanted"),
  priorityHigh: opt(Indexes, "priority_high"),
  priorityNormal: opt(Indexes, "priority_normal"),
  priorityLow: opt(Indexes, "priority_low")
}

export const TorrentAddArgs = Schema.Struct({
  filename: Schema.optional(Schema.String),
  metainfo: Schema.optional(Schema.String),
  paused: exact(Schema.Boolean),
  downloadDir: opt(Schema.String, "download_dir"),
  labels: exact(Schema.Array(Schema.String)),
  peerLimit: opt(Count, "peer_limit"),
  ...fileChoices
})

export const TorrentSetArgs = Schema.Struct({
  ids: Schema.optional(Ids),
  downloadLimit: opt(Speed, "download_limit"),
  downloadLimited: opt(Schema.Boolean, "download_limited"),
  uploadLimit: opt(Speed, "upload_limit"),
  uploadLimited: opt(Schema.Boolean, "upload_limited"),
  honorsSessionLimits: opt(Schema.Boolean, "honors_session_limits"),
  seedRatioMode: opt(Mode, "seed_ratio_mode"),
  seedRatioLimit: opt(Schema.NonNegative, "seed_ratio_limit"),
  seedIdleMode: opt(Mode, "seed_idle_mode"),
  seedIdleLimit: opt(Count, "seed_idle_limit"),
  peerLimit: opt(Count, "peer_limit"),
  labels: exact(Schema.Array(Schema.String)),
  trackerAdd: opt(Schema.Array(Schema.String), "tracker_add"),
  trackerRemove: opt(Schema.Array(Count), "tracker_remove"),
  queuePosition: opt(Count, "queue_position"),
  location: Schema.optional(Schema.String),
  ...fileChoices
})

export const TorrentGetArgs = Schema.Struct({
  ids: Schema.optional(Ids),
  fields: Schema.Array(Schema.String),
  format: Schema.optional(Schema.Literal("objects", "table"))
})

export const IdsArgs = Schema.Struct({ ids: Schema.optional(Ids) })

export const TorrentRemoveArgs = Schema.Struct({
  ids: Schema.optional(Ids),
  deleteLocalData: opt(Schema.Boolean, "delete_local_data")
})

export const TorrentSetLocationArgs = Schema.Struct({
  ids: Schema.optional(Ids),
  location: Schema.String,
  move: Schema.optional(Schema.Boolean)
})

/** `torrent-rename-path`: one torrent, the path as its `files` list shows it, and the new last component. */
export const TorrentRenamePathArgs = Schema.Struct({
  ids: Ids,
  path: Schema.String,
  name: Schema.String
})

export const SessionGetArgs = Schema.Struct({ fields: Schema.optional(Schema.Array(Schema.String)) })

export const FreeSpaceArgs = Schema.Struct({ path: Schema.String })

/** `session-set`: the settings the Client can change (read-only and unknown keys are ignored). */
export const SessionSetArgs = Schema.Struct({
  downloadDir: opt(Schema.String, "download_dir"),
  startAddedTorrents: opt(Schema.Boolean, "start_added_torrents"),
  downloadQueueEnabled: opt(Schema.Boolean, "download_queue_enabled"),
  downloadQueueSize: opt(Count, "download_queue_size"),
  seedQueueEnabled: opt(Schema.Boolean, "seed_queue_enabled"),
  seedQueueSize: opt(Count, "seed_queue_size"),
  queueStalledEnabled: opt(Schema.Boolean, "queue_stalled_enabled"),
  queueStalledMinutes: opt(Count, "queue_stalled_minutes"),
  speedLimitDown: opt(Speed, "speed_limit_down"),
  speedLimitDownEnabled: opt(Schema.Boolean, "speed_limit_down_enabled"),
  speedLimitUp: opt(Speed, "speed_limit_up"),
  speedLimitUpEnabled: opt(Schema.Boolean, "speed_limit_up_enabled"),
  altSpeedDown: opt(Speed, "alt_speed_down"),
  altSpeedUp: opt(Speed, "alt_speed_up"),
  altSpeedEnabled: opt(Schema.Boolean, "alt_speed_enabled"),
  seedRatioLimit: opt(Schema.NonNegative, "seed_ratio_limit"),
  seedRatioLimited: opt(Schema.Boolean, "seed_ratio_limited"),
  idleSeedingLimit: opt(Count, "idle_seeding_limit"),
  idleSeedingLimitEnabled: opt(Schema.Boolean, "idle_seeding_limit_enabled"),
  peerLimitGlobal: opt(Count, "peer_limit_global"),
  peerLimitPerTorrent: opt(Count, "peer_limit_per_torrent"),
  peerPort: opt(Schema.Int.pipe(Schema.between(0, 65535)), "peer_port"),
  encryption: exact(Schema.Literal("required", "preferred", "tolerated")),
  dhtEnabled: opt(Schema.Boolean, "dht_enabled"),
  pexEnabled: opt(Schema.Boolean, "pex_enabled")
})
