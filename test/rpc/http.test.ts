/**
 * The RPC's HTTP app driven in-process (HttpApp.toWebHandler) over the Client double: the 409 handshake, Basic
 * auth, the Host check, body limits, bad bodies, both dialects end to end, and /metrics.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import * as Rpc from "../../src/rpc/index.js"
import { type FakeClient, makeFakeClient } from "./fakeClient.js"
import { Client } from "../../src/client/index.js"

const SESSION = "s3cr3t-session"

interface Setup {
  readonly fake: FakeClient
  readonly closed: { count: number }
  readonly handler: (request: Request) => Promise<Response>
}

const setup = (overrides: Partial<Rpc.RpcOptions> = {}, clientOverrides: Partial<Client["Type"]> = {}): Setup => {
  const made = makeFakeClient()
  const fake = { ...made, client: { ...made.client, ...clientOverrides } }
  const closed = { count: 0 }
  const options: Rpc.RpcOptions = {
    sessionId: SESSION,
    auth: Option.none(),
    allowedHosts: Option.some([]),
    maxBodyBytes: 4096,
    version: "0.1.0",
    configDir: "/state",
    freeSpace: (path) =>
      path === "/missing"
        ? Effect.fail(new Rpc.RpcError({ reason: "failed", message: "/missing: no such folder" }))
        : Effect.succeed({ free: 1000, total: 5000 }),
    close: Effect.sync(() => void closed.count++),
    dhtNodes: Effect.succeed(42),
    ...overrides
  }
  const router = Effect.runSync(Rpc.make(options).pipe(Effect.provideService(Client, fake.client)))
  return { fake, closed, handler: HttpApp.toWebHandler(HttpRouter.toHttpApp(router).pipe(Effect.runSync)) }
}

const URL_RPC = "http://127.0.0.1:9091/transmission/rpc"

const post = (
  s: Setup,
  body: unknown,
  headers: Record<string, string> = {}
): Promise<Response> =>
  s.handler(
    new Request(URL_RPC, {
      method: "POST",
      headers: { "x-transmission-session-id": SESSION, ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
  )

const rpc = async (s: Setup, body: unknown): Promise<any> => {
  const response = await post(s, body)
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toMatch(/application\/json/)
  return response.json()
}

describe("the CSRF handshake", () => {
  it("answers 409 with the session id to a request without it, then runs the retried request", async () => {
    const s = setup()
    const first = await s.handler(new Request(URL_RPC, { method: "POST", body: `{"method":"session-get"}` }))
    expect(first.status).toBe(409)
    const id = first.headers.get("x-transmission-session-id")
    expect(id).toBe(SESSION)
    expect(first.headers.get("x-transmission-rpc-version")).toBe("6.0.0")
    const second = await post(s, { method: "session-get" }, { "x-transmission-session-id": id! })
    expect(second.status).toBe(200)
    expect(((await second.json()) as any).result).toBe("success")
  })

  it("answers 409 to a wrong id and to a GET (how some clients fetch the id)", async () => {
    const s = setup()
    expect((await post(s, { method: "session-get" }, { "x-transmission-session-id": "stale" })).status).toBe(409)
    const get = await s.handler(new Request(URL_RPC))
    expect(get.status).toBe(409)
    expect(get.headers.get("x-transmission-session-id")).toBe(SESSION)
    expect(s.fake.calls).toEqual([])
  })
})

describe("Basic auth", () => {
  const auth = Option.some({ username: "alice", password: "pa:ss wörd" })
  const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`

  it("refuses a request without credentials or with wrong ones, before the handshake", async () => {
    const s = setup({ auth })
    const none = await s.handler(new Request(URL_RPC, { method: "POST", body: "{}" }))
    expect(none.status).toBe(401)
    expect(none.headers.get("www-authenticate")).toMatch(/^Basic/)
    expect(none.headers.get("x-transmission-session-id")).toBeNull()
    expect((await post(s, { method: "session-get" }, { authorization: basic("alice:wrong") })).status).toBe(401)
    expect((await post(s, { method: "session-get" }, { authorization: "Basic !!!" })).status).toBe(401)
    expect((await post(s, { method: "session-get" }, { authorization: "Bearer x" })).status).toBe(401)
  })

  it("accepts the right credentials (a password may hold a colon and non-ASCII)", async () => {
    const s = setup({ auth })
    const ok = await post(s, { method: "session-get" }, { authorization: basic("alice:pa:ss wörd") })
    expect(ok.status).toBe(200)
  })
})

describe("the Host check", () => {
  it("allows IP literals, localhost and the names given; refuses others with 421", async () => {
    const s = setup({ allowedHosts: Option.some(["nas.lan"]) })
    for (const host of ["127.0.0.1:9091", "[::1]:9091", "localhost:9091", "localhost", "NAS.lan:9091", "10.0.0.2"]) {
      expect((await post(s, { method: "session-get" }, { host })).status, host).toBe(200)
    }
    for (const host of ["evil.example:9091", "127.0.0.1.evil.example", "localhost.evil"]) {
      expect((await post(s, { method: "session-get" }, { host })).status, host).toBe(421)
    }
  })

  it("checks nothing when not asked to (bound to a public address)", async () => {
    const s = setup({ allowedHosts: Option.none() })
    expect((await post(s, { method: "session-get" }, { host: "evil.example" })).status).toBe(200)
  })
})

describe("bad bodies", () => {
  it("answers malformed JSON, a missing method, an unknown method and wrong types with an RPC error", async () => {
    const s = setup()
    expect((await rpc(s, `{"method": "torrent-get", "argu`)).result).toMatch(/^malformed JSON/)
    expect((await rpc(s, `{"arguments": {}}`)).result).toMatch(/^invalid request/)
    expect((await rpc(s, { method: "blocklist-update", tag: 4 }))).toEqual({
      result: "unknown method: blocklist_update",
      arguments: {},
      tag: 4
    })
    const wrong = await rpc(s, { method: "torrent-get", arguments: { fields: "id" } })
    expect(wrong.result).toMatch(/^torrent_get: .*fields/)
    const badIds = await rpc(s, { method: "torrent-stop", arguments: { ids: [{ x: 1 }] } })
    expect(badIds.result).toMatch(/ids/)
    expect(s.fake.calls).toEqual([])
  })

  it("refuses a body over the limit with 413 and an RPC error", async () => {
    const s = setup()
    const response = await post(s, { method: "torrent-add", arguments: { metainfo: "A".repeat(5000) } })
    expect(response.status).toBe(413)
    expect(((await response.json()) as any).result).toMatch(/over 4096 bytes/)
  })

  it("answers JSON-RPC errors with the reserved codes", async () => {
    const s = setup()
    const parse = await rpc(s, `{"jsonrpc":"2.0","method":`)
    expect(parse.error.code).toBe(-32700)
    const unknown = await rpc(s, { jsonrpc: "2.0", method: "nope", id: 1 })
    expect(unknown).toMatchObject({ jsonrpc: "2.0", id: 1, error: { code: -32601 } })
    const params = await rpc(s, { jsonrpc: "2.0", method: "torrent_set", params: { ids: 1, peer_limit: -1 }, id: 2 })
    expect(params.error.code).toBe(-32602)
    expect(params.result).toBeUndefined()
  })
})

describe("a flood of requests", () => {
  it("answers past the in-flight limit with 503 and an RPC error at once, then serves again", async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const s = setup({}, {
      stats: Effect.promise(() => held).pipe(Effect.zipRight(makeFakeClient().client.stats))
    })
    const slow = Array.from({ length: Rpc.MAX_IN_FLIGHT }, () => post(s, { method: "session-stats" }))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const refused = await post(s, { method: "session-stats" })
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as any).result).toMatch(/^busy/)
    release()
    for (const response of await Promise.all(slow)) expect(response.status).toBe(200)
    expect((await post(s, { method: "session-stats" })).status).toBe(200)
  })
})

describe("methods, classic dialect", () => {
  it("torrent-get: the fields asked for in classic names, unknown fields ignored, ids by number and hash", async () => {
    const s = setup()
    const hash2 = s.fake.torrents[1]!.hashString
    const reply = await rpc(s, {
      method: "torrent-get",
      arguments: { ids: [1, hash2], fields: ["id", "hashString", "percentDone", "downloadDir", "noSuchField", "status"] },
      tag: 9
    })
    expect(reply).toEqual({
      result: "success",
      tag: 9,
      arguments: {
        torrents: [
          { id: 1, hashString: s.fake.torrents[0]!.hashString, percentDone: 0.5, downloadDir: "/data", status: 4 },
          { id: 2, hashString: hash2, percentDone: 0.5, downloadDir: "/data", status: 4 }
        ]
      }
    })
    expect(s.fake.calls[0]).toEqual(["list", [1, hash2], {}])
  })

  it("torrent-get: format table, and recently-active with the removed ids", async () => {
    const s = setup()
    const reply = await rpc(s, {
      method: "torrent-get",
      arguments: { ids: "recently-active", fields: ["id", "name"], format: "table" }
    })
    expect(reply.arguments).toEqual({ torrents: [["id", "name"], [1, "torrent-1"], [2, "torrent-2"]], removed: [7] })
  })

  it("torrent-get: files, fileStats, wanted, priorities, limits in kB/s, dates in seconds", async () => {
    const s = setup()
    const reply = await rpc(s, {
      method: "torrent-get",
      arguments: {
        ids: 1,
        fields: ["files", "fileStats", "wanted", "priorities", "downloadLimit", "uploadLimited", "addedDate", "seedRatioMode"]
      }
    })
    expect(reply.arguments.torrents[0]).toEqual({
      files: [
        { name: "torrent-1/a.bin", length: 600_000, bytesCompleted: 500_000, beginPiece: 0, endPiece: 3, streamUrl: `/stream/${"1".padStart(40, "a")}/0` },
        { name: "torrent-1/b.bin", length: 400_000, bytesCompleted: 0, beginPiece: 2, endPiece: 4, streamUrl: `/stream/${"1".padStart(40, "a")}/1` }
      ],
      fileStats: [
        { bytesCompleted: 500_000, wanted: true, priority: 0 },
        { bytesCompleted: 0, wanted: false, priority: 1 }
      ],
      wanted: [1, 0],
      priorities: [0, 1],
      downloadLimit: 100,
      uploadLimited: true,
      addedDate: 1_700_000_000,
      seedRatioMode: 0
    })
    expect(s.fake.calls[0]).toEqual(["list", [1], { files: true }])
  })

  it("torrent-add: a magnet by filename, metainfo in base64, options passed on, duplicates reported", async () => {
    const s = setup()
    const added = await rpc(s, {
      method: "torrent-add",
      arguments: { filename: "magnet:?xt=urn:btih:" + "b".repeat(40), paused: true, "download-dir": "/x", labels: ["a"] }
    })
    expect(added.arguments["torrent-added"]).toMatchObject({ id: 3, name: "torrent-3" })
    expect(added.arguments["torrent-added"].hashString).toHaveLength(40)
    expect(s.fake.calls[0]).toEqual([
      "add",
      { _tag: "Magnet", uri: "magnet:?xt=urn:btih:" + "b".repeat(40) },
      { paused: true, downloadDir: "/x", labels: ["a"] }
    ])
    await rpc(s, { method: "torrent-add", arguments: { metainfo: Buffer.from("d4:infode").toString("base64") } })
    expect(s.fake.calls[1]![1]).toEqual({ _tag: "Metainfo", bytes: new Uint8Array(Buffer.from("d4:infode")) })
    const dup = await rpc(s, { method: "torrent-add", arguments: { filename: s.fake.torrents[0]!.magnetLink } })
    expect(dup.result).toBe("success")
    expect(dup.arguments["torrent-duplicate"]).toMatchObject({ id: 1 })
    const bad = await rpc(s, { method: "torrent-add", arguments: { filename: "/tmp/notes.txt" } })
    expect(bad.result).toBe("/tmp/notes.txt is not a torrent")
    expect((await rpc(s, { method: "torrent-add", arguments: {} })).result).toMatch(/filename or metainfo/)
  })

  it("torrent-set: kB/s to bytes, modes to names, file choices and location", async () => {
    const s = setup()
    const reply = await rpc(s, {
      method: "torrent-set",
      arguments: {
        ids: [2],
        downloadLimit: 250,
        downloadLimited: true,
        seedRatioMode: 1,
        "files-unwanted": [0],
        "peer-limit": 10,
        location: "/elsewhere"
      }
    })
    expect(reply.result).toBe("success")
    expect(s.fake.calls).toEqual([
      // File choices as the RPC numbers them (padding files not listed): the Client renumbers them per torrent.
      ["set", [2], { downloadLimit: 250_000, downloadLimited: true, seedRatioMode: "single", filesUnwanted: [0], peerLimit: 10 }],
      ["setLocation", [2], "/elsewhere", false]
    ])
    const refused = await rpc(s, { method: "torrent-set", arguments: { ids: 1, "peer-limit": 0 } })
    expect(refused.result).toBe("peer-limit must be at least 1")
  })

  it("the action methods, remove, set-location and queue moves reach the Client with their selectors", async () => {
    const s = setup()
    await rpc(s, { method: "torrent-start", arguments: { ids: 1 } })
    await rpc(s, { method: "torrent-start-now" })
    await rpc(s, { method: "torrent-stop", arguments: { ids: "recently-active" } })
    await rpc(s, { method: "torrent-verify", arguments: { ids: ["a".repeat(40)] } })
    await rpc(s, { method: "torrent-reannounce", arguments: { ids: [] } })
    await rpc(s, { method: "torrent-remove", arguments: { ids: [2], "delete-local-data": true } })
    await rpc(s, { method: "torrent-set-location", arguments: { ids: 1, location: "/new", move: true } })
    await rpc(s, { method: "queue-move-top", arguments: { ids: 2 } })
    await rpc(s, { method: "queue-move-down", arguments: { ids: 1 } })
    expect(s.fake.calls).toEqual([
      ["start", [1]],
      ["startNow", "all"],
      ["stop", "recently-active"],
      ["verify", ["a".repeat(40)]],
      ["reannounce", []],
      ["remove", [2], { deleteData: true }],
      ["setLocation", [1], "/new", true],
      ["queueMove", [2], "top"],
      ["queueMove", [1], "down"]
    ])
    expect(await rpc(s, { method: "torrent-rename-path", arguments: { ids: 1, path: "a", name: "b" } })).toEqual({
      result: "success",
      arguments: { id: 1, path: "a", name: "b" }
    })
    expect(s.fake.calls.at(-1)).toEqual(["renamePath", 1, "a", "b"])
    expect((await rpc(s, { method: "torrent-rename-path", arguments: { ids: [1, 2], path: "a", name: "b" } })).result)
      .toBe("give exactly one torrent in ids")
  })

  it("session-get: versions transmission-remote 3.00 accepts, classic names, kB/s; fields picks", async () => {
    const s = setup()
    const all = (await rpc(s, { method: "session-get" })).arguments
    expect(all["rpc-version"]).toBe(17)
    expect(all["rpc-version-minimum"]).toBeLessThanOrEqual(16)
    expect(all["rpc-version-semver"]).toBe("5.3.0")
    expect(all["session-id"]).toBe(SESSION)
    expect(all["download-dir"]).toBe("/data")
    expect(all["speed-limit-down"]).toBe(100)
    expect(all["seedRatioLimited"]).toBe(false)
    expect(all.units["speed-bytes"]).toBe(1000)
    expect(all.version).toMatch(/^0\.1\.0/)
    const some = (await rpc(s, { method: "session-get", arguments: { fields: ["version", "peer-port"] } })).arguments
    expect(some).toEqual({ version: "0.1.0 (bt)", "peer-port": 51413 })
  })

  it("session-set, session-stats, free-space, port-test, session-close", async () => {
    const s = setup()
    await rpc(s, { method: "session-set", arguments: { "speed-limit-down": 50, "speed-limit-down-enabled": true, "rpc-version": 1 } })
    expect(s.fake.calls).toEqual([["setSession", { speedLimitDown: 50_000, speedLimitDownEnabled: true }]])
    const stats = (await rpc(s, { method: "session-stats" })).arguments
    expect(stats).toMatchObject({ downloadSpeed: 2468, torrentCount: 2, "cumulative-stats": { downloadedBytes: 6 } })
    expect((await rpc(s, { method: "free-space", arguments: { path: "/data" } })).arguments).toEqual({
      path: "/data",
      "size-bytes": 1000,
      total_size: 5000
    })
    expect((await rpc(s, { method: "free-space", arguments: { path: "/missing" } })).result).toMatch(/no such folder/)
    const test = await rpc(s, { method: "port-test" })
    expect(test.result).toBe("success")
    expect(test.arguments["port-is-open"]).toBe(false)
    expect(test.arguments["bt-port-test"]).toMatch(/not known to be open.*no outside service|does not ask an outside service/)
    expect((await rpc(s, { method: "session-close" })).result).toBe("success")
    expect(s.closed.count).toBe(1)
  })
})

describe("reachability: port mapping and LSD in session-get, port-test from what is known", () => {
  const mapped: Rpc.Reachability = {
    portMapping: true,
    lsd: true,
    mapping: {
      state: "mapped",
      method: "pcp",
      externalAddress: "203.0.113.7",
      ports: [
        { protocol: "tcp", internalPort: 51413, externalPort: 52413, lifetime: 3600 },
        { protocol: "udp", internalPort: 51413, externalPort: 52413, lifetime: 3600 }
      ]
    },
    acceptedPeers: 0,
    mappingRejected: { notFromGateway: 2, ssdpMisdirected: 1, ssdpMalformed: 0, oversized: 3 }
  }
  const off: Rpc.Reachability = { portMapping: false, lsd: false, mapping: { state: "off", ports: [] }, acceptedPeers: 0 }

  it("session-get carries the mapped address and ports (bt-port-mapping) in both dialects", async () => {
    const s = setup({ reachability: Effect.succeed(mapped) })
    const classic = (await rpc(s, { method: "session-get" })).arguments
    expect(classic["port-forwarding-enabled"]).toBe(true)
    expect(classic["lpd-enabled"]).toBe(true)
    expect(classic["bt-port-mapping"]).toEqual({
      state: "mapped",
      method: "pcp",
      "external-address": "203.0.113.7",
      ports: [
        { protocol: "tcp", "internal-port": 51413, "external-port": 52413, lifetime: 3600 },
        { protocol: "udp", "internal-port": 51413, "external-port": 52413, lifetime: 3600 }
      ],
      rejected: { "not-from-gateway": 2, "ssdp-misdirected": 1, "ssdp-malformed": 0, oversized: 3 }
    })
    const snake = await rpc(s, { jsonrpc: "2.0", method: "session_get", params: { fields: ["bt_port_mapping"] }, id: 1 })
    expect(snake.result.bt_port_mapping.external_address).toBe("203.0.113.7")
    expect(snake.result.bt_port_mapping.ports[0].external_port).toBe(52413)
    expect(snake.result.bt_port_mapping.rejected).toEqual({
      not_from_gateway: 2,
      ssdp_misdirected: 1,
      ssdp_malformed: 0,
      oversized: 3
    })
  })

  it("port-test: open when mapped, open once a peer came in, not known otherwise", async () => {
    const viaMapping = (await rpc(setup({ reachability: Effect.succeed(mapped) }), { method: "port-test" })).arguments
    expect(viaMapping["port-is-open"]).toBe(true)
    expect(viaMapping["bt-port-test"]).toMatch(/203\.0\.113\.7:52413.*51413.*pcp/)
    const unavailable = { ...mapped, mapping: { state: "unavailable" as const, ports: [], error: "no gateway" } }
    const came = (await rpc(setup({ reachability: Effect.succeed({ ...unavailable, acceptedPeers: 3 }) }), { method: "port-test" }))
    expect(came.arguments).toEqual({ "port-is-open": true, "bt-port-test": "3 peers have connected to us" })
    const none = (await rpc(setup({ reachability: Effect.succeed(unavailable) }), { method: "port-test" })).arguments
    expect(none["port-is-open"]).toBe(false)
    const quiet = (await rpc(setup({ reachability: Effect.succeed(off) }), { method: "session-get" })).arguments
    expect(quiet["port-forwarding-enabled"]).toBe(false)
    expect(quiet["lpd-enabled"]).toBe(false)
    expect(quiet["bt-port-mapping"]).toEqual({ state: "off", ports: [] })
    expect(quiet["bt-external-address"]).toBeUndefined()
  })

  it("session-get carries our own addresses (bt-external-address) in both dialects", async () => {
    const externalAddresses = { ipv4: { address: "203.0.113.7", source: "gateway" }, local: ["127.0.0.1"] }
    const s = setup({ reachability: Effect.succeed({ ...mapped, externalAddresses }) })
    const classic = (await rpc(s, { method: "session-get", arguments: { fields: ["bt-external-address"] } })).arguments
    expect(classic).toEqual({ "bt-external-address": externalAddresses })
    const snake = await rpc(s, { jsonrpc: "2.0", method: "session_get", params: { fields: ["bt_external_address"] }, id: 1 })
    expect(snake.result).toEqual({ bt_external_address: externalAddresses })
  })
})

describe("methods, JSON-RPC 2.0 dialect (Transmission 4.1)", () => {
  it("answers in snake_case with rpc_version 18", async () => {
    const s = setup()
    const session = await rpc(s, { jsonrpc: "2.0", method: "session_get", params: { fields: ["rpc_version"] }, id: 1 })
    expect(session).toEqual({ jsonrpc: "2.0", result: { rpc_version: 18 }, id: 1 })
    const get = await rpc(s, { jsonrpc: "2.0", method: "torrent_get", params: { ids: 1, fields: ["hash_string", "percent_done"] }, id: "x" })
    expect(get.result.torrents).toEqual([{ hash_string: s.fake.torrents[0]!.hashString, percent_done: 0.5 }])
  })

  it("answers a notification with 204 and no body, after running it", async () => {
    const s = setup()
    const response = await post(s, { jsonrpc: "2.0", method: "torrent_stop", params: { ids: [1] } })
    expect(response.status).toBe(204)
    expect(await response.text()).toBe("")
    expect(s.fake.calls).toEqual([["stop", [1]]])
  })

  it("answers a batch with the replies to its requests (not its notifications)", async () => {
    const s = setup()
    const replies = await rpc(s, [
      { jsonrpc: "2.0", method: "torrent_start", params: { ids: 1 } },
      { jsonrpc: "2.0", method: "session_stats", id: 1 },
      { jsonrpc: "2.0", method: "nope", id: 2 }
    ])
    expect(replies).toHaveLength(2)
    expect(replies[0]).toMatchObject({ id: 1, result: { torrent_count: 2 } })
    expect(replies[1]).toMatchObject({ id: 2, error: { code: -32601 } })
  })
})

describe("/metrics", () => {
  it("serves Prometheus text behind the Host and auth checks but without the session id", async () => {
    const s = setup()
    const response = await s.handler(new Request("http://127.0.0.1:9091/metrics"))
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/)
    const text = await response.text()
    expect(text).toContain("# TYPE bt_download_rate_bytes gauge\nbt_download_rate_bytes 2468\n")
    expect(text).toContain(`bt_torrents{state="downloading"} 2\n`)
    expect(text).toContain(`bt_torrents{state="seeding"} 0\n`)
    expect(text).toContain("bt_peers_connected 4\n")
    expect(text).toContain("# TYPE bt_disk_queue_bytes gauge\nbt_disk_queue_bytes 32768\n")
    expect(text).toContain("bt_dht_nodes 42\n")
    expect(text).toContain("bt_downloaded_bytes_total 2\n")
    const foreign = await s.handler(new Request("http://127.0.0.1:9091/metrics", { headers: { host: "evil.example" } }))
    expect(foreign.status).toBe(421)
  })
})
