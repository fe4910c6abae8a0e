import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { TorrentHandle } from "../session/Torrent.js"

/**
 * The Client: many torrents in one long-lived process, sharing one listen port, one DHT node and one UDP socket.
 * Torrents have a numeric id, stable across restarts (never reused in a state folder), and an info-hash; every method
 * that takes torrents accepts either.
 *
 * Units: bytes, bytes per second, milliseconds since the Unix epoch for dates, seconds for durations, unless a
 * field says otherwise. The shapes follow Transmission's RPC (`docs/rpc-spec.md`) so that `torrent-get`,
 * `torrent-set`, `session-get`, `session-set` and `session-stats` are answered by renaming fields.
 *
 * Layers (in `./index.ts`): `layer(config)` needs a Session, a ResumeStore and a FileSystem (an HttpClient too, to
 * add by URL); `nodeClientLayer` in `src/cli/clientLayer.ts` is the Node composition; `layerTest()` is the real
 * Client over memory (no sockets, no disk; trackers that know no peers), for testing code built on it: provide it
 * to a test and drive `Client` as the RPC would (`it.scoped`; schedules run on the TestClock, so use `it.scopedLive`
 * where a test waits for torrents to move).
 */

/** A torrent's stable id. */
export type TorrentId = number

/** A torrent by id, or by info-hash (40 hex digits, any case). */
export type TorrentRef = TorrentId | string

/**
 * Which torrents a method acts on: all of them, those changed in the last minute, or those named (ids and hashes
 * that name no torrent are skipped, as Transmission does; `get` alone fails with NotFound).
 */
export type Selector = "all" | "recently-active" | ReadonlyArray<TorrentRef>

/** Transmission's seven states, numbered 0 to 6 there in this order. */
export type TorrentStatus =
  | "stopped"
  | "check-wait"
  | "checking"
  | "download-wait"
  | "downloading"
  | "seed-wait"
  | "seeding"

/** Transmission's numbering of `TorrentStatus`. */
export const statusCode: Readonly<Record<TorrentStatus, number>> = {
  stopped: 0,
  "check-wait": 1,
  checking: 2,
  "download-wait": 3,
  downloading: 4,
  "seed-wait": 5,
  seeding: 6
}

/** A file's priority: low, normal, high (Transmission's -1, 0, 1). */
export type Priority = -1 | 0 | 1

/**
 * A torrent's error, as Transmission numbers it: 0 none; 1 a tracker warning, 2 a tracker error (the torrent goes
 * on); 3 a local error (the disk failed us; the torrent is stopped).
 */
export type ErrorKind = 0 | 1 | 2 | 3

/** Which seed ratio or idle limit applies: the session's, the torrent's own, or none. */
export type LimitMode = "global" | "single" | "unlimited"

/** Transmission's numbering of `LimitMode` (`seedRatioMode`, `seedIdleMode`). */
export const limitModeCode: Readonly<Record<LimitMode, number>> = { global: 0, single: 1, unlimited: 2 }

export interface FileSnapshot {
  /** Its index in the torrent's file list (BEP 53's numbering; padding files are counted, never listed). */
  readonly index: number
  /** Its path, `/`-separated, starting with the torrent's name for a multi-file torrent (as Transmission's). */
  readonly name: string
  readonly length: number
  /** Bytes of it in verified pieces. */
  readonly bytesCompleted: number
  readonly wanted: boolean
  readonly priority: Priority
}

export interface PeerSnapshot {
  readonly address: string
  readonly port: number
  readonly clientName: string
  readonly direction: "outgoing" | "incoming"
  readonly encrypted: boolean
  readonly transport: "tcp" | "utp" | undefined
  /** Share of the torrent the peer has, 0..1. */
  readonly progress: number
  readonly rateToClient: number
  readonly rateToPeer: number
  /** Whether blocks flow, or could: they unchoked us and we are interested; we unchoked them and they are. */
  readonly downloadingFrom: boolean
  readonly uploadingTo: boolean
  /** Transmission's flag string (`E` encrypted, `I` incoming, `T` uTP, `D`/`U` transferring...). */
  readonly flagStr: string
}

