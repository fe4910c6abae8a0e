import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type { Endpoint } from "../net/Datagram.js"
import type { Connection, Transport } from "../peer/transport/Transport.js"
import { PeerError } from "./PeerError.js"
import { PeerLink } from "./PeerLink.js"
import type { SessionConfig } from "./SessionConfig.js"
import type { Swarm } from "./Swarm.js"

/** A peer's address as a map key. */
export const keyOf = (address: Endpoint): string => `${address.host}:${address.port}`

/**
 * The Effect side of one peer connection: starts its `PeerLink`, bounds the handshake in time, sends keep-alives on
 * their Schedule, and waits for the connection to end. Fails with why it ended (a close is a failure too); the
 * connection is the caller's to close with its scope.
 */
export const runLink = (
  config: SessionConfig,
  swarm: Swarm,
  connection: Connection,
  direction: PeerLink["direction"],
  start: (link: PeerLink) => void
): Effect.Effect<never, PeerError, Scope.Scope> =>
  Effect.gen(function*() {
    const key = keyOf(connection.remote)
    const handshaken = yield* Deferred.make<void>()
    const closed = yield* Deferred.make<never, PeerError>()
    const link = new PeerLink(connection, swarm, {
      onHandshake: () => Deferred.unsafeDone(handshaken, Exit.void),
      onClose: (error) => Deferred.unsafeDone(closed, Exit.fail(error))
    }, direction)
    start(link)
    yield* Effect.raceFirst(Deferred.await(handshaken), Deferred.await(closed)).pipe(
      Effect.timeoutFail({
        duration: config.handshakeTimeout,
        onTimeout: () => new PeerError({ reason: "Handshake", peer: key, detail: "no handshake in time" })
      }),
      Effect.tapError((error) => Effect.sync(() => link.fail(error)))
    )
    yield* Effect.sync(() => link.sendKeepAlive()).pipe(Effect.schedule(config.keepAlive), Effect.forkScoped)
    return yield* Deferred.await(closed)
  }).pipe(Effect.annotateLogs("peer", keyOf(connection.remote)))

/** Dials a peer (bounded by the connect timeout) and runs the link. */
export const dial = (
  transport: Transport["Type"],
  config: SessionConfig,
  swarm: Swarm,
  address: Endpoint
): Effect.Effect<never, PeerError, Scope.Scope> =>
  transport.connect(address).pipe(
    Effect.mapError((cause) => new PeerError({ reason: "Connection", peer: keyOf(address), detail: cause.message, cause })),
    Effect.timeoutFail({
      duration: config.connectTimeout,
      onTimeout: () => new PeerError({ reason: "Connection", peer: keyOf(address), detail: "connection timed out" })
    }),
    Effect.flatMap((connection) => runLink(config, swarm, connection, "outgoing", (link) => link.start()))
  )
