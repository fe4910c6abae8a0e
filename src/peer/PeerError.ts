import * as Data from "effect/Data"
export type PeerErrorReason =
  /** Could not connect, or the connection broke. */
  | "Connection"
  /** No handshake, or the wrong torrent, or ourselves, or a peer already connected. */
  | "Handshake"
  /** The peer broke the wire protocol. */
  | "Protocol"
  /** Silent past the idle timeout, stalled with requests outstanding, or choking us too long. */
  | "Timeout"
  /** The peer sent data that failed hash checks too often. */
  | "Banned"
  /** Both sides have every piece: nothing to exchange. */
  | "NotNeeded"
  /**
   * The peer closed on our encryption handshake (MSE/PE): it may speak plaintext only, or have dropped this one
   * connection (so it is tried again, like a broken connection).
   */
  | "Encryption"

/** Why a peer connection ended. Expected in a swarm: logged at debug level, then maybe retried. */
export class PeerError extends Data.TaggedError("PeerError")<{
  readonly reason: PeerErrorReason
  readonly peer: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.peer}: ${this.detail}`
  }
}

/** Errors after which trying the same address again is pointless. */
export const isFinal = (error: PeerError): boolean =>
  error.reason === "Handshake" || error.reason === "Protocol" || error.reason === "Banned" ||
  error.reason === "NotNeeded"
