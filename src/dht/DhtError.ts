import * as Data from "effect/Data"

export type DhtErrorReason =
  /** The UDP socket could not be opened on the configured host and port. */
  | "Bind"
  /** A configuration value out of range (a port beyond 65535, a limit below 1, ...). */
  | "Config"
  // The rest describe one query to another node. They never leave the service (a lookup counts a failed query and
  // goes on), but they are the same type so that every failure in the DHT reads alike in logs.
  /** No answer within the query timeout. */
  | "Timeout"
  /** Too many queries waiting for answers (`maxPendingQueries`): refused without sending. */
  | "Overloaded"
  /** The node answered with a KRPC error. */
  | "Rejected"
  /** The datagram could not be sent. */
  | "Send"
  /** The answer was malformed, or not an answer to what was asked. */
  | "BadResponse"

/** What went wrong in the DHT node. `message` is one sentence. */
export class DhtError extends Data.TaggedError("DhtError")<{
  readonly reason: DhtErrorReason
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `DHT: ${this.detail}`
  }
}
