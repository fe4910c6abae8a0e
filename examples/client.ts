/**
 * Embedding bt's Client (many torrents, kept across restarts) in another Effect program that serves its own HTTP
 * route next to it.
 *
 *   npx tsx examples/client.ts STATE_DIR DOWNLOAD_DIR [HTTP_PORT]
 *   curl localhost:8080/torrents
 *   curl -X POST --data 'magnet:?xt=urn:btih:...' localhost:8080/torrents
 *
 * The program owns the edge: it picks the Node layers, its HTTP server and what its routes say. bt's Client reacts
 * through its events too: here every completed torrent is logged.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Option, Stream } from "effect"
import { createServer } from "node:http"
import * as Client from "../src/client/index.js"
import { nodeClientLayer } from "../src/cli/clientLayer.js"

/** `GET /torrents`: a short line per torrent. `POST /torrents` with a magnet link, URL or path as the body: adds it. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/torrents",
    Effect.gen(function*() {
      const client = yield* Client.Client
      const { torrents } = yield* client.list()
      return HttpServerResponse.unsafeJson(torrents.map((t) => ({
        id: t.id,
        name: t.name,
        status: t.status,
        percentDone: t.percentDone,
        rateDownload: t.rateDownload
      })))
    })
  ),
  HttpRouter.post(
    "/torrents",
    Effect.gen(function*() {
      const client = yield* Client.Client
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = (yield* request.text).trim()
      const added = yield* client.add(Client.AddSource.fromFilename(body))
      return HttpServerResponse.unsafeJson(added, { status: added.duplicate ? 200 : 201 })
    }).pipe(
      Effect.catchTag("ClientError", (error) => Effect.succeed(HttpServerResponse.text(`${error.message}\n`, { status: 400 })))
    )
  )
)

/** Logs each completed torrent: the Client's events, as an embedding program reacts to them. */
const logCompletions = Effect.gen(function*() {
  const client = yield* Client.Client
  yield* client.events.pipe(
    Stream.filter((event) => event._tag === "Completed"),
    Stream.runForEach((event) => Effect.logInfo(`torrent ${event.id} completed`)),
    Effect.forkScoped
  )
})

/** The whole program as one Layer: the Client on Node, the HTTP server on `httpPort` serving `router`. */
export const appLayer = (options: { stateDir: string; downloadDir: string; httpPort: number; peerPort?: number }) =>
  Layer.mergeAll(
    HttpServer.serve(router).pipe(HttpServer.withLogAddress),
    Layer.scopedDiscard(logCompletions)
  ).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.httpPort, host: "127.0.0.1" })),
    Layer.provideMerge(nodeClientLayer({
      stateDir: Option.some(options.stateDir),
      downloadDir: options.downloadDir,
      port: options.peerPort ?? 6881,
      dht: Option.none()
    }))
  )

if (import.meta.url === `file://${process.argv[1]}`) {
  const [stateDir, downloadDir, port] = process.argv.slice(2)
  if (stateDir === undefined || downloadDir === undefined) {
    console.error("usage: client.ts STATE_DIR DOWNLOAD_DIR [HTTP_PORT]")
    process.exit(1)
  }
  Layer.launch(appLayer({ stateDir, downloadDir, httpPort: Number(port ?? 8080) })).pipe(Effect.runPromise).catch(
    (error: unknown) => {
      console.error(`client example failed: ${error instanceof Error ? error.message : String(error)}`)
      process.exitCode = 1
    }
  )
}
