import { describe, expect, it } from "@effect/vitest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Deferred, Effect, Exit, Layer, Scope } from "effect"
import * as http from "node:http"
import { nodeHttpServerLayer } from "../../src/cli/httpServer.js"

describe("the HTTP server bt daemon and bt stream serve on", () => {
  it.live("stops while a client that keeps polling on one keep-alive connection has a request in flight", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let requests = 0
      const router = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/poll",
          Effect.gen(function*() {
            if (++requests === 3) yield* Deferred.succeed(started, undefined)
            yield* Effect.sleep("50 millis")
            return HttpServerResponse.text("ok")
          })
        )
      )
      const scope = yield* Scope.make()
      const served = HttpServer.serve(router).pipe(Layer.provideMerge(nodeHttpServerLayer("127.0.0.1", 0, "HTTP", "--port")))
      const context = yield* Layer.buildWithScope(served, scope)
      const address = (yield* HttpServer.HttpServer.pipe(Effect.provide(context))).address
      if (address._tag !== "TcpAddress") throw new Error("not TCP")
      // A page polling the daemon: one keep-alive connection, a request every 20 ms, bounded to 10 s.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
      const until = Date.now() + 10_000
      let stop = false
      const poll = () => {
        if (stop || Date.now() > until) return
        http.get({ host: "127.0.0.1", port: address.port, path: "/poll", agent }, (res) => {
          res.resume()
          res.on("end", () => setTimeout(poll, 20))
        }).on("error", () => {})
      }
      poll()
      // Stopped while the third request is being answered: Node's close alone would wait for good.
      yield* Deferred.await(started)
      const closed = yield* Scope.close(scope, Exit.void).pipe(Effect.disconnect, Effect.timeout("5 seconds"), Effect.exit)
      stop = true
      agent.destroy()
      expect(Exit.isSuccess(closed)).toBe(true)
    }))

  it.live("answers 503 while it listens and its routes are not attached yet (a daemon starting), then serves them", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(nodeHttpServerLayer("127.0.0.1", 0, "the RPC", "--rpc-port"), scope)
      const server = yield* HttpServer.HttpServer.pipe(Effect.provide(context))
      if (server.address._tag !== "TcpAddress") throw new Error("not TCP")
      const port = server.address.port
      const get = () =>
        Effect.promise(() => fetch(`http://127.0.0.1:${port}/x`, { signal: AbortSignal.timeout(5_000) }).then(
          async (response) => ({ status: response.status, body: await response.text() }),
          (error: Error) => ({ status: 0, body: error.message })
        ))
      // Before: no listener, and the request was never answered (the fetch timed out).
      expect(yield* get()).toEqual({ status: 503, body: "503: Service Unavailable: the RPC is starting; try again\n" })
      const router = HttpRouter.empty.pipe(HttpRouter.get("/x", HttpServerResponse.text("ok")))
      yield* server.serve(router).pipe(Scope.extend(scope))
      expect(yield* get()).toEqual({ status: 200, body: "ok" })
      yield* Scope.close(scope, Exit.void)
    }))
})
