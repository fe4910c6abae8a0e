import { assert, describe, it } from "@effect/vitest"
import { fileToBase64, makeRpc, RpcFailure } from "../../web/src/rpc.js"

/** A fake daemon: hands out session ids (a new one after `restart`) and answers torrent-get. */
const fakeDaemon = () => {
  let id = "first"
  const seen: Array<string> = []
  const fetcher = async (_url: unknown, init?: RequestInit): Promise<Response> => {
    const sent = new Headers(init?.headers).get("X-Transmission-Session-Id") ?? ""
    seen.push(sent)
    if (sent !== id) return new Response("409: Conflict", { status: 409, headers: { "X-Transmission-Session-Id": id } })
    const body = JSON.parse(String(init?.body)) as { method: string; tag: number }
    const reply = body.method === "torrent-get"
      ? { result: "success", arguments: { torrents: [] }, tag: body.tag }
      : { result: `unknown method: ${body.method}`, arguments: {}, tag: body.tag }
    return Response.json(reply)
  }
  return { fetcher: fetcher as typeof fetch, seen, restart: (next: string) => void (id = next) }
}

describe("web UI RPC client", () => {
  it("learns the session id from a 409, and again when the daemon renews it", async () => {
    const daemon = fakeDaemon()
    const rpc = makeRpc("/transmission/rpc", daemon.fetcher)
    assert.deepStrictEqual(await rpc.call("torrent-get", { fields: ["id"] }), { torrents: [] })
    await rpc.call("torrent-get", { fields: ["id"] })
    daemon.restart("second")
    await rpc.call("torrent-get", { fields: ["id"] })
    assert.deepStrictEqual(daemon.seen, ["", "first", "first", "first", "second"])
  })

  it("an RPC error, an HTTP error and an unreachable daemon are RpcFailures that say which", async () => {
    const daemon = fakeDaemon()
    const rpc = makeRpc("/transmission/rpc", daemon.fetcher)
    const failure = (p: Promise<unknown>) => p.then(() => assert.fail("expected a failure"), (e: unknown) => e as RpcFailure)
    const rpcError = await failure(rpc.call("no-such-method"))
    assert.strictEqual(rpcError.kind, "rpc")
    assert.match(rpcError.message, /unknown method: no-such-method/)
    const denied = makeRpc("/x", (async () => new Response("401: Unauthorized", { status: 401 })) as typeof fetch)
    assert.strictEqual((await failure(denied.call("session-get"))).kind, "http")
    const down = makeRpc("/x", (async () => Promise.reject(new TypeError("Failed to fetch"))) as typeof fetch)
    const gone = await failure(down.call("session-get"))
    assert.strictEqual(gone.kind, "network")
    assert.match(gone.message, /cannot reach the daemon/)
  })

  it("encodes a file as base64 for torrent-add's metainfo, across chunk boundaries", async () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff)
    assert.strictEqual(await fileToBase64(new Blob([bytes])), Buffer.from(bytes).toString("base64"))
  })
})
