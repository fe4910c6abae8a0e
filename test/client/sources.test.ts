import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Client from "../../src/client/index.js"
import { makeTorrent } from "./fixtures.js"

const one = makeTorrent("one", 100_000, 16384, 7)

/** A web of three URLs: a torrent, a huge body and a 404; anything else never answers. */
const web = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request, url) => {
    const answer = (body: Uint8Array | null, status = 200) =>
      Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status })))
    switch (url.pathname) {
      case "/one.torrent":
        return answer(one.bytes)
      case "/huge.torrent":
        return answer(new Uint8Array(2 * 1024 * 1024))
      case "/missing.torrent":
        return answer(null, 404)
      default:
        return Effect.never
    }
  })
)

describe("adding by URL", () => {
  it.live("fetches a .torrent over HTTP, and refuses a 404, a body too large and a server that never answers", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      const added = yield* client.add(Client.AddSource.fromFilename("http://example.test/one.torrent"), { paused: true })
      expect(added.hashString).toBe(one.torrent.infoHashHex)
      const failures = yield* Effect.forEach(["missing", "huge", "slow"], (name) =>
        Effect.flip(client.add(Client.AddSource.fromFilename(`https://example.test/${name}.torrent`))))
      expect(failures.map((error) => error.reason)).toEqual(["Fetch", "Fetch", "Fetch"])
      expect(failures.map((error) => error.message)).toEqual([
        "cannot fetch https://example.test/missing.torrent: HTTP status 404",
        "cannot fetch https://example.test/huge.torrent: larger than 1048576 bytes",
        "cannot fetch https://example.test/slow.torrent: no answer within 200ms"
      ])
    }).pipe(Effect.provide(Client.layerTest({ fetch: { timeout: "200 millis", maxBytes: 1024 * 1024 } }).pipe(Layer.provide(web)))))
})
