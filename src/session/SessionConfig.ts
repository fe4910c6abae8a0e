import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import { type ChokeConfig, defaultChokeConfig } from "./choker.js"
import type { EncryptionPolicy } from "../peer/encryption.js"
import { type AnnounceTiming, defaultAnnounceTiming } from "../tracker/index.js"

/** How a torrent session treats its peers. Every field has a default; override what you need. */
export interface SessionConfig {
  /** Peer connections per torrent, dialled and accepted together. */
  readonly maxPeers: number
  /** Peer connections over all torrents. */
  readonly maxConnections: number
  /** The TCP port we accept peers on and tell trackers; 0 picks any free port. */
  readonly port: number
  /**
   * The addresses we listen on, all on one port: every IPv4 and every IPv6 interface by default. The first decides
   * the port (the next free one of ten if taken); the others are tried on the same port, and skipped with a warning
   * if they fail (a machine without IPv6, say).
   */
  readonly listenHosts: ReadonlyArray<string>
  /** Connecting, and then the handshake, must each finish within this. */
  readonly connectTimeout: Duration.DurationInput
  readonly handshakeTimeout: Duration.DurationInput
  /**
   * A keep-alive goes out when we have sent nothing for this long: half the two minutes after which peers
   * commonly drop a silent connection (BEP 3; libtorrent's peer timeout is 120 s).
   */
  readonly keepAliveAfter: Duration.DurationInput
  /** When to look whether a keep-alive is due (so one goes out `keepAliveAfter` to one period after the last send). */
  readonly keepAlive: Schedule.Schedule<unknown>
  /** A peer that sends no whole message (not even a keep-alive) for this long is dropped. */
  readonly idleTimeout: Duration.DurationInput
  /** A request unanswered this long (with nothing else from that peer) goes to another peer. */
  readonly requestTimeout: Duration.DurationInput
  /** A peer that unchoked us, has what we need, and sent no block for this long is dropped. */
  readonly snubTimeout: Duration.DurationInput
  /** A peer that has what we need but keeps us choked this long is dropped, freeing its slot. */
  readonly chokedTimeout: Duration.DurationInput
  /** Between two connection attempts to the same peer after it failed or closed; stops when the schedule ends. */
  readonly reconnect: Schedule.Schedule<unknown>
  /** How often request timeouts, rates and stalls are checked. */
  readonly tick: Duration.DurationInput
  /** Pieces failing their hash with a peer's data before that peer's IP address is banned. */
  readonly banAfterStrikes: number
  /** How long a first ban of an address lasts; each later ban of it lasts twice the one before, up to `maxBanTime`. */
  readonly banTime: Duration.DurationInput
  readonly maxBanTime: Duration.DurationInput
  /** When to re-decide who may download from us (BEP 3: every 10 s). */
  readonly rechoke: Schedule.Schedule<unknown>
  /** Upload slots and optimistic unchoke rotation, in rechoke rounds. */
  readonly choke: ChokeConfig
  /** Bytes of pieces kept in memory for serving. */
  readonly cacheBytes: number
  /** Bytes of downloaded pieces allowed to wait for the disk before we stop requesting more. */
  readonly backlogBytes: number
  /**
   * Bytes of block requests outstanding over all peers past which each peer is held to its fair share. It bounds
   * the pieces being assembled, which otherwise grow with the number of peers (each keeps seconds of requests).
   */
  readonly outstandingBytes: number
  /** Pieces verified and written at once. */
  readonly writers: number
  /** When to save the resume state while pieces verify (and it is saved once more when the torrent stops). */
  readonly resumeSave: Schedule.Schedule<unknown>
  /** Message Stream Encryption with peers (see `EncryptionPolicy`). */
  readonly encryption: EncryptionPolicy
  /** With a DHT node: how often a torrent looks for peers there and announces itself (BEP 5), after the first. */
  readonly dhtAnnounce: Schedule.Schedule<unknown>
  /** How long a new connection gets to tell its pieces and unchoke us before a stall reason counts it. */
  readonly stallSettling: Duration.DurationInput
  /** The tracker announce loop's timing: backoff for failing tiers, interval bounds, per-tracker timeout. */
  readonly announce: AnnounceTiming
  /** Bytes per second over all torrents' peers, each way; `Infinity` for no limit (and no cost). */
  readonly downloadLimit: number
  readonly uploadLimit: number
}

/** Quiet time after which we send a keep-alive: half the usual 120 s idle timeout. */
export const KEEP_ALIVE_AFTER = Duration.seconds(60)
/** How often each connection looks whether a keep-alive is due. */
export const KEEP_ALIVE_CHECK = Duration.seconds(10)

export const defaultSessionConfig: SessionConfig = {
  maxPeers: 50,
  maxConnections: 200,
  port: 6881,
  listenHosts: ["0.0.0.0", "::"],
  connectTimeout: Duration.seconds(10),
  handshakeTimeout: Duration.seconds(10),
  keepAliveAfter: KEEP_ALIVE_AFTER,
  keepAlive: Schedule.spaced(KEEP_ALIVE_CHECK),
  idleTimeout: Duration.minutes(3),
  requestTimeout: Duration.seconds(20),
  snubTimeout: Duration.seconds(60),
  chokedTimeout: Duration.minutes(2),
  // 5 s, 10 s, 20 s, 40 s, 80 s, then give the address up (a tracker may hand it out again later).
  reconnect: Schedule.exponential(Duration.seconds(5)).pipe(Schedule.intersect(Schedule.recurs(5))),
  tick: Duration.seconds(1),
  banAfterStrikes: 3,
  banTime: Duration.hours(1),
  maxBanTime: Duration.hours(24),
  rechoke: Schedule.spaced(Duration.seconds(10)),
  // 4 regular slots; the optimistic unchoke moves every 3 rechokes (30 s).
  choke: defaultChokeConfig,
  cacheBytes: 16 * 1024 * 1024,
  backlogBytes: 16 * 1024 * 1024,
  // 4 peers at the deepest pipeline (MAX_REQUEST_DEPTH, 4 MiB each) fit; 200 peers share it at ~5 blocks each.
  outstandingBytes: 16 * 1024 * 1024,
  writers: 4,
  resumeSave: Schedule.spaced(Duration.seconds(5)),
  encryption: "prefer",
  // Stored peers expire after 30 minutes on most nodes: announce well within that.
  dhtAnnounce: Schedule.spaced(Duration.minutes(15)),
  stallSettling: Duration.seconds(5),
  announce: defaultAnnounceTiming,
  downloadLimit: Number.POSITIVE_INFINITY,
  uploadLimit: Number.POSITIVE_INFINITY
}