export interface TrackerSnapshot {
  /** Stable within the torrent: the tracker's position in its tier list. */
  readonly id: number
  readonly announce: string
  readonly tier: number
  /** What the last announce did, and when (0: never). */
  readonly lastAnnounceTime: number
  readonly lastAnnounceSucceeded: boolean
  readonly lastAnnounceResult: string
  readonly lastAnnouncePeerCount: number
  readonly nextAnnounceTime: number
  /** Seeders and leechers the tracker reported; -1 when unknown. */
  readonly seederCount: number
  readonly leecherCount: number
}

/**
 * A torrent's own settings: what `torrent-set` changes and `torrent-get` reports. A limit is a value and a switch,
 * as in Transmission, so that switching a limit off keeps its value.
 */
export interface TorrentSettings {
  readonly downloadLimit: number
  readonly downloadLimited: boolean
  readonly uploadLimit: number
  readonly uploadLimited: boolean
  /** Whether the session's speed limits apply to it too. */
  readonly honorsSessionLimits: boolean
  readonly seedRatioMode: LimitMode
  readonly seedRatioLimit: number
  readonly seedIdleMode: LimitMode
  /** Minutes without upload after which a seed stops. */
  readonly seedIdleLimit: number
  /** Peer connections for this torrent. */
  readonly peerLimit: number
  readonly labels: ReadonlyArray<string>
  /** Per file (by index): downloaded or not, and its priority. */
  readonly wanted: ReadonlyArray<boolean>
  readonly priorities: ReadonlyArray<Priority>
}

/**
 * File indexes to want / not want, and to set to each priority (an empty list: every file, as Transmission's
 * `files-wanted`, `files-unwanted`, `priority-high/normal/low`).
 */
export interface FileChoices {
  readonly filesWanted?: ReadonlyArray<number>
  readonly filesUnwanted?: ReadonlyArray<number>
  readonly priorityHigh?: ReadonlyArray<number>
  readonly priorityNormal?: ReadonlyArray<number>
  readonly priorityLow?: ReadonlyArray<number>
}

/**
 * A change to a torrent's settings: only the fields given change. File choices number the files as `add`'s do (as
 * `FileSnapshot`s list them, padding files left out); a magnet's before its metadata wait for it, the later winning.
 */
export interface TorrentSettingsPatch extends Partial<Omit<TorrentSettings, "wanted" | "priorities">>, FileChoices {
  /** Trackers to add (each its own new tier) and to remove (by `TrackerSnapshot.id`). */
  readonly trackerAdd?: ReadonlyArray<string>
  readonly trackerRemove?: ReadonlyArray<number>
  /** Moves it in the queue, to this position (0 is the front). */
  readonly queuePosition?: number
}

