import * as Data from "effect/Data"
export type TrackerErrorReason =
  /** The tracker did not answer in time (after every retransmission, for UDP). */
  | "Timeout"
  /** The HTTP tracker answered with a status other than 200. */
  | "HttpStatus"
  /** The answer is not a valid tracker response (bad bencode, wrong packet, missing fields, too large). */
  | "Decode"
  /** The tracker refused: `failure reason` over HTTP, the error action over UDP. */
  | "Rejected"
  /** The tracker could not be reached: DNS, connection refused, socket errors. */
  | "Network"
  /** The announce URL is not one we can use (unknown scheme, malformed). */
  | "BadUrl"

/** A tracker request that failed. `message` is one sentence naming the tracker. */
export class TrackerError extends Data.TaggedError("TrackerError")<{
  readonly reason: TrackerErrorReason
  /** The announce URL of the tracker. */
  readonly url: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.url}: ${this.detail}`
  }
}
