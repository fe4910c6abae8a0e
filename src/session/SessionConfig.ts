import { Duration, Schedule } from "effect"

/** How a torrent session treats its peers. Every field has a default; override what you need. */
export interface SessionConfig {
  /** Peer connections per torrent. */
  readonly maxPeers: number
  /** The TCP port we tell trackers (and, once we listen, accept peers on). */
  readonly port: number
  /** Connecting, and then the handshake, must each finish within this. */
  readonly connectTimeout: Duration.DurationInput
  readonly handshakeTimeout: Duration.DurationInput
  /** Sends a keep-alive when we have sent nothing for this long (BEP 3: peers drop us after ~2 minutes). */
  readonly keepAlive: Schedule.Schedule<unknown>
  /** A peer that sends nothing at all (not even keep-alives) for this long is dropped. */
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
  /** Pieces failing their hash with a peer's data before that peer is banned. */
  readonly banAfterStrikes: number
}

export const defaultSessionConfig: SessionConfig = {
  maxPeers: 50,
  port: 6881,
  connectTimeout: Duration.seconds(10),
  handshakeTimeout: Duration.seconds(10),
  keepAlive: Schedule.spaced(Duration.minutes(2)),
  idleTimeout: Duration.minutes(3),
  requestTimeout: Duration.seconds(20),
  snubTimeout: Duration.seconds(60),
  chokedTimeout: Duration.minutes(2),
  // 5 s, 10 s, 20 s, 40 s, 80 s, then give the address up (a tracker may hand it out again later).
  reconnect: Schedule.exponential(Duration.seconds(5)).pipe(Schedule.intersect(Schedule.recurs(5))),
  tick: Duration.seconds(1),
  banAfterStrikes: 3
}