/** What `torrent-get` needs of one torrent, taken at one instant. */
export interface TorrentSnapshot {
  readonly id: TorrentId
  /** 40 lowercase hex digits. */
  readonly hashString: string
  /** Its name; a magnet link's `dn` (or the info-hash) until the metadata arrives. */
  readonly name: string
  readonly status: TorrentStatus
  readonly error: ErrorKind
  /** What went wrong, in plain words; "" when nothing did. */
  readonly errorString: string
  /**
   * What holds it back, in plain words, while active: why a download does not move (no peers from any source, every
   * tracker failing, peers choking us; after a minute without payload), or the rate limit it is held to; "" when
   * nothing does.
   */
  readonly stalledReason: string
  readonly isStalled: boolean
  /** Done with what was wanted, and stopped by its seed limits (Transmission's `isFinished`). */
  readonly isFinished: boolean
  readonly isPrivate: boolean
  /** Both 0 until the metadata arrives. */
  readonly totalSize: number
  /** Bytes of wanted files. */
  readonly sizeWhenDone: number
  /** Bytes of wanted files not yet verified. */
  readonly leftUntilDone: number
  /** Bytes verified on disk. */
  readonly haveValid: number
  /** Bytes received for pieces not yet verified. */
  readonly haveUnchecked: number
  /** Share of wanted bytes verified, 0..1. */
  readonly percentDone: number
  /** While checking: share of pieces checked, 0..1. */
  readonly recheckProgress: number
  /** Share of the metadata fetched (magnet links), 0..1; 1 once known. */
  readonly metadataPercentComplete: number
  /** Payload bytes over the torrent's whole life (kept across restarts), and thrown away (failed pieces). */
  readonly downloadedEver: number
  readonly uploadedEver: number
  readonly corruptEver: number
  readonly uploadRatio: number
  readonly rateDownload: number
  readonly rateUpload: number
  /** Seconds until done at the current rate: -1 not available, -2 unknown (Transmission's values). */
  readonly eta: number
  readonly peersConnected: number
  /** Bytes of complete pieces waiting to be hashed and written to disk. */
  readonly diskQueueBytes: number
  readonly peersSendingToUs: number
  readonly peersGettingFromUs: number
  /** Web seed URLs (BEP 19) in use, or the torrent's own while it is not running; how many sent data lately. */
  readonly webseeds: ReadonlyArray<string>
  readonly webseedsSendingToUs: number
  /** Peers known from every source, connected or not. */
  readonly peersKnown: number
  readonly downloadDir: string
  readonly addedDate: number
  /** When it completed (0: not yet). */
  readonly doneDate: number
  /** When a payload byte last moved (0: never). */
  readonly activityDate: number
  /** When it last started (0: never in this run). */
  readonly startDate: number
  /** Seconds spent downloading and seeding over its life (kept across restarts). */
  readonly secondsDownloading: number
  readonly secondsSeeding: number
  /** Its place in the queue, 0 first; every torrent has one. */
  readonly queuePosition: number
  readonly magnetLink: string
  readonly pieceCount: number
  readonly pieceSize: number
  readonly settings: TorrentSettings
  /** Only with `SnapshotDetail.files` (else empty): per file. */
  readonly files: ReadonlyArray<FileSnapshot>
  /** Only with `SnapshotDetail.peers` (else empty). */
  readonly peers: ReadonlyArray<PeerSnapshot>
  /** Only with `SnapshotDetail.trackers` (else empty). */
  readonly trackers: ReadonlyArray<TrackerSnapshot>
  /** Only with `SnapshotDetail.pieces`: verified pieces, BEP 3 bitfield layout. */
  readonly pieces?: Uint8Array
}

/**
 * The parts of a snapshot that cost per file, per peer or per piece: asked for only when needed, so that listing a
 * thousand torrents stays cheap.
 */
export interface SnapshotDetail {
  readonly files?: boolean
  readonly peers?: boolean
  readonly trackers?: boolean
  readonly pieces?: boolean
}

/** `list`'s answer: the torrents, and for `recently-active` the ids removed in the last minute. */
export interface TorrentList {
  readonly torrents: ReadonlyArray<TorrentSnapshot>
  readonly removed: ReadonlyArray<TorrentId>
}

/** Where a torrent comes from. `fromFilename` tells a path, a URL and a magnet link apart, as `torrent-add` does. */
export type AddSource =
  | { readonly _tag: "Metainfo"; readonly bytes: Uint8Array }
  | { readonly _tag: "Path"; readonly path: string }
  | { readonly _tag: "Magnet"; readonly uri: string }
  | { readonly _tag: "Url"; readonly url: string }

export const AddSource = {
  metainfo: (bytes: Uint8Array): AddSource => ({ _tag: "Metainfo", bytes }),
  path: (path: string): AddSource => ({ _tag: "Path", path }),
  magnet: (uri: string): AddSource => ({ _tag: "Magnet", uri }),
  url: (url: string): AddSource => ({ _tag: "Url", url }),
  /** A `filename` as `torrent-add` takes it: a magnet link, an http(s) URL, or a path. */
  fromFilename: (filename: string): AddSource =>
    /^magnet:/i.test(filename)
      ? { _tag: "Magnet", uri: filename }
      : /^https?:\/\//i.test(filename)
      ? { _tag: "Url", url: filename }
      : { _tag: "Path", path: filename }
}

/**
 * How to add a torrent. Its file choices number the files as `FileSnapshot`s list them, BEP 47 padding files left
 * out (the RPC's numbering; a magnet's padding files are not known when it is added): a magnet's are applied when its
 * metadata comes.
 */
