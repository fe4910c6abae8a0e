import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule } from "effect"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import { type Connection, type ConnectionHandlers, Transport } from "../../src/peer/transport/Transport.js"
import { type EncryptionPolicy } from "../../src/peer/encryption.js"
import { make, type SessionConfig } from "../../src/session/index.js"
import { layerMemory } from "../../src/storage/index.js"
import { layerTest as trackerTest } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import { makeSwarmTorrent } from "./fixtures.js"

const fixture = makeSwarmTorrent({ pieceLength: 16384, seed: 99, files: [{ path: ["mse.bin"], length: 300_000 }] })
const { torrent } = fixture

const config = (name: string, encryption: EncryptionPolicy): Partial<SessionConfig> => ({
  listenHosts: [name],
  port: 1,
  encryption,
  connectTimeout: Duration.seconds(1),
  handshakeTimeout: Duration.seconds(1),
  reconnect: Schedule.spaced(Duration.millis(50)).pipe(Schedule.intersect(Schedule.recurs(2))),
  tick: Duration.millis(50)
})

/**
 * Two real sessions on one memory network: a seeder and a leecher, each with its own storage, with the given
 * encryption policies. Resolves with how the download went: its peers' flags, or that it did not finish.
 */
const exchange = (
  seeder: EncryptionPolicy,
  leecher: EncryptionPolicy,
  within = Duration.seconds(3),
  leecherNetwork: (network: Transport["Type"]) => Transport["Type"] = (network) => network
) =>
  Effect.gen(function*() {
    const network = yield* Transport
    const sessionWith = (name: string, policy: EncryptionPolicy, stored?: Uint8Array) =>
      make(config(name, policy)).pipe(Effect.provide(Layer.mergeAll(
        Layer.succeed(Transport, stored === undefined ? leecherNetwork(network) : network),
        layerMemory(stored === undefined ? undefined : new Map([[torrent.infoHashHex, stored]])),
        Verifier.layer,
        trackerTest({})
      )))
    const seeding = yield* sessionWith("seeder.test", seeder, fixture.content)
    const seed = yield* seeding.add(torrent, { directory: "/seed", trackers: false })
    yield* seed.checked
    const leeching = yield* sessionWith("leecher.test", leecher)
    const handle = yield* leeching.add(torrent, {
      directory: "/leech",
      peers: [{ host: "seeder.test", port: seeding.port }],
      trackers: false
    })
    const finished = yield* handle.done.pipe(Effect.timeout(within), Effect.option)
    const progress = yield* seed.progress
    return { finished: finished._tag === "Some", seederPeers: progress.peerList }
  }).pipe(Effect.scoped, Effect.provide(MemoryTransport.layerMemory))

/**
 * The network as the leecher sees it, where the peer drops the first connection it dials as soon as it has
 * written its opening, before answering a byte (as Transmission now and then does).
 */
const firstDialDropped = (network: Transport["Type"]): Transport["Type"] => {
  let dropped = false
  const closedOnWrite = (connection: Connection): Connection => {
    let handlers: ConnectionHandlers | undefined
    return {
      ...connection,
      start: (given) => {
        handlers = given
        connection.start(given)
      },
      write: () => {
        connection.destroy()
        queueMicrotask(() => handlers?.onClose(undefined))
        return true
      }
    }
  }
  return Transport.of({
    listen: network.listen,
    connect: (to) =>
      Effect.map(network.connect(to), (connection) => {
        if (dropped) return connection
        dropped = true
        return closedOnWrite(connection)
      })
  })
}

describe("MSE/PE between two sessions", () => {
  it.live("require and require: the download completes over RC4", () =>
    Effect.gen(function*() {
      const result = yield* exchange("require", "require")
      expect(result.finished).toBe(true)
      expect(result.seederPeers.map((peer) => peer.encrypted)).toEqual([true])
    }))

  it.live("prefer and prefer: the encrypted handshake, then a plaintext payload (as libtorrent's defaults do)", () =>
    Effect.gen(function*() {
      const result = yield* exchange("prefer", "prefer")
      expect(result.finished).toBe(true)
      expect(result.seederPeers.map((peer) => peer.encrypted)).toEqual([false])
    }))

  it.live("a leecher that prefers encryption falls back to plaintext with a seeder that has it disabled", () =>
    Effect.gen(function*() {
      const result = yield* exchange("disable", "prefer")
      expect(result.finished).toBe(true)
      expect(result.seederPeers.map((peer) => peer.encrypted)).toEqual([false])
    }))

  it.live("a seeder that requires encryption accepts an encrypted leecher that only prefers it", () =>
    Effect.gen(function*() {
      const result = yield* exchange("require", "prefer")
      expect(result.finished).toBe(true)
      expect(result.seederPeers.map((peer) => peer.encrypted)).toEqual([true])
    }))

  it.live("required on one side and disabled on the other: no connection, no data", () =>
    Effect.gen(function*() {
      // Each is given a second: the sessions fail the handshake at once, then retry twice 50 ms apart.
      expect((yield* exchange("require", "disable", Duration.seconds(1))).finished).toBe(false)
      expect((yield* exchange("disable", "require", Duration.seconds(1))).finished).toBe(false)
    }))

  it.live("a peer that requires encryption and drops our first connection is dialled encrypted again", () =>
    Effect.gen(function*() {
      // The leecher prefers encryption: the dropped handshake is followed at once by a plaintext one, which the
      // seeder refuses; the peer is not taken for a plaintext one, and the next attempt is encrypted again.
      const prefer = yield* exchange("require", "prefer", Duration.seconds(3), firstDialDropped)
      expect(prefer.finished).toBe(true)
      expect(prefer.seederPeers.map((peer) => peer.encrypted)).toEqual([true])
      // A leecher that requires encryption tries again too, rather than giving the peer up.
      const require = yield* exchange("require", "require", Duration.seconds(3), firstDialDropped)
      expect(require.finished).toBe(true)
    }))
})

/** A session on the memory network named `name`, started with `policy`, holding the fixture's data if `stored`. */
const sessionOn = (name: string, policy: EncryptionPolicy, stored?: Uint8Array) =>
  Effect.flatMap(Transport, (network) =>
    make(config(name, policy)).pipe(Effect.provide(Layer.mergeAll(
      Layer.succeed(Transport, network),
      layerMemory(stored === undefined ? undefined : new Map([[torrent.infoHashHex, stored]])),
      Verifier.layer,
      trackerTest({})
    ))))

describe("Session.setEncryption (the RPC's session-set encryption)", () => {
  it.live("a torrent already running dials with the new policy; the session accepts by it", () =>
    Effect.gen(function*() {
      // Both start with encryption disabled, then require it: the seeder before the leecher dials, the leecher
      // after its torrent started.
      const seeding = yield* sessionOn("seeder.test", "disable", fixture.content)
      const seed = yield* seeding.add(torrent, { directory: "/seed", trackers: false })
      yield* seed.checked
      yield* seeding.setEncryption("require")
      const leeching = yield* sessionOn("leecher.test", "disable")
      const handle = yield* leeching.add(torrent, { directory: "/leech", trackers: false })
      yield* leeching.setEncryption("require")
      yield* handle.addPeers([{ host: "seeder.test", port: seeding.port }])
      const finished = yield* handle.done.pipe(Effect.timeout(Duration.seconds(10)), Effect.option)
      expect(finished._tag).toBe("Some")
      expect((yield* seed.progress).peerList.map((peer) => peer.encrypted)).toEqual([true])
    }).pipe(Effect.scoped, Effect.provide(MemoryTransport.layerMemory)))
})
