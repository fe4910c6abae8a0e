import * as Data from "effect/Data"
export type WireErrorReason =
  /** The first 68 bytes are not a BitTorrent handshake. */
  | "BadHandshake"
  /** A length prefix beyond what any message of that kind may have. */
  | "TooLong"
  /** A message whose length does not fit its kind (a 3-byte `have`, say). */
  | "BadLength"
  /** A bitfield of the wrong size, or with spare bits set. */
  | "BadBitfield"
  /** A piece index past the end of the torrent. */
  | "BadIndex"
  /** A malformed BEP 10 extension message: an extended handshake, ut_metadata (BEP 9) or ut_pex (BEP 11). */
  | "BadExtension"
  /** A malformed or unanswerable BEP 52 `hash request`, `hashes` or `hash reject`, or hashes that do not verify. */
  | "BadHashes"

/** A peer broke the wire protocol; the connection is dropped. */
export class WireError extends Data.TaggedError("WireError")<{
  readonly reason: WireErrorReason
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}
