import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Server } from "node:http"
import { UsageError } from "./UsageError.js"

/** How long requests in flight at shutdown may take to finish before their connections are closed. */
const SHUTDOWN_GRACE_MS = 1000
/** How often, meanwhile, connections that went idle are closed. */
const IDLE_SWEEP_MS = 50

/**
 * Closes `server`'s connections once it stops listening: idle ones at once and as they go idle, the rest after a
 * short grace. Node's `close` alone waits for every connection to end, and one that had a request in flight when it
 * was called stays open for as long as its client keeps sending on it: a web page or a remote GUI polling every few
 * seconds kept a stopping daemon alive for good.
 */
const closeConnections = (server: Server) =>
  Effect.sync(() => {
    server.closeIdleConnections()
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS)
    const deadline = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS)
    sweep.unref()
    deadline.unref()
    server.once("close", () => {
      clearInterval(sweep)
      clearTimeout(deadline)
    })
  })

/**
 * Node's HTTP server on `host:port`, loaded only by the commands that serve HTTP (so that `bt --help` and the
 * others do not pay for it). A port that cannot be had is one line naming `option`. Stopping it ends its
 * connections within about a second (see `closeConnections`).
 */
export const nodeHttpServerLayer = (host: string, port: number, what: string, option: string) =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      const [NodeHttpServer, { createServer }] = await Promise.all([
        import("@effect/platform-node/NodeHttpServer"),
        import("node:http")
      ])
      const server = createServer()
      // The server listens once its layer is built, and the routes are attached later (after the daemon's Client is
      // up): a request in between had no listener and was never answered (a client polling a starting daemon hung).
      // Until the routes' own listener is there, a request is answered 503, to be tried again.
      server.on("request", (_request, response) => {
        if (server.listenerCount("request") > 1) return
        response.writeHead(503, { "content-type": "text/plain", "retry-after": "1", connection: "close" })
        response.end(`503: Service Unavailable: ${what} is starting; try again\n`)
      })
      const served = NodeHttpServer.layer(() => server, { port, host }).pipe(
        Layer.mapError((error) => {
          const why = error.cause instanceof Error ? error.cause.message : String(error.cause)
          return new UsageError({ message: `cannot serve ${what} on ${host}:${port} (${why}); is ${option} taken?` })
        })
      )
      // Built after the server, so released before it: the connections start closing as the server's own release
      // (`close`, which waits for them) begins.
      const drained = Layer.scopedDiscard(Effect.addFinalizer(() => closeConnections(server)))
      return drained.pipe(Layer.provideMerge(served))
    })
  )
