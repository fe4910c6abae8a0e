import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type { Endpoint } from "../net/Datagram.js"
import { formatEndpoint } from "../net/endpoint.js"
import type { Connection, Transport, TransportError } from "../peer/transport/Transport.js"
import { PeerError } from "./PeerError.js"
import type { SessionConfig } from "./SessionConfig.js"

/** A peer's address as a map key. */
export const keyOf = (address: Endpoint): string => formatEndpoint(address)

/** Why a connection ended when the link itself gave no reason: the peer or the network closed it. */
export const closedBy = (peer: string, error: TransportError | undefined): PeerError =>
  new PeerError({
    reason: "Connection",
    peer,
    detail: error === undefined ? "the peer closed the connection" : error.message
  })

/** What a link tells the Effect side: the handshake is done, the connection is over. */
export interface LinkEvents {
  readonly onHandshake: () => void
  readonly onClose: (error: PeerError) => void
}

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
 * The Effect side of one peer connection: makes its link, starts it, bounds the handshake in time, sends
 * keep-alives on their Schedule, and waits for the connection to end. Fails with why it ended (a close is a
 * failure too); the connection is the caller's to close with its scope.
 */
export const runLink = <L extends Link>(
  config: SessionConfig,
  connection: Connection,
  make: (events: LinkEvents) => L,
  start: (link: L) => void
): Effect.Effect<never, PeerError, Scope.Scope> =>
  Effect.gen(function*() {
    const key = keyOf(connection.remote)
    const handshaken = yield* Deferred.make<void>()
    const closed = yield* Deferred.make<never, PeerError>()
    const link = make({
      onHandshake: () => Deferred.unsafeDone(handshaken, Exit.void),
      onClose: (error) => Deferred.unsafeDone(closed, Exit.fail(error))
    })
    start(link)
    yield* Effect.raceFirst(Deferred.await(handshaken), Deferred.await(closed)).pipe(
      Effect.timeoutFail({
        duration: config.handshakeTimeout,
        onTimeout: () => new PeerError({ reason: "Handshake", peer: key, detail: "no handshake in time" })
      }),
      Effect.tapError((error) => Effect.sync(() => link.fail(error)))
    )
    yield* keepAlive(config, link)
    return yield* Deferred.await(closed)
  }).pipe(Effect.annotateLogs("peer", keyOf(connection.remote)))

/**
 * Sends a keep-alive when nothing has gone out for `keepAliveAfter`, looked at on the `keepAlive` schedule: a busy
 * connection sends none, a quiet one one per `keepAliveAfter` (plus up to one check period), well inside the two
 * minutes after which peers drop a silent connection.
 */
export const keepAlive = (
  config: Pick<SessionConfig, "keepAliveAfter" | "keepAlive">,
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
  config: Pick<SessionConfig, "connectTimeout">,
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
