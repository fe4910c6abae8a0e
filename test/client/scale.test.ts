import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Client from "../../src/client/index.js"
import { makeTorrent } from "./fixtures.js"

describe("Client at scale", () => {
  it.effect("lists a thousand torrents with the fields a UI polls", () =>
    Effect.gen(function*() {
      const client = yield* Client.Client
      for (let i = 0; i < 1000; i++) {
        yield* client.add(Client.AddSource.metainfo(makeTorrent(`t${i}`, 20_000, 16384, i).bytes), { paused: true })
      }
      const started = performance.now()
      const { torrents } = yield* client.list("all", { trackers: true })
      const ms = performance.now() - started
      expect(torrents.length).toBe(1000)
      expect(new Set(torrents.map((t) => t.id)).size).toBe(1000)
      // A figure, printed; the bound is far above it (a loaded machine must not fail this).
      console.log(`list of 1000 torrents: ${ms.toFixed(1)} ms`)
      expect(ms).toBeLessThan(500)
    }).pipe(Effect.provide(Client.layerTest())), 60_000)
})
