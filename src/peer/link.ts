import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Endpoint } from "../net/Datagram.js"
import { formatEndpoint } from "../net/endpoint.js"
import { PeerError } from "./PeerError.js"
import type { Connection, Transport, TransportError } from "./transport/Transport.js"

/** A peer's address as a map key. */
export const keyOf = (address: Endpoint): string => formatEndpoint(address)

/** Why a connection ended when the link itself gave no reason: the peer or the network closed it. */
export const closedBy = (peer: string, error: TransportError | undefined): PeerError =>
  new PeerError({
    reason: "Connection",
    peer,
    detail: error === undefined ? "the peer closed the connection" : error.message
  })

/** Whether anything was written since the keep-alive check last asked: a flag set per write (see `Link.takeSent`). */
export class Written {
  private wrote = false

  mark(): void {
    this.wrote = true
  }

  take(): boolean {
    const wrote = this.wrote
    this.wrote = false
    return wrote
  }
}

/** The plain-code side of a connection, as its fiber drives it. */
export interface Link {
  /** Ends the connection with `error` (the first reason given wins). */
  readonly fail: (error: PeerError) => void
  readonly sendKeepAlive: () => void
  /**
   * Whether anything was written since the last call (which clears it): a flag set per write, so the keep-alive
   * check reads the clock once per check, not once per message.
   */
  readonly takeSent: () => boolean
}

/**
 * Sends a keep-alive when nothing has gone out for `keepAliveAfter`, looked at on the `keepAlive` schedule: a busy
 * connection sends none, a quiet one one per `keepAliveAfter` (plus up to one check period), well inside the two
 * minutes after which peers drop a silent connection.
 */
export const keepAlive = (
  config: {
    readonly keepAliveAfter: Duration.DurationInput
    readonly keepAlive: Schedule.Schedule<unknown>
  },
  link: Pick<Link, "sendKeepAlive" | "takeSent">
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const afterMs = Duration.toMillis(config.keepAliveAfter)
    let quietSince = clock.unsafeCurrentTimeMillis()
    const check = Effect.sync(() => {
      const now = clock.unsafeCurrentTimeMillis()
      if (link.takeSent()) quietSince = now
      else if (now - quietSince >= afterMs) {
        link.sendKeepAlive()
        link.takeSent()
        quietSince = now
      }
    })
    yield* check.pipe(Effect.schedule(config.keepAlive), Effect.forkScoped)
  })

/** Dials a peer (bounded by the connect timeout) and runs `run` on the connection. */
export const dial = <A>(
  transport: Transport["Type"],
  config: { readonly connectTimeout: Duration.DurationInput },
  address: Endpoint,
  run: (connection: Connection) => Effect.Effect<A, PeerError, Scope.Scope>
): Effect.Effect<A, PeerError, Scope.Scope> =>
  transport.connect(address).pipe(
    Effect.mapError((cause) => new PeerError({ reason: "Connection", peer: keyOf(address), detail: cause.message, cause })),
    Effect.timeoutFail({
      duration: config.connectTimeout,
      onTimeout: () => new PeerError({ reason: "Connection", peer: keyOf(address), detail: "connection timed out" })
    }),
    Effect.flatMap(run)
  )
