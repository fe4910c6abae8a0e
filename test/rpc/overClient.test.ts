/**
 * The RPC over the real Client (its memory layer), driven in-process: what a Transmission UI does in its first
 * minute (add by metainfo and magnet, list with the fields it polls, set a limit, stop, remove), in both dialects.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Client from "../../src/client/index.js"
import * as Rpc from "../../src/rpc/index.js"
import { createHash } from "node:crypto"
import { encode } from "../../src/bencode/index.js"
import { makeTorrent } from "../client/fixtures.js"

const one = makeTorrent("one", 300_000, 32768, 1)

// a.bin, a padding file up to the piece boundary, b.bin: the Client numbers them 0, 1, 2; the RPC lists two.
const pieceLength = 32768
const paddedContent = Buffer.concat([Buffer.alloc(20_000, 1), Buffer.alloc(pieceLength - 20_000), Buffer.alloc(10_000, 2)])
const metainfo = Buffer.from(encode({
  info: {
    name: "padded",
    "piece length": pieceLength,
    pieces: Buffer.concat([0, 1].map((i) =>
      createHash("sha1").update(paddedContent.subarray(i * pieceLength, (i + 1) * pieceLength)).digest()
    )),
    files: [
      { length: 20_000, path: ["a.bin"] },
      { attr: "p", length: pieceLength - 20_000, path: [".pad", String(pieceLength - 20_000)] },
      { length: 10_000, path: ["b.bin"] }
    ]
  }
}))
const two = makeTorrent("two", 200_000, 16384, 2)

/** A request handler for the RPC over the Client in context, and a call helper that does the 409 dance. */
const rpcOverClient = Effect.gen(function*() {
  const router = yield* Rpc.make({
    sessionId: "sid",
    auth: Option.none(),
    allowedHosts: Option.some([]),
    maxBodyBytes: Rpc.defaultMaxBodyBytes,
    version: "0.1.0",
    configDir: "/state",
    freeSpace: () => Effect.succeed({ free: 0, total: 0 }),
    close: Effect.void
  })
  const handler = HttpApp.toWebHandler(yield* HttpRouter.toHttpApp(router))
  return (body: unknown) =>
    Effect.promise(async () => {
      const request = (id: string) =>
        handler(new Request("http://127.0.0.1:9091/transmission/rpc", {
          method: "POST",
          headers: { "x-transmission-session-id": id },
          body: JSON.stringify(body)
        }))
      let response = await request("")
      if (response.status === 409) response = await request(response.headers.get("x-transmission-session-id")!)
      return (await response.json()) as any
    })
})

const UI_FIELDS = [
  "id", "name", "status", "hashString", "percentDone", "totalSize", "sizeWhenDone", "leftUntilDone", "rateDownload",
  "rateUpload", "eta", "uploadRatio", "peersConnected", "queuePosition", "labels", "metadataPercentComplete",
  "downloadLimit", "downloadLimited", "error", "errorString", "isFinished", "isStalled", "files", "fileStats"
]

