/**
 * The RPC on a real Node HTTP server bound to port 0, called by the remote client bt's commands use: the 409 dance,
 * auth, RPC errors surfacing as RemoteError, and the body cap on a real socket.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { createServer } from "node:http"
import { Client } from "../../src/client/index.js"
import * as Rpc from "../../src/rpc/index.js"
import { makeRemote, rpcUrl } from "../../src/rpc/remote.js"
import { makeFakeClient } from "./fakeClient.js"

/** Serves the RPC over a fake Client on 127.0.0.1:0; the URL of its endpoint. */
const serve = (auth: Option.Option<Rpc.Credentials>) =>
  Effect.gen(function*() {
    const router = yield* Rpc.make({
      sessionId: Rpc.makeSessionId(),
      auth,
      allowedHosts: Option.some([]),
      maxBodyBytes: 2048,
      version: "0.1.0",
      configDir: "/state",
      freeSpace: () => Effect.succeed({ free: 1, total: 2 }),
      close: Effect.void
    }).pipe(Effect.provideService(Client, makeFakeClient().client))
    yield* HttpServer.serveEffect(router)
    const server = yield* HttpServer.HttpServer
    assert(server.address._tag === "TcpAddress")
    return `http://127.0.0.1:${server.address.port}/transmission/rpc`
  })

/** Node's HTTP server on 127.0.0.1:0 and its HTTP client, for the whole test. */
const NodeHttp = Layer.merge(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }), NodeHttpClient.layer)

describe("the remote client against the RPC on a real server", () => {
  it.scopedLive("does the 409 dance and reads torrents", () =>
    Effect.gen(function*() {
      const url = yield* serve(Option.none())
      const remote = yield* makeRemote(url, undefined)
      const reply = yield* remote.call("torrent-get", { fields: ["id", "name"] })
      assert.deepStrictEqual(reply, { torrents: [{ id: 1, name: "torrent-1" }, { id: 2, name: "torrent-2" }] })
      const again = yield* remote.call("session-get", { fields: ["rpc-version"] })
      assert.deepStrictEqual(again, { "rpc-version": 17 })
    }).pipe(Effect.provide(NodeHttp)))

  it.scopedLive("reports wrong credentials, an RPC error and a body over the cap as RemoteErrors", () =>
    Effect.gen(function*() {
      const url = yield* serve(Option.some({ username: "u", password: "p" }))
      const stranger = yield* makeRemote(url, { username: "u", password: "x" })
      const refused = yield* Effect.flip(stranger.call("session-get"))
      assert.strictEqual(refused.reason, "Unauthorized")
      const remote = yield* makeRemote(url, { username: "u", password: "p" })
      const rejected = yield* Effect.flip(remote.call("torrent-rename-path", { ids: [1, 2], path: "a", name: "b" }))
      assert.strictEqual(rejected.reason, "Rejected")
      assert.match(rejected.message, /^torrent-rename-path: give exactly one torrent in ids$/)
      const huge = yield* Effect.flip(remote.call("torrent-add", { metainfo: "A".repeat(10_000) }))
      assert.strictEqual(huge.reason, "Http")
      assert.match(huge.message, /HTTP 413/)
      const after = yield* remote.call("session-stats")
      assert.strictEqual(after["torrentCount"], 2)
    }).pipe(Effect.provide(NodeHttp)))

  it.scopedLive("reports a daemon that is not there as Unreachable", () =>
    Effect.gen(function*() {
      const remote = yield* makeRemote("http://127.0.0.1:1/transmission/rpc", undefined)
      const error = yield* Effect.flip(remote.call("session-get"))
      assert.strictEqual(error.reason, "Unreachable")
      assert.match(error.message, /cannot reach the daemon at http:\/\/127\.0\.0\.1:1\/transmission\/rpc/)
    }).pipe(Effect.provide(NodeHttp)))

  it("reads --rpc as a URL or HOST:PORT", () => {
    assert.strictEqual(rpcUrl("http://127.0.0.1:9091"), "http://127.0.0.1:9091/transmission/rpc")
    assert.strictEqual(rpcUrl("nas:9091"), "http://nas:9091/transmission/rpc")
    assert.strictEqual(rpcUrl("https://nas/custom/rpc"), "https://nas/custom/rpc")
    assert.strictEqual(rpcUrl("ftp://nas"), undefined)
    assert.strictEqual(rpcUrl("http://"), undefined)
  })
})
