import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
/** Timeouts and limits of the Tracker service. Every field has a default; override what you need. */
export interface TrackerConfig {
  /** Longest wait for an HTTP tracker's complete answer. */
  readonly httpTimeout: Duration.DurationInput
  /** Largest HTTP answer read; a tracker sending more is cut off (a real answer is a few KiB). */
  readonly maxBodyBytes: number
  /** Redirects followed for one HTTP request. */
  readonly maxRedirects: number
  /** UDP (BEP 15): the first retransmission timeout; each next one doubles. */
  readonly udpTimeout: Duration.DurationInput
  /**
   * UDP: retransmissions before giving up. BEP 15 suggests 15 s and 8 (over an hour of silence before a dead tracker
   * counts as failed); we give up within a minute and leave retrying to the announce loop's backoff.
   */
  readonly udpRetransmits: number
  /** UDP: how long a connection id is reused (BEP 15: up to one minute). */
  readonly udpConnectionTtl: Duration.DurationInput
  /** Peers kept from one answer; the rest are dropped (a tracker may send thousands: we asked for ~50). */
  readonly maxPeers: number
}

export const defaultTrackerConfig: TrackerConfig = {
  httpTimeout: Duration.seconds(30),
  maxBodyBytes: 1024 * 1024,
  maxRedirects: 5,
  // Sends at 0, 4, 12 and 28 s, gives up at 60 s: a dead UDP tracker costs a minute, not an hour.
  udpTimeout: Duration.seconds(4),
  udpRetransmits: 3,
  udpConnectionTtl: Duration.minutes(1),
  maxPeers: 1000
}

/**
 * When to retransmit a UDP request that got no answer: `udpTimeout · 2^n` after the previous send, `n` from 0 up to
 * `udpRetransmits - 1`. The wait after the last retransmission is `udpFinalWait`.
 */
export const udpRetransmitSchedule = (config: TrackerConfig): Schedule.Schedule<unknown> =>
  Schedule.exponential(config.udpTimeout, 2).pipe(Schedule.intersect(Schedule.recurs(config.udpRetransmits)))

/** How long to wait for an answer after the last UDP retransmission: `udpTimeout · 2^udpRetransmits`. */
export const udpFinalWait = (config: TrackerConfig): Duration.Duration =>
  Duration.times(Duration.decode(config.udpTimeout), 2 ** config.udpRetransmits)
