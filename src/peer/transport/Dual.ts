import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { Endpoint } from "../../net/Datagram.js"
import { formatEndpoint } from "../../net/endpoint.js"
import { type Connection, type Listener, Transport, TransportError } from "./Transport.js"

/** Peers whose working transport is remembered, at most (the oldest is forgotten first). */
export const REMEMBERED_PEERS = 4096

/**
 * TCP and uTP side by side (BEP 29): `listen` takes both on the same port number (failing if either cannot, so
 * a caller that tries several ports moves both), and `connect` tries uTP first, as most clients do, then TCP.
 * A peer's working transport is remembered, so a peer without uTP costs the uTP connect timeout once, not at
 * every redial.
 */
export const make = (tcp: Transport["Type"], utp: Transport["Type"]): Transport["Type"] => {
  const works = new Map<string, "tcp" | "utp">()

  const remember = (key: string, transport: "tcp" | "utp") => {
    works.delete(key)
    works.set(key, transport)
    if (works.size > REMEMBERED_PEERS) works.delete(works.keys().next().value!)
  }

  const attempt = (key: string, name: "tcp" | "utp", to: Endpoint) =>
    (name === "tcp" ? tcp : utp).connect(to).pipe(Effect.tap(() => remember(key, name)))

  const connect = (to: Endpoint): Effect.Effect<Connection, TransportError, Scope.Scope> => {
    const key = formatEndpoint(to)
    const [first, second] = works.get(key) === "tcp" ? ["tcp", "utp"] as const : ["utp", "tcp"] as const
    return attempt(key, first, to).pipe(
      Effect.catchAll((firstError) =>
        attempt(key, second, to).pipe(
          Effect.mapError((secondError) =>
            new TransportError({
              reason: "Connect",
              detail: `${first}: ${firstError.message}; ${second}: ${secondError.message}`,
              cause: secondError
            })
          )
        )
      )
    )
  }

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
