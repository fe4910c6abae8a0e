import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
export class DatagramError extends Data.TaggedError("DatagramError")<{
  readonly reason: "Bind" | "Send"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.detail
  }
}

/** Where a datagram came from or goes to. */
export interface Endpoint {
  readonly host: string
  readonly port: number
}

export interface DatagramSocket {
  /** The address the socket is bound to. */
  readonly local: Endpoint
  readonly send: (bytes: Uint8Array, to: Endpoint) => Effect.Effect<void, DatagramError>
  /**
   * Sends without waiting, for per-packet hot paths (uTP): a failure is dropped, as a lost datagram would be.
   * `bytes` must not change afterwards.
   */
  readonly post: (bytes: Uint8Array, to: Endpoint) => void
}

export interface BindOptions {
  readonly family: "ipv4" | "ipv6"
  /** Defaults to every interface. */
  readonly host?: string
  /** Defaults to 0: any free port. */
  readonly port?: number
  /**
   * Which datagrams are this bind's, where one socket serves several protocols (see `SharedDatagram`): the DHT
   * and uTP share a port and tell their packets apart by shape. Default: all of them. An unshared socket ignores it.
   */
  readonly accepts?: (bytes: Uint8Array) => boolean
  /**
   * A multicast group to join once bound (LSD). The socket shares its port with others (SO_REUSEADDR), so every
   * program on the machine listening to the group gets each datagram. An in-memory socket ignores it.
   */
  readonly multicast?: string
}

/**
 * UDP sockets, for the UDP tracker protocol, the DHT and uTP. Received datagrams go to a plain synchronous handler: it
 * runs per packet, so it should only decode and hand off. The socket closes when the scope does.
 */
export class Datagram extends Context.Tag("bt/Datagram")<Datagram, {
  readonly bind: (
    options: BindOptions,
    onMessage: (bytes: Uint8Array, from: Endpoint) => void
  ) => Effect.Effect<DatagramSocket, DatagramError, Scope.Scope>
}>() {}
