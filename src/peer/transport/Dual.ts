import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { Endpoint } from "../../net/Datagram.js"
import { formatEndpoint } from "../../net/endpoint.js"
import { type Connection, type Listener, Transport, TransportError } from "./Transport.js"

/** Peers whose working transport is remembered, at most (the oldest is forgotten first). */
export const REMEMBERED_PEERS = 4096

export interface DualOptions {
  /**
   * How long uTP has to connect to a peer whose transport is not known yet before TCP is tried beside it (the
   * first to connect wins, the other is abandoned). Default 500 ms: a uTP peer answers a SYN in a round trip, and
   * a TCP-only one (aria2, say) then costs half a second, not uTP's whole connect timeout.
   */
  readonly utpHeadStart?: Duration.DurationInput
}

type Name = "tcp" | "utp"

/** A connection made in a scope of its own, which closes it. */
interface Made {
  readonly connection: Connection
  readonly scope: Scope.CloseableScope
}

/**
 * TCP and uTP side by side (BEP 29): `listen` takes both on the same port number (failing if either cannot, so
 * a caller that tries several ports moves both), and `connect` prefers uTP, as most clients do: for a peer not
 * met yet it tries uTP, then TCP too after `utpHeadStart`, and keeps whichever connects first. A peer's working
 * transport is remembered: later dials try it first, the other only if it fails.
 */
export const make = (tcp: Transport["Type"], utp: Transport["Type"], options: DualOptions = {}): Transport["Type"] => {
  const headStart = options.utpHeadStart ?? Duration.millis(500)
  const works = new Map<string, Name>()

  const remember = (key: string, transport: "tcp" | "utp") => {
    works.delete(key)
    works.set(key, transport)
    if (works.size > REMEMBERED_PEERS) works.delete(works.keys().next().value!)
  }

  const bothFailed = (first: TransportError, second: TransportError) =>
    new TransportError({ reason: "Connect", detail: `${first.message}; ${second.message}`, cause: second })

  /** One attempt in a scope of its own under `outer`: closed at once unless it connects. */
  const attempt = (outer: Scope.Scope, key: string, name: Name, to: Endpoint): Effect.Effect<Made, TransportError> =>
    Effect.gen(function*() {
      const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      const connection = yield* (name === "tcp" ? tcp : utp).connect(to).pipe(
        Scope.extend(scope),
        Effect.mapError((error) => new TransportError({ reason: "Connect", detail: `${name}: ${error.message}`, cause: error })),
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)))
      )
      remember(key, name)
      return { connection, scope }
    })

  /** The first of two attempts to connect; the other is interrupted, or closed if it connected too. */
  const first = (a: Effect.Effect<Made, TransportError>, b: Effect.Effect<Made, TransportError>) => {
    const settle = (exit: Exit.Exit<Made, TransportError>, other: Fiber.Fiber<Made, TransportError>) =>
      Exit.isSuccess(exit)
        ? Fiber.interrupt(other).pipe(
          Effect.flatMap((lost) => (Exit.isSuccess(lost) ? Scope.close(lost.value.scope, Exit.void) : Effect.void)),
          Effect.as(exit.value)
        )
        : Option.match(Cause.failureOption(exit.cause), {
          onNone: () => Effect.zipRight(Fiber.interrupt(other), Effect.failCause(exit.cause)),
          onSome: (error) => Effect.mapError(Fiber.join(other), (second) => bothFailed(error, second))
        })
    return Effect.raceWith(a, b, { onSelfDone: settle, onOtherDone: settle })
  }

  const connect = (to: Endpoint): Effect.Effect<Connection, TransportError, Scope.Scope> =>
    Effect.gen(function*() {
      const outer = yield* Effect.scope
      const key = formatEndpoint(to)
      const known = works.get(key)
      const made = known === undefined
        ? yield* first(attempt(outer, key, "utp", to), Effect.zipRight(Effect.sleep(headStart), attempt(outer, key, "tcp", to)))
        : yield* attempt(outer, key, known, to).pipe(
          Effect.catchAll((error) =>
            Effect.mapError(attempt(outer, key, known === "tcp" ? "utp" : "tcp", to), (second) => bothFailed(error, second))
          )
        )
      return made.connection
    })

  const listen = (at: Endpoint, onConnection: (connection: Connection) => void): Effect.Effect<Listener, TransportError, Scope.Scope> =>
    Effect.gen(function*() {
      // Both or neither: a TCP listener whose uTP twin failed must not stay open.
      const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      return yield* Effect.gen(function*() {
        const listener = yield* tcp.listen(at, onConnection)
        yield* utp.listen({ host: at.host, port: listener.local.port }, onConnection)
        return listener
      }).pipe(
        Scope.extend(scope),
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
    })

  return Transport.of({ connect, listen })
}
