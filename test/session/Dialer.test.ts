import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import type { Endpoint } from "../../src/net/Datagram.js"
import { makeDialer } from "../../src/session/Dialer.js"
import { ExternalAddresses } from "../../src/session/externalAddresses.js"

describe("the dialer never dials us", () => {
  it.scoped("an address of ours with our port (from trackers, the DHT, LSD) is skipped; the same address with another port is not", () =>
    Effect.gen(function*() {
      const ours = new ExternalAddresses({ now: () => 0 })
      for (const voter of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) ours.fromPeer(voter, "203.0.113.9")
      const dialled: Array<Endpoint> = []
      const dialer = yield* makeDialer({
        ownPort: 6881,
        isSelf: (address) => ours.isSelf(address, 6881),
        roomForPeer: () => true,
        banned: () => false,
        connect: (address) => Effect.zipRight(Effect.sync(() => dialled.push(address)), Effect.never),
        reconnect: Schedule.stop
      })
      yield* dialer.add([
        { host: "203.0.113.9", port: 6881 },
        { host: "203.0.113.9", port: 7000 },
        { host: "127.0.0.1", port: 6881 },
        { host: "198.51.100.7", port: 6881 }
      ])
      // The dial fibers run once the test's fiber yields: a bounded number of turns.
      for (let turn = 0; turn < 100 && dialled.length < 2; turn++) yield* Effect.yieldNow()
      expect(dialled.map((a) => `${a.host}:${a.port}`).sort()).toEqual(["198.51.100.7:6881", "203.0.113.9:7000"])
      expect(dialer.known().map((a) => `${a.host}:${a.port}`)).not.toContain("203.0.113.9:6881")
    }))
})