describe("the RPC over the Client", () => {
  it.scoped("adds, lists, limits, stops and removes through the classic dialect", () =>
    Effect.gen(function*() {
      const call = yield* rpcOverClient
      const added = yield* call({
        method: "torrent-add",
        arguments: { metainfo: Buffer.from(one.bytes).toString("base64"), paused: true, labels: ["x"] }
      })
      expect(added).toEqual({
        result: "success",
        arguments: { "torrent-added": { id: 1, name: "one", hashString: one.torrent.infoHashHex } }
      })
      const magnet = `magnet:?xt=urn:btih:${two.torrent.infoHashHex}&dn=two`
      expect((yield* call({ method: "torrent-add", arguments: { filename: magnet } })).arguments["torrent-added"].id)
        .toBe(2)
      const dup = yield* call({ method: "torrent-add", arguments: { filename: magnet } })
      expect(dup.arguments["torrent-duplicate"]).toMatchObject({ id: 2 })

      yield* call({ method: "torrent-set", arguments: { ids: [1], downloadLimit: 64, downloadLimited: true } })
      const got = yield* call({ method: "torrent-get", arguments: { fields: UI_FIELDS } })
      const [first, second] = got.arguments.torrents
      expect(first).toMatchObject({
        id: 1, name: "one", status: 0, hashString: one.torrent.infoHashHex, totalSize: 300_000, labels: ["x"],
        downloadLimit: 64, downloadLimited: true, queuePosition: 0, metadataPercentComplete: 1
      })
      expect(first.files).toEqual([{
        name: "one/data.bin",
        length: 300_000,
        bytesCompleted: 0,
        beginPiece: 0,
        endPiece: 10,
        streamUrl: `/stream/${one.torrent.infoHashHex}/0`
      }])
      expect(first.fileStats).toEqual([{ bytesCompleted: 0, wanted: true, priority: 0 }])
      expect(second).toMatchObject({ id: 2, name: "two", metadataPercentComplete: 0 })
      expect(Object.keys(first).sort()).toEqual([...UI_FIELDS].sort())

      yield* call({ method: "torrent-stop", arguments: { ids: [two.torrent.infoHashHex] } })
      const table = yield* call({ method: "torrent-get", arguments: { fields: ["id", "status"], format: "table" } })
      expect(table.arguments.torrents).toEqual([["id", "status"], [1, 0], [2, 0]])

      const missing = yield* call({ method: "torrent-get", arguments: { ids: [99], fields: ["id"] } })
      expect(missing.arguments.torrents).toEqual([])
      yield* call({ method: "torrent-remove", arguments: { ids: [1, 2] } })
      expect((yield* call({ method: "torrent-get", arguments: { fields: ["id"] } })).arguments.torrents).toEqual([])
    }).pipe(Effect.provide(Client.layerTest())))

  it.scoped("answers Transmission 4.1's JSON-RPC with snake_case, and settings round-trip in kB/s", () =>
    Effect.gen(function*() {
      const call = yield* rpcOverClient
      const set = yield* call({
        jsonrpc: "2.0",
        method: "session_set",
        params: { speed_limit_down: 300, speed_limit_down_enabled: true, download_queue_size: 3 },
        id: 1
      })
      expect(set).toEqual({ jsonrpc: "2.0", result: {}, id: 1 })
      const got = yield* call({
        jsonrpc: "2.0",
        method: "session_get",
        params: { fields: ["speed_limit_down", "speed_limit_down_enabled", "download_queue_size", "rpc_version"] },
        id: 2
      })
      expect(got.result).toEqual({
        speed_limit_down: 300, speed_limit_down_enabled: true, download_queue_size: 3, rpc_version: 18
      })
      const session = yield* Effect.flatMap(Client.Client, (client) => client.session)
      expect(session.speedLimitDown).toBe(300_000)
      const bad = yield* call({ jsonrpc: "2.0", method: "torrent_add", params: { filename: "/nowhere.torrent" }, id: 3 })
      expect(bad.error.code).toBe(1)
      expect(bad.error.message).toMatch(/nowhere\.torrent/)
    }).pipe(Effect.provide(Client.layerTest())))

  it.scoped("session-set refuses to change what the peer session fixed at its start (port, DHT, PEX)", () =>
    Effect.gen(function*() {
      const call = yield* rpcOverClient
      const fields = ["encryption", "peer-port", "dht-enabled", "pex-enabled", "speed-limit-down"]
      const before = (yield* call({ method: "session-get", arguments: { fields } })).arguments
      // The same values again (what a settings form sends back) are fine.
      expect((yield* call({ method: "session-set", arguments: before })).result).toBe("success")
      const changes = [
        ["peer-port", before["peer-port"] + 1],
        ["dht-enabled", !before["dht-enabled"]],
        ["pex-enabled", !before["pex-enabled"]]
      ] as const
      for (const [field, value] of changes) {
        const refused = yield* call({ method: "session-set", arguments: { [field]: value, "speed-limit-down": 7 } })
        expect(refused.result, field).toMatch(/cannot change while it runs/)
      }
      // Nothing of a refused patch was applied.
      expect((yield* call({ method: "session-get", arguments: { fields } })).arguments).toEqual(before)
    }).pipe(Effect.provide(Client.layerTest())))

  it.scoped("numbers files as `files` lists them: a BEP 47 padding file is neither listed nor counted", () =>
    Effect.gen(function*() {
      const call = yield* rpcOverClient
      yield* call({ method: "torrent-add", arguments: { metainfo: metainfo.toString("base64"), paused: true } })
      const get = Effect.map(
        call({ method: "torrent-get", arguments: { ids: [1], fields: ["files", "fileStats", "wanted", "priorities", "file-count"] } }),
        (answer) => answer.arguments.torrents[0]
      )
      const before = yield* get
      expect(before.files.map((f: { name: string }) => f.name)).toEqual(["padded/a.bin", "padded/b.bin"])
      expect(before["file-count"]).toBe(2)
      expect(before.wanted).toEqual([1, 1])

      // The second listed file is b.bin (the Client's file 2), not the padding file.
      yield* call({ method: "torrent-set", arguments: { ids: [1], "files-unwanted": [1], "priority-high": [0] } })
      const after = yield* get
      expect(after.wanted).toEqual([1, 0])
      // A place past the list chooses nothing (not every file, as an empty list would).
      yield* call({ method: "torrent-set", arguments: { ids: [1], "files-unwanted": [2] } })
      expect((yield* get).wanted).toEqual([1, 0])
      yield* call({ method: "torrent-set", arguments: { ids: [1], "files-wanted": [5] } })
      expect((yield* get).wanted).toEqual([1, 0])
      expect(after.priorities).toEqual([1, 0])
      expect(after.fileStats.map((f: { wanted: boolean }) => f.wanted)).toEqual([true, false])
    }).pipe(Effect.provide(Client.layerTest())))

  it.scoped("torrent-add's file choices number files as `files` lists them too", () =>
    Effect.gen(function*() {
      const call = yield* rpcOverClient
      yield* call({
        method: "torrent-add",
        arguments: { metainfo: metainfo.toString("base64"), paused: true, "files-unwanted": [1], "priority-low": [0] }
      })
      const { torrents } = (yield* call({
        method: "torrent-get",
        arguments: { ids: [1], fields: ["wanted", "priorities", "fileStats"] }
      })).arguments
      // The second listed file is b.bin (the Client's file 2), not the padding file.
      expect(torrents[0].wanted).toEqual([1, 0])
      expect(torrents[0].priorities).toEqual([-1, 0])
      expect(torrents[0].fileStats.map((f: { wanted: boolean }) => f.wanted)).toEqual([true, false])
    }).pipe(Effect.provide(Client.layerTest())))
})
