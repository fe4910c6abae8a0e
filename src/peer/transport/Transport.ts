import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Endpoint } from "../../net/Datagram.js"

export class TransportError extends Data.TaggedError("TransportError")<{
  readonly reason: "Connect" | "Listen" | "Closed"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.detail
  }
}

/**
 * A byte stream to a peer. Deliberately callback-shaped: it sits on the hot path, where every received chunk is
 * handled synchronously in plain code and only events that matter cross into Effect.
 */
export interface Connection {
  readonly remote: Endpoint
  /** What carries it, where that is known: TCP or uTP (BEP 29). A wrapper may read it through (a getter). */
  readonly transport?: "tcp" | "utp" | undefined
  /** The transport's own counters, where it keeps any (uTP: round-trip time, window, retransmits, losses). */
  readonly counters?: () => Readonly<Record<string, number>>
  /** The bytes travel RC4-encrypted (MSE/PE), once that was agreed. */
  readonly encrypted?: boolean
  /**
   * Queues bytes for sending. Returns `false` when the send buffer is past its high-water mark: stop producing
   * (and stop reading, so the peer slows down too) until `onDrain` fires.
   *
   * `sent`, if given, is called once the transport holds no reference to `bytes` any more (handed to the kernel,
   * copied into packets, or encrypted), so that their memory may be reused; at most once, and possibly never (a
   * connection closed with them still queued). Without it, the caller must not change `bytes` after writing them.
   */
  readonly write: (bytes: Uint8Array, sent?: () => void) => boolean
  /**
   * Sets the handlers and starts reading: no data arrives before the first call. A later call replaces them (an
   * accepted connection is read by a handshake reader first, then handed to its torrent). `onClose` fires once,
   * with an error if the connection failed.
   */
  readonly start: (handlers: ConnectionHandlers) => void
  /** Holds writes until `uncork`, then sends them together (one system call for many small messages). Nests. */
  readonly cork: () => void
  readonly uncork: () => void
  readonly pause: () => void
  readonly resume: () => void
  /** Closes the connection now, discarding unsent bytes. Idempotent. */
  readonly destroy: () => void
}

export interface ConnectionHandlers {
  /**
   * Bytes received. `chunk` is valid only during the call: the transport may read the next bytes into the same
   * memory (NodeTransport does, for the connections it dials). Copy what you keep.
   */
  readonly onData: (chunk: Uint8Array) => void
  readonly onDrain: () => void
  readonly onClose: (error: TransportError | undefined) => void
}

/** A listening socket; closes with its scope. */
export interface Listener {
  readonly local: Endpoint
}

/**
 * How peers are reached: TCP in production, an in-memory network in tests (whole swarms in one process).
 * Connections are destroyed when the scope they were opened in closes.
 */
export class Transport extends Context.Tag("bt/Transport")<Transport, {
  readonly connect: (to: Endpoint) => Effect.Effect<Connection, TransportError, Scope.Scope>
  readonly listen: (
    at: Endpoint,
    onConnection: (connection: Connection) => void
  ) => Effect.Effect<Listener, TransportError, Scope.Scope>
}>() {}
