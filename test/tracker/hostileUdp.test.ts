import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, TestClock } from "effect"
import * as NodeDatagram from "../../src/net/NodeDatagram.js"
import { Tracker, type TrackerConfig } from "../../src/tracker/index.js"
import * as TrackerModule from "../../src/tracker/Tracker.js"
import type { AnnounceRequest } from "../../src/tracker/types.js"
import {
  compactPeers,
  manyPeers,
  readAnnounce,
  type UdpPacketSeen,
  UdpPacket,
  type UdpReply,
  udpTracker
} from "./hostileTracker.js"

/**
 * Sends at 0, 150 and 450 ms, gives up at 1,050 ms: give-up is quick, every test stays well under 5 s, and an honest
 * answer on a loaded machine comes back before the first retransmission (at 50 ms it sometimes did not).
 */
const config = {
  udpTimeout: Duration.millis(150),
  udpRetransmits: 2,
  udpConnectionTtl: Duration.seconds(60)
} satisfies Partial<TrackerConfig>
const GIVE_UP_MILLIS = 150 + 300 + 600

const Platform = Layer.merge(NodeHttpClient.layer, NodeDatagram.layer)
const TrackerLive = TrackerModule.layerConfig(config).pipe(Layer.provide(Platform))

const PROTOCOL_ID = Uint8Array.from(Buffer.from("0000041727101980", "hex"))
const CONNECTION_ID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])
const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => 0xf0 - i)
const OTHER_HASH = Uint8Array.from({ length: 20 }, (_, i) => i)
const PEER_ID = Uint8Array.from(Buffer.from("-BT0001-abcdefghijkl", "latin1"))

const request: AnnounceRequest = {
  infoHash: INFO_HASH,
  peerId: PEER_ID,
  port: 6881,
  uploaded: 10,
  downloaded: 20,
  left: 1000,
  event: "started",
  numWant: 50,
  key: 0xdeadbeef
}

const PEERS = compactPeers([{ host: "10.0.0.1", port: 6881 }, { host: "192.168.1.2", port: 51413 }])

/** What a well-behaved tracker answers; tests replace the parts they want to break. */
const honest = (packet: UdpPacketSeen): UdpReply => {
  switch (packet.action) {
    case 0:
      return UdpPacket.connect(packet.transactionId, CONNECTION_ID)
    case 1:
      return UdpPacket.announce(packet.transactionId, { interval: 900, leechers: 3, seeders: 7, peers: PEERS })
    case 2: {
      const hashes = (packet.bytes.length - 16) / 20
      return UdpPacket.scrape(
        packet.transactionId,
        Array.from({ length: hashes }, (_, i) => ({ complete: 10 + i, downloaded: 20 + i, incomplete: 30 + i }))
      )
    }
    default:
      return undefined
  }
}

/** Runs `f` against the real Tracker service and a hostile UDP tracker scripted by `script`. */
const withServer = <A, E>(
  script: (packet: UdpPacketSeen, index: number) => UdpReply,
  f: (
    tracker: Tracker["Type"],
    server: Effect.Effect.Success<ReturnType<typeof udpTracker>>
  ) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const server = yield* udpTracker(script)
    const tracker = yield* Tracker
    return yield* f(tracker, server)
  }).pipe(Effect.provide(TrackerLive))

const actions = (packets: ReadonlyArray<UdpPacketSeen>) => packets.map((packet) => packet.action)

