import * as Data from "effect/Data"

export type KrpcDecodeErrorReason =
  /** A packet over `MAX_KRPC_PACKET` bytes, refused unread. */
  | "TooLarge"
  /** Not one valid bencoded value. */
  | "Bencode"
  /** Bencode, but not a dictionary. */
  | "NotADictionary"
  /** A key the message type requires is absent (`t`, `y`, `q`, `a`, `r`, `e`, `id`, `target`, ...). */
  | "MissingKey"
  /** A key holds the wrong bencode type (a list where a byte string belongs, ...). */
  | "WrongType"
  /** A node id, target or info-hash that is not 20 bytes. */
  | "BadLength"
  /** A value out of range: an unknown `y`, a port beyond 65535 (or 0 without `implied_port`). */
  | "BadValue"
  /** A query for a method other than BEP 5's four. A node answers it with error 204. */
  | "UnknownMethod"

/**
 * A datagram that is not a KRPC message we understand. When the packet got as far as a readable `t` (and `y`), they
 * are kept, so that a node can answer a broken query with error 203 (204 for `UnknownMethod`) and match a broken
 * answer to the query it was meant for.
 */
export class KrpcDecodeError extends Data.TaggedError("KrpcDecodeError")<{
  readonly reason: KrpcDecodeErrorReason
  readonly detail: string
  readonly transactionId?: Uint8Array
  readonly messageType?: "query" | "response" | "error"
}> {
  override get message(): string {
    return `bad KRPC message: ${this.detail}`
  }
}
