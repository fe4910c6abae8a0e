import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { UsageError } from "./UsageError.js"

/**
 * Node's HTTP server on `host:port`, loaded only by the commands that serve HTTP (so that `bt --help` and the
 * others do not pay for it). A port that cannot be had is one line naming `option`.
 */
export const nodeHttpServerLayer = (host: string, port: number, what: string, option: string) =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      const [NodeHttpServer, { createServer }] = await Promise.all([
        import("@effect/platform-node/NodeHttpServer"),
        import("node:http")
      ])
      return NodeHttpServer.layer(() => createServer(), { port, host }).pipe(
        Layer.mapError((error) => {
          const why = error.cause instanceof Error ? error.cause.message : String(error.cause)
          return new UsageError({ message: `cannot serve ${what} on ${host}:${port} (${why}); is ${option} taken?` })
        })
      )
    })
  )