describe("UDP tracker against a hostile server", () => {
  it.scopedLive("connects, announces, and decodes peers and counts", () =>
    withServer(honest, (tracker, server) =>
      Effect.gen(function*() {
        const response = yield* tracker.announce(server.announceUrl, request)
        expect(response).toEqual({
          interval: 900,
          minInterval: undefined,
          peers: [{ host: "10.0.0.1", port: 6881 }, { host: "192.168.1.2", port: 51413 }],
          complete: 7,
          incomplete: 3,
          warning: undefined,
          trackerId: undefined
        })
        expect(actions(server.packets)).toEqual([0, 1])
        const [connect, announce] = server.packets
        expect(connect!.bytes.length).toBe(16)
        expect(connect!.connectionId).toEqual(PROTOCOL_ID)
        expect(announce!.bytes.length).toBe(98)
        expect(announce!.connectionId).toEqual(CONNECTION_ID)
        expect(announce!.transactionId).not.toBe(connect!.transactionId)
        expect(readAnnounce(announce!.bytes)).toEqual({
          infoHash: INFO_HASH,
          peerId: PEER_ID,
          downloaded: 20,
          left: 1000,
          uploaded: 10,
          event: 2,
          ip: 0,
          key: 0xdeadbeef,
          numWant: 50,
          port: 6881
        })
      })))

  it.scopedLive("reuses the connection id for a second announce within its lifetime", () =>
    withServer(honest, (tracker, server) =>
      Effect.gen(function*() {
        yield* tracker.announce(server.announceUrl, request)
        yield* tracker.announce(server.announceUrl, { ...request, event: undefined })
        expect(actions(server.packets)).toEqual([0, 1, 1])
        expect(server.packets[2]!.connectionId).toEqual(CONNECTION_ID)
        expect(readAnnounce(server.packets[2]!.bytes).event).toBe(0)
      })))

  // The service reads the connection's age from the Clock, so the TestClock can age it without waiting.
  it.scoped("connects again once the connection id has expired", () =>
    withServer(honest, (tracker, server) =>
      Effect.gen(function*() {
        yield* tracker.announce(server.announceUrl, request)
        yield* TestClock.adjust(Duration.sum(config.udpConnectionTtl, Duration.millis(1)))
        yield* tracker.announce(server.announceUrl, request)
        expect(actions(server.packets)).toEqual([0, 1, 0, 1])
      })))

  it.scopedLive("ignores a reply with the wrong transaction id and takes the right one after it", () =>
    withServer(
      (packet) =>
        packet.action === 0
          ? [
            UdpPacket.connect(packet.transactionId ^ 1, Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9])),
            UdpPacket.connect(packet.transactionId, CONNECTION_ID)
          ]
          : honest(packet),
      (tracker, server) =>
        Effect.gen(function*() {
          const response = yield* tracker.announce(server.announceUrl, request)
          expect(response.peers.length).toBe(2)
          expect(actions(server.packets)).toEqual([0, 1])
          expect(server.packets[1]!.connectionId).toEqual(CONNECTION_ID)
        })
    ))

  it.scopedLive("times out after retransmitting when only wrong transaction ids come back", () =>
    withServer(
      (packet) => UdpPacket.connect((packet.transactionId + 1) >>> 0, CONNECTION_ID),
      (tracker, server) =>
        Effect.gen(function*() {
          const [elapsed, error] = yield* Effect.timed(Effect.flip(tracker.announce(server.announceUrl, request)))
          expect(error.reason).toBe("Timeout")
          expect(error.detail).toBe(`no answer after ${config.udpRetransmits} retransmissions`)
          expect(actions(server.packets)).toEqual([0, 0, 0])
          expect(new Set(server.packets.map((packet) => packet.transactionId)).size).toBe(1)
          expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(GIVE_UP_MILLIS - 10)
          expect(Duration.toMillis(elapsed)).toBeLessThan(GIVE_UP_MILLIS + 1000)
        })
    ))

  it.scopedLive("fails with Decode on the right transaction id but the wrong action", () =>
    withServer(
      (packet) => UdpPacket.announce(packet.transactionId, { interval: 900, leechers: 0, seeders: 0, peers: PEERS }),
      (tracker, server) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(error.reason).toBe("Decode")
          expect(error.message).toBe(`${server.announceUrl}: bad answer: expected connect response, got announce`)
          expect(actions(server.packets)).toEqual([0])
        })
    ))

  it.scopedLive("fails with Decode on an unknown action", () =>
    withServer(
      (packet) => UdpPacket.raw(99, packet.transactionId, CONNECTION_ID),
      (tracker, server) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(error.reason).toBe("Decode")
          expect(error.detail).toBe("bad answer: unknown action 99")
        })
    ))

  it.scopedLive("fails with Rejected, with the tracker's message, on an error action to connect", () =>
    withServer(
      (packet) => UdpPacket.error(packet.transactionId, "go away\n"),
      (tracker, server) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(error.reason).toBe("Rejected")
          expect(error.message).toBe(`${server.announceUrl}: the tracker refused: go away`)
          expect(actions(server.packets)).toEqual([0])
        })
    ))

  it.scopedLive("fails with Rejected on an error action to announce, then connects afresh", () =>
    withServer(
      (packet, index) =>
        packet.action === 1 && index === 1
          ? UdpPacket.error(packet.transactionId, "torrent not registered")
          : honest(packet),
      (tracker, server) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(error.reason).toBe("Rejected")
          expect(error.detail).toBe("the tracker refused: torrent not registered")
          // A failed request forgets the connection id: it may be what the tracker did not like.
          yield* tracker.announce(server.announceUrl, request)
          expect(actions(server.packets)).toEqual([0, 1, 0, 1])
        })
    ))

  it.scopedLive("fails with Decode on a truncated announce reply", () =>
    withServer(
      (packet) =>
        packet.action === 1
          ? UdpPacket.announce(packet.transactionId, { interval: 900, leechers: 3, seeders: 7, peers: PEERS })
            .subarray(0, 12)
          : honest(packet),
      (tracker, server) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(error.reason).toBe("Decode")
          expect(error.detail).toBe("bad answer: announce response of 12 bytes is too short")
          expect(actions(server.packets)).toEqual([0, 1])
        })
    ))

  it.scopedLive("fails with Decode on negative counts", () =>
    withServer(
      (packet) =>
        packet.action === 1
          ? UdpPacket.announce(packet.transactionId, { interval: 900, leechers: -1, seeders: 7, peers: PEERS })
          : honest(packet),
      (tracker, server) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(error.reason).toBe("Decode")
          expect(error.detail).toBe("bad answer: negative leechers")
        })
    ))

  it.scopedLive("skips peers with port 0, duplicates and a trailing partial entry", () =>
    withServer(
      (packet) =>
        packet.action === 1
          ? UdpPacket.announce(packet.transactionId, {
            interval: 900,
            leechers: 0,
            seeders: 1,
            peers: Buffer.concat([
              compactPeers([
                { host: "10.0.0.1", port: 0 },
                { host: "10.0.0.2", port: 6881 },
                { host: "10.0.0.2", port: 6881 },
                { host: "10.0.0.3", port: 0 }
              ]),
              Uint8Array.from([10, 0, 0, 4, 0x1a])
            ])
          })
          : honest(packet),
      (tracker, server) =>
        Effect.gen(function*() {
          const response = yield* tracker.announce(server.announceUrl, request)
          expect(response.peers).toEqual([{ host: "10.0.0.2", port: 6881 }])
        })
    ))

  it.scopedLive("times out within bounded time on a silent tracker, after retransmitting", () =>
    withServer(() => undefined, (tracker, server) =>
      Effect.gen(function*() {
        const [elapsed, error] = yield* Effect.timed(Effect.flip(tracker.announce(server.announceUrl, request)))
        expect(error.reason).toBe("Timeout")
        expect(server.packets.length).toBe(1 + config.udpRetransmits)
        expect(actions(server.packets)).toEqual([0, 0, 0])
        expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(GIVE_UP_MILLIS - 10)
        expect(Duration.toMillis(elapsed)).toBeLessThan(GIVE_UP_MILLIS + 1000)
      })))

  it.scopedLive("retransmits an unanswered announce with the same transaction id, then times out", () =>
    withServer((packet) => (packet.action === 0 ? honest(packet) : undefined), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("Timeout")
        expect(actions(server.packets)).toEqual([0, 1, 1, 1])
        const announces = server.packets.slice(1)
        expect(new Set(announces.map((packet) => packet.transactionId)).size).toBe(1)
        expect(announces.every((packet) => Buffer.from(packet.bytes).equals(announces[0]!.bytes))).toBe(true)
      })))

  it.scopedLive("scrapes over UDP", () =>
    withServer(honest, (tracker, server) =>
      Effect.gen(function*() {
        const entries = yield* tracker.scrape(server.announceUrl, [INFO_HASH, OTHER_HASH])
        expect(entries).toEqual(
          new Map([
            [Buffer.from(INFO_HASH).toString("hex"), { complete: 10, downloaded: 20, incomplete: 30 }],
            [Buffer.from(OTHER_HASH).toString("hex"), { complete: 11, downloaded: 21, incomplete: 31 }]
          ])
        )
        expect(actions(server.packets)).toEqual([0, 2])
        const scrape = server.packets[1]!
        expect(scrape.connectionId).toEqual(CONNECTION_ID)
        expect(scrape.bytes.subarray(16)).toEqual(Uint8Array.from(Buffer.concat([INFO_HASH, OTHER_HASH])))
      })))

  it.scopedLive("leaves out info hashes a short scrape answer does not cover", () =>
    withServer(
      (packet) =>
        packet.action === 2
          ? UdpPacket.scrape(packet.transactionId, [{ complete: 1, downloaded: 2, incomplete: 3 }])
          : honest(packet),
      (tracker, server) =>
        Effect.gen(function*() {
          const entries = yield* tracker.scrape(server.announceUrl, [INFO_HASH, OTHER_HASH])
          expect(entries).toEqual(
            new Map([[Buffer.from(INFO_HASH).toString("hex"), { complete: 1, downloaded: 2, incomplete: 3 }]])
          )
        })
    ))

  it.scopedLive("refuses a udp:// URL without a port with BadUrl", () =>
    Effect.gen(function*() {
      const tracker = yield* Tracker
      const announce = yield* Effect.flip(tracker.announce("udp://127.0.0.1/announce", request))
      expect(announce.reason).toBe("BadUrl")
      expect(announce.message).toBe("udp://127.0.0.1/announce: a udp:// tracker URL needs a port")
      const scrape = yield* Effect.flip(tracker.scrape("udp://127.0.0.1/announce", [INFO_HASH]))
      expect(scrape.reason).toBe("BadUrl")
      const zero = yield* Effect.flip(tracker.announce("udp://127.0.0.1:0/announce", request))
      expect(zero.detail).toBe("a udp:// tracker URL needs a port")
      const tooLarge = yield* Effect.flip(tracker.announce("udp://127.0.0.1:70000/announce", request))
      expect(tooLarge.reason).toBe("BadUrl")
      expect(tooLarge.detail).toBe("not a valid URL")
    }).pipe(Effect.provide(TrackerLive)))

  it.scopedLive("keeps maxPeers of an answer holding 10,000 peers", () =>
    withServer(
      (packet) =>
        packet.action === 1
          ? UdpPacket.announce(packet.transactionId, { interval: 900, leechers: 0, seeders: 0, peers: manyPeers(10_000) })
          : honest(packet),
      (tracker, server) =>
        Effect.gen(function*() {
          const response = yield* tracker.announce(server.announceUrl, request)
          expect(response.peers.length).toBe(1000)
          expect(response.peers[0]).toEqual({ host: "10.0.0.0", port: 6881 })
        })
    ))
})

