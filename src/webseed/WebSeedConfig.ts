import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"

/** How web seeds (BEP 19) are used. Every field has a default. */
export interface WebSeedConfig {
  /**
   * Bytes asked of a server in one range request, at most (a range is also cut at file boundaries). Several pieces:
   * BEP 19 warns that one request per piece looks like an attack to a web server.
   */
  readonly rangeBytes: number
  /** Range requests in flight per server at once. */
  readonly inFlight: number
  /** Redirects followed for one request; more is a loop. */
  readonly maxRedirects: number
  /** A request that receives no byte for this long is dropped. */
  readonly idleTimeout: Duration.DurationInput
  /**
   * A range must arrive at this many bytes per second at least (after `idleTimeout` of grace), or it is dropped:
   * a server dripping a byte at a time cannot hold pieces for ever.
   */
  readonly minRate: number
  /** Waits between attempts at a server that is busy or unreachable (`Retry-After` lengthens a wait, up to `maxRetryAfter`). */
  readonly retry: Schedule.Schedule<unknown>
  readonly maxRetryAfter: Duration.DurationInput
}

export const defaultWebSeedConfig: WebSeedConfig = {
  rangeBytes: 4 * 1024 * 1024,
  inFlight: 3,
  maxRedirects: 5,
  idleTimeout: Duration.seconds(30),
  minRate: 8 * 1024,
  // 5 s, 10 s, 20 s, ... at most 10 minutes apart, for as long as the torrent runs.
  retry: Schedule.exponential(Duration.seconds(5)).pipe(Schedule.union(Schedule.spaced(Duration.minutes(10)))),
  maxRetryAfter: Duration.hours(1)
}
