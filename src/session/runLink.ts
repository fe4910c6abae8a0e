import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { keepAlive, keyOf, type Link } from "../peer/link.js"
import { PeerError } from "../peer/PeerError.js"
import type { Connection } from "../peer/transport/Transport.js"
import type { SessionConfig } from "./SessionConfig.js"

/** What a link tells the Effect side: the handshake is done, the connection is over. */
export interface LinkEvents {
  readonly onHandshake: () => void
  readonly onClose: (error: PeerError) => void
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