/** Waits (on the wall clock, bounded) until the server has seen `count` packets: loopback delivery is real I/O. */
const packetsSeen = (server: { readonly packets: ReadonlyArray<unknown> }, count: number) =>
  Effect.promise(async () => {
    for (let i = 0; i < 200 && server.packets.length < count; i++) await new Promise((r) => setTimeout(r, 10))
    return server.packets.length
  })

describe("UDP tracker with the default limits, on the TestClock", () => {
  const DefaultTracker = TrackerModule.layer.pipe(Layer.provide(Platform))

  it.scoped("gives a silent tracker up after one minute: sends at 0, 4, 12 and 28 s, fails at 60 s", () =>
    Effect.gen(function*() {
      const server = yield* udpTracker(() => undefined)
      const tracker = yield* Tracker
      const pending = yield* Effect.fork(Effect.flip(tracker.announce(server.announceUrl, request)))
      expect(yield* packetsSeen(server, 1)).toBe(1)
      for (const [at, sent] of [[4, 2], [12, 3], [28, 4]] as const) {
        yield* TestClock.setTime(at * 1000)
        expect(yield* packetsSeen(server, sent)).toBe(sent)
      }
      yield* TestClock.setTime(59_999)
      expect(pending.unsafePoll()).toBeNull()
      yield* TestClock.setTime(60_000)
      const error = yield* Fiber.join(pending)
      expect(error.reason).toBe("Timeout")
      expect(server.packets.length).toBe(4)
    }).pipe(Effect.provide(DefaultTracker)))
})
