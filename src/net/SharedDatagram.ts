import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { Datagram, type DatagramSocket, type Endpoint } from "./Datagram.js"
import { formatEndpoint } from "./endpoint.js"

interface Route {
  readonly accepts: ((bytes: Uint8Array) => boolean) | undefined
  readonly onMessage: (bytes: Uint8Array, from: Endpoint) => void
}

interface Shared {
  readonly socket: DatagramSocket
  readonly scope: Scope.CloseableScope
  /** Claiming routes first, in bind order; the one that takes everything else (if any) last. */
  routes: ReadonlyArray<Route>
}

/**
 * `Datagram` on top of another, where binds to the same address share one socket (BEP 29: uTP and the DHT on one
 * UDP port, the port of the TCP listener). Each datagram goes to the first bind whose `accepts` claims it, else to
 * the bind without `accepts`, else nowhere. The socket closes when its last bind's scope does.
 *
 * Binds to port 0 get a fresh socket, which later binds to the port it got share.
 */
export const make: Effect.Effect<Datagram["Type"], never, Datagram> = Effect.gen(function*() {
  const inner = yield* Datagram
  const sockets = new Map<string, Shared>()
  const lock = yield* Effect.makeSemaphore(1)

  const keyOf = (family: string, host: string | undefined, port: number) =>
    `${family}/${formatEndpoint({ host: host ?? "", port })}`

  const dispatch = (shared: () => Shared | undefined) => (bytes: Uint8Array, from: Endpoint): void => {
    const routes = shared()?.routes ?? []
    for (const route of routes) {
      if (route.accepts === undefined || route.accepts(bytes)) return route.onMessage(bytes, from)
    }
  }

  const attach = (key: string, shared: Shared, route: Route): Effect.Effect<DatagramSocket, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.sync(() => {
        // Claiming routes before the catch-all one, whatever the bind order.
        shared.routes = route.accepts === undefined ? [...shared.routes, route] : [route, ...shared.routes]
        return shared.socket
      }),
      () =>
        Effect.suspend(() => {
          shared.routes = shared.routes.filter((r) => r !== route)
          if (shared.routes.length > 0) return Effect.void
          sockets.delete(key)
          return Scope.close(shared.scope, Exit.void)
        })
    )

  const bind: Datagram["Type"]["bind"] = (options, onMessage) =>
    lock.withPermits(1)(Effect.gen(function*() {
      const route: Route = { accepts: options.accepts, onMessage }
      const existing = options.port === undefined || options.port === 0
        ? undefined
        : sockets.get(keyOf(options.family, options.host, options.port))
      if (existing !== undefined) {
        if (existing.routes.some((r) => r.accepts === undefined) && route.accepts === undefined) {
          // Two binds that both want everything cannot share; the second fails as an unshared bind would.
          return yield* inner.bind(options, onMessage)
        }
        return yield* attach(keyOf(options.family, options.host, options.port!), existing, route)
      }
      const scope = yield* Scope.make()
      let shared: Shared | undefined
      const { accepts: _, ...unshared } = options
      const socket = yield* inner.bind(unshared, dispatch(() => shared)).pipe(
        Scope.extend(scope),
        Effect.tapError(() => Scope.close(scope, Exit.void))
      )
      shared = { socket, scope, routes: [] }
      const key = keyOf(options.family, options.host, socket.local.port)
      sockets.set(key, shared)
      return yield* attach(key, shared, route)
    }))

  return Datagram.of({ bind })
})

/** Shares sockets of the `Datagram` it is given (see `make`). */
export const layer: Layer.Layer<Datagram, never, Datagram> = Layer.effect(Datagram, make)