export interface AddOptions extends FileChoices {
  /** Added stopped. Default: the session's `startAddedTorrents` negated. */
  readonly paused?: boolean
  /** Default: the session's `downloadDir`. */
  readonly downloadDir?: string
  readonly labels?: ReadonlyArray<string>
  readonly peerLimit?: number
  /** Peers to try besides those trackers, the DHT and PEX find, `host:port` (`[v6]:port`); kept across restarts. */
  readonly peers?: ReadonlyArray<string>
}

/** `add`'s answer: the torrent, and whether it was there already (then nothing about it changed). */
export interface Added {
  readonly id: TorrentId
  readonly hashString: string
  readonly name: string
  readonly duplicate: boolean
}

export type QueueMove = "top" | "up" | "down" | "bottom"

export type EncryptionMode = "required" | "preferred" | "tolerated"

/** What `session-get` reports and `session-set` changes. */
export interface SessionSettings {
  readonly downloadDir: string
  readonly startAddedTorrents: boolean
  readonly downloadQueueEnabled: boolean
  readonly downloadQueueSize: number
  readonly seedQueueEnabled: boolean
  readonly seedQueueSize: number
  /** Torrents with no payload for `queueStalledMinutes` give up their queue slot. */
  readonly queueStalledEnabled: boolean
  readonly queueStalledMinutes: number
  /** Speed limits, bytes per second, each with its switch. */
  readonly speedLimitDown: number
  readonly speedLimitDownEnabled: boolean
  readonly speedLimitUp: number
  readonly speedLimitUpEnabled: boolean
  /** The alternative ("turtle") limits, used instead of the above while `altSpeedEnabled`. */
  readonly altSpeedDown: number
  readonly altSpeedUp: number
  readonly altSpeedEnabled: boolean
  readonly seedRatioLimit: number
  readonly seedRatioLimited: boolean
  /** Minutes. */
  readonly idleSeedingLimit: number
  readonly idleSeedingLimitEnabled: boolean
  readonly peerLimitGlobal: number
  readonly peerLimitPerTorrent: number
  /** The peer port. Changing it takes effect at the next start. */
  readonly peerPort: number
  /** Changing it takes effect at the next start. */
  readonly encryption: EncryptionMode
  /** Changing it takes effect at the next start. */
  readonly dhtEnabled: boolean
  readonly pexEnabled: boolean
}

export type SessionSettingsPatch = Partial<SessionSettings>

export interface TransferTotals {
  readonly uploadedBytes: number
  readonly downloadedBytes: number
  readonly filesAdded: number
  readonly secondsActive: number
  readonly sessionCount: number
}

/** What `session-stats` reports. */
export interface SessionStats {
  readonly activeTorrentCount: number
  readonly pausedTorrentCount: number
  readonly torrentCount: number
  readonly downloadSpeed: number
  readonly uploadSpeed: number
  /** Since the state folder was made, and since this process started. */
  readonly cumulative: TransferTotals
  readonly current: TransferTotals
  /** Nodes in the DHT routing table; absent without a DHT node. */
  readonly dhtNodes?: number
}

/** What happened to a torrent, for an embedding program that reacts rather than polls. */
export type ClientEvent =
  | { readonly _tag: "Added"; readonly id: TorrentId; readonly hashString: string; readonly name: string }
  | { readonly _tag: "MetadataReceived"; readonly id: TorrentId; readonly name: string }
  | { readonly _tag: "StatusChanged"; readonly id: TorrentId; readonly status: TorrentStatus }
  /** At most about once a second per torrent while pieces verify. */
  | {
    readonly _tag: "Progress"
    readonly id: TorrentId
    readonly percentDone: number
    readonly haveValid: number
    readonly rateDownload: number
    readonly rateUpload: number
  }
  | { readonly _tag: "Completed"; readonly id: TorrentId }
  | { readonly _tag: "Error"; readonly id: TorrentId; readonly message: string }
  | { readonly _tag: "Removed"; readonly id: TorrentId; readonly hashString: string }

