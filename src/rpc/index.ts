/**
 * Transmission's RPC over the Client: both dialects' codecs (envelope.ts, names.ts, args.ts), the method table
 * (methods.ts), the HTTP routes with their Host/auth/session-id checks (http.ts) and `/metrics` (metrics.ts).
 * No Node here: whoever mounts the router provides the HTTP server.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import { streamRouter } from "../stream/http.js"
import { Client } from "../client/Client.js"
import { MAX_IN_FLIGHT, refusal, router, type RpcHttpOptions } from "./http.js"
import { makeDispatch, type RpcEnvironment } from "./methods.js"
import { metricsText } from "./metrics.js"

export * from "./envelope.js"
export * from "./http.js"
export * from "./methods.js"
export * from "./metrics.js"
export * from "./names.js"
export * from "./RpcError.js"
export * from "./web.js"

export interface RpcOptions extends Omit<RpcHttpOptions, "sessionId">, Omit<RpcEnvironment, "sessionId"> {
  readonly sessionId: string
  /** Nodes in the DHT routing table, for `/metrics`; by default what the Client's stats say. */
  readonly dhtNodes?: Effect.Effect<number>
}

/**
 * The RPC routes over the Client in context, and `/stream/<info-hash>/<file-index>` (each running torrent's files
 * over HTTP, behind the same Host and auth checks; not the session id, which a player cannot echo).
 */
export const make = (options: RpcOptions): Effect.Effect<HttpRouter.HttpRouter, never, Client> =>
  Effect.gen(function*() {
    const client = yield* Client
    const gate = yield* Effect.makeSemaphore(MAX_IN_FLIGHT)
    const metrics = Effect.gen(function*() {
      const stats = yield* client.stats
      const { torrents } = yield* client.list("all")
      const dhtNodes = options.dhtNodes === undefined ? stats.dhtNodes : yield* options.dhtNodes
      return metricsText({ stats, torrents, dhtNodes })
    })
    const streams = streamRouter(client.running, (request) => refusal(options, request.headers, false))
    return HttpRouter.concat(router(options, makeDispatch(client, options), metrics, gate), streams)
  })
