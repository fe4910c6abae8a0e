import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { joinLsd } from "../../../src/cli/options.js"
import { Lsd } from "../../../src/net/lsd/Lsd.js"
import type { TorrentInfo } from "../../../src/metainfo/index.js"

const handleOf = (isPrivate: boolean) => ({
  torrent: { private: isPrivate, infoHash: new Uint8Array(20).fill(7) } as unknown as TorrentInfo,
  addPeers: () => Effect.void
})

describe("joinLsd: what bt download and bt seed announce on the LAN", () => {
  it.scoped("a public torrent is announced with the session's port; a private one never (BEP 27)", () =>
    Effect.gen(function*() {
      const added: Array<[number, number]> = []
      const lsd = Lsd.of({
        add: (infoHash, port) => Effect.sync(() => void added.push([infoHash[0]!, port])),
        stats: Effect.succeed({ received: 0, peers: 0, ownAnnounces: 0, malformed: 0, rateLimited: 0 })
      })
      yield* joinLsd(handleOf(true), { port: 6881 }).pipe(Effect.provideService(Lsd, lsd))
      expect(added).toEqual([])
      yield* joinLsd(handleOf(false), { port: 6881 }).pipe(Effect.provideService(Lsd, lsd))
      expect(added).toEqual([[7, 6881]])
    }))
})