export type ClientErrorReason =
  /** No torrent has that id or hash. */
  | "NotFound"
  /** The bytes, file or link is not a torrent we can run. */
  | "InvalidTorrent"
  /** A `.torrent` URL could not be fetched (slow, huge, refused). */
  | "Fetch"
  /** An argument makes no sense (a negative limit, a file index out of range, a path outside allowed folders). */
  | "InvalidArgument"
  /** The disk failed us: moving or deleting data, reading a `.torrent` file. */
  | "Storage"
  /** The state folder could not be written. */
  | "Persistence"
  /** The peer port (or the DHT's UDP socket) could not be opened. */
  | "Network"
  /** Not implemented by this client. */
  | "Unsupported"

export class ClientError extends Data.TaggedError("ClientError")<{
  readonly reason: ClientErrorReason
  /** One sentence for a user: what and which. */
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.detail
  }
}

export interface RemoveOptions {
  /** Also delete the torrent's own files (never anything else in the folder). */
  readonly deleteData?: boolean
}

export class Client extends Context.Tag("bt/Client")<Client, {
  /** The port peers reach us on. */
  readonly port: number
  /** Adds a torrent, or returns the one with the same info-hash. */
  readonly add: (source: AddSource, options?: AddOptions) => Effect.Effect<Added, ClientError>
  /** Snapshots of the torrents selected, in queue order (unknown ids are skipped). */
  readonly list: (selector?: Selector, detail?: SnapshotDetail) => Effect.Effect<TorrentList>
  /** One torrent's snapshot, with every detail. */
  readonly get: (ref: TorrentRef) => Effect.Effect<TorrentSnapshot, ClientError>
  /** Removes torrents (their resume state too), optionally deleting their data. */
  readonly remove: (selector: Selector, options?: RemoveOptions) => Effect.Effect<void, ClientError>
  /** Starts torrents through the queue. */
  readonly start: (selector: Selector) => Effect.Effect<void, ClientError>
  /** Starts torrents now, past the queue. */
  readonly startNow: (selector: Selector) => Effect.Effect<void, ClientError>
  readonly stop: (selector: Selector) => Effect.Effect<void, ClientError>
  /** Rechecks the data on disk (hashing every piece), then goes back to what it was doing. */
  readonly verify: (selector: Selector) => Effect.Effect<void, ClientError>
  /** Asks trackers for peers now. */
  readonly reannounce: (selector: Selector) => Effect.Effect<void, ClientError>
  /** Sets the download folder; with `move`, moves the data there first. */
  readonly setLocation: (selector: Selector, location: string, move: boolean) => Effect.Effect<void, ClientError>
  /**
   * Renames a file or folder inside a torrent (`path` as `files` shows it, starting with the torrent's name) to
   * `name`, on disk if the data is there: the torrent keeps its info-hash and finds its data under the new name.
   */
  readonly renamePath: (ref: TorrentRef, path: string, name: string) => Effect.Effect<Renamed, ClientError>
  readonly set: (selector: Selector, patch: TorrentSettingsPatch) => Effect.Effect<void, ClientError>
  readonly queueMove: (selector: Selector, move: QueueMove) => Effect.Effect<void, ClientError>
  readonly session: Effect.Effect<SessionSettings>
  readonly setSession: (patch: SessionSettingsPatch) => Effect.Effect<SessionSettings, ClientError>
  readonly stats: Effect.Effect<SessionStats>
  /** Every torrent's events, from the moment of subscribing. */
  readonly events: Stream.Stream<ClientEvent>
  /**
   * A running torrent whose metadata is known, for reading its files while it runs (`FileStream.fileStream`, the
   * HTTP stream routes); none when it is stopped, unknown or still fetching its metadata.
   */
  readonly running: (ref: TorrentRef) => Effect.Effect<Option.Option<TorrentHandle>>
  /** The space left (for us) and in all on the filesystem holding `path` (Transmission's `free-space`). */
  readonly freeSpace: (path: string) => Effect.Effect<FreeSpace, ClientError>
}>() {}

/** `renamePath`'s answer, as `torrent-rename-path` gives it. */
export interface Renamed {
  readonly id: TorrentId
  readonly path: string
  readonly name: string
}

export interface FreeSpace {
  readonly path: string
  readonly sizeBytes: number
  readonly totalSize: number
}
