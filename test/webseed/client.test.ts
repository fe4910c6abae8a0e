import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule } from "effect"
import { encode } from "../../src/bencode/index.js"
import * as Client from "../../src/client/index.js"
import { torrentFields } from "../../src/rpc/torrentFields.js"
import * as WebSeed from "../../src/webseed/index.js"
import { makeSwarmTorrent } from "../session/fixtures.js"
import { memoryWeb } from "./memoryWeb.js"

const fixture = makeSwarmTorrent({ pieceLength: 32768, seed: 11, files: [{ path: ["a.bin"], length: 300_000 }, { path: ["b.bin"], length: 90_000 }] })
const base = "http://seed.test/"
const files = new Map(fixture.torrent.files.map((file, i) =>
  [WebSeed.fileUrl(new URL(base), fixture.torrent, i), fixture.content.subarray(file.offset, file.offset + file.length)] as const))
/** The torrent's .torrent bytes with `url-list`: its info dictionary spliced in as it is. */
const metainfo = Buffer.concat([
  Buffer.from("d4:info"),
  fixture.torrent.infoBytes,
  encode({ "url-list": [base] }).subarray(1)
])

describe("web seeds in the client", () => {
  it.live("a torrent added to the client downloads from its web seed; torrent-get shows webseeds", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      const added = yield* client.add(Client.AddSource.metainfo(metainfo))
      const before = yield* client.get(added.id)
      expect(torrentFields.webseeds!(before)).toEqual([base])
      yield* client.get(added.id).pipe(
        Effect.repeat({ until: (t) => t.percentDone === 1, schedule: Schedule.spaced(Duration.millis(50)) }),
        Effect.timeoutFail({ duration: Duration.seconds(20), onTimeout: () => new Error("not done") })
      )
      const done = yield* client.get(added.id)
      expect(done.haveValid).toBe(fixture.torrent.totalLength)
      expect(torrentFields.webseeds!(done)).toEqual([base])
    }).pipe(
      Effect.scoped,
      Effect.provide(Client.layerTest({}, WebSeed.layerConfig({ rangeBytes: 64 * 1024 }).pipe(Layer.provide(memoryWeb(files).layer))))
    ))
})
