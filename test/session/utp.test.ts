import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import * as MemoryDatagram from "../../src/net/MemoryDatagram.js"
import { Transport } from "../../src/peer/transport/Transport.js"
import * as UtpTransport from "../../src/peer/utp/UtpTransport.js"
import { make } from "../../src/session/index.js"
import { layerMemory, MemoryStorage } from "../../src/storage/index.js"
import { layerTest as trackerTest } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import { makeSwarmTorrent } from "./fixtures.js"
import { dialRaw } from "./hostileDouble.js"
import { startSeeder } from "./seederDouble.js"

const fixture = makeSwarmTorrent({ pieceLength: 32768, seed: 29, files: [{ path: ["over-utp.bin"], length: 1_500_000 }] })
const { torrent } = fixture

/** A session whose Transport is uTP on its own UDP address (of the Datagram provided). */
const sessionAt = (host: string, stored?: Uint8Array) =>
  Effect.gen(function*() {
    const transport = yield* UtpTransport.make()
    const storage = layerMemory(stored === undefined ? undefined : new Map([[torrent.infoHashHex, stored]]))
    // Built once, so the session and the test see the same stored bytes.
    const services = yield* Layer.build(
      Layer.mergeAll(Layer.succeed(Transport, transport), storage, Verifier.layer, trackerTest({}))
    )
    const stores = Context.get(services, MemoryStorage)
    const session = yield* make({
      listenHosts: [host],
      port: 6881,
      encryption: "disable",
      connectTimeout: Duration.seconds(2),
      reconnect: Schedule.spaced(Duration.millis(100)).pipe(Schedule.intersect(Schedule.recurs(3))),
      tick: Duration.millis(50)
    }).pipe(Effect.provide(services))
    return { session, stores }
  })

/**
 * A seeding session and a leeching one told of the seeder (and the seeder of the leecher too, when `mutual`): the
 * leecher's download must complete byte-exact.
 */
const seedAndLeech = (mutual: boolean) =>
  Effect.gen(function*() {
    const seeder = yield* sessionAt("10.7.0.1", fixture.content)
    const seed = yield* seeder.session.add(torrent, { directory: "/seed", trackers: false })
    yield* seed.checked
    const leecher = yield* sessionAt("10.7.0.2")
    const handle = yield* leecher.session.add(torrent, {
      directory: "/leech",
      peers: [{ host: "10.7.0.1", port: seeder.session.port }],
      trackers: false
    })
    if (mutual) yield* seed.addPeers([{ host: "10.7.0.2", port: leecher.session.port }])
    yield* handle.done.pipe(
      Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => new Error("the download did not finish") })
    )
    expect(Buffer.from(leecher.stores.contents(torrent.infoHashHex)!).equals(fixture.content)).toBe(true)
  }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory))

describe("two sessions over uTP (an in-memory UDP network)", () => {
  it.live("a download completes byte-exact: the peer wire rides uTP as it rides TCP", () => seedAndLeech(false), 20_000)

  // uTP dials leave from the listening port: each side's incoming connection has the address it is dialling.
  it.live("both sides dialling each other at once keep one connection, and the download completes", () =>
    seedAndLeech(true), 20_000)
})

describe("bans by IP address over uTP", () => {
  it.live("a liar over uTP is banned, and its uTP connections back from another port are closed unanswered", () =>
    Effect.gen(function*() {
      // The liar: a seeder double whose every block is corrupt, on uTP at an address of its own.
      const liarTransport = yield* UtpTransport.make()
      const liar = yield* startSeeder({ ...fixture, corrupt: {}, host: "10.7.0.9" }).pipe(
        Effect.provideService(Transport, liarTransport)
      )
      const leecher = yield* sessionAt("10.7.0.2")
      yield* leecher.session.add(torrent, { directory: "/leech", peers: [liar.address], trackers: false })
      yield* Effect.suspend(() => (liar.log.closes.some((close) => close.by === "client") ? Effect.void : Effect.fail("not yet"))).pipe(
        Effect.retry(Schedule.spaced(Duration.millis(20))),
        Effect.timeout(Duration.seconds(10))
      )
      // It comes back over uTP from another port of its address (uTP dials leave from the listening port): each
      // connection is closed before our handshake goes out.
      const comeback = yield* UtpTransport.make()
      yield* comeback.listen({ host: "10.7.0.9", port: 0 }, () => {})
      const back = yield* dialRaw({
        torrent,
        to: { host: "10.7.0.2", port: leecher.session.port },
        connections: 20,
        script: { onConnect: (side) => side.handshake() }
      }).pipe(Effect.provideService(Transport, comeback))
      yield* Effect.suspend(() => (back.log.closes.length === 20 ? Effect.void : Effect.fail("not yet"))).pipe(
        Effect.retry(Schedule.spaced(Duration.millis(20))),
        Effect.timeout(Duration.seconds(10))
      )
      expect(back.log.closes.every((close) => close.by === "client")).toBe(true)
      expect(back.log.received).toBe(0)
      expect(liar.log.connections).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory)), 30_000)
})
