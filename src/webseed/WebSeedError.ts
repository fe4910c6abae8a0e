import * as Data from "effect/Data"

export type WebSeedErrorReason =
  /** Could not connect, or the connection broke: retried after a back-off. */
  | "Network"
  /** 503, 429 or another 5xx: retried after `retryAfter` seconds if the server said, else after a back-off. */
  | "Busy"
  /** The server answered 200 to a range request: it ignores `Range`, so none of its data is taken. */
  | "NoRange"
  /** A 206 for bytes other than those asked, or a body longer or shorter than asked. */
  | "BadRange"
  /** Any other status (404, 403, ...). */
  | "HttpStatus"
  /** Too many redirects, one to another protocol, or one from a public address into a private network. */
  | "Redirect"
  /** No byte within the idle timeout: retried after a back-off. */
  | "Timeout"
  /** The range not done by its deadline (a slow drip): the URL is set aside. */
  | "TooSlow"
  /** Data from this server failed a hash check. */
  | "BadData"

/** Reasons that are the server's momentary trouble: the URL is tried again later. Others set it aside. */
export const retryable = (reason: WebSeedErrorReason): boolean =>
  reason === "Network" || reason === "Busy" || reason === "Timeout"

/** A web seed request that failed. `message` is one sentence naming the URL. */
export class WebSeedError extends Data.TaggedError("WebSeedError")<{
  readonly reason: WebSeedErrorReason
  readonly url: string
  readonly detail: string
  /** Seconds the server asked us to wait (`Retry-After`), when it did. */
  readonly retryAfter?: number
  readonly cause?: unknown
}> {
  override get message(): string {
    return `web seed ${this.url}: ${this.detail}`
  }
}
