import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, TestClock } from "effect"
import { encode } from "../../src/bencode/index.js"
import * as NodeDatagram from "../../src/net/NodeDatagram.js"
import { Tracker, type TrackerConfig } from "../../src/tracker/index.js"
import * as TrackerModule from "../../src/tracker/Tracker.js"
import type { AnnounceRequest } from "../../src/tracker/types.js"
import { closedPort, compactPeers, httpTracker, HttpReply, type HttpRequestSeen, manyPeers } from "./hostileTracker.js"

/** Small limits so hostile answers hit them fast; every test stays well under vitest's 5 s. */
const config = {
  httpTimeout: Duration.millis(300),
  maxBodyBytes: 64 * 1024,
  maxRedirects: 3
} satisfies Partial<TrackerConfig>

const Platform = Layer.merge(NodeHttpClient.layer, NodeDatagram.layer)
const TrackerLive = TrackerModule.layerConfig(config).pipe(Layer.provide(Platform))

/** 20 bytes mixing unreserved characters, reserved ones and high bytes, so the percent-encoding is exercised. */
const INFO_HASH = Uint8Array.from([
  0x00, 0x41, 0x7a, 0x2d, 0x2e, 0x5f, 0x7e, 0x25, 0x26, 0x3d, 0x2b, 0x20, 0x3f, 0x23, 0x80, 0xff, 0xfe, 0x7f, 0x01, 0x39
])
const OTHER_HASH = Uint8Array.from({ length: 20 }, (_, i) => 0xa0 + i)
const PEER_ID = Uint8Array.from(Buffer.from("-BT0001-\u0000\u0001abcdefghij", "latin1"))

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

const validAnswer = (extra: Record<string, string | number | Uint8Array> = {}) =>
  encode({
    interval: 1800,
    "min interval": 60,
    complete: 7,
    incomplete: 3,
    peers: compactPeers([{ host: "10.0.0.1", port: 6881 }, { host: "10.0.0.2", port: 51413 }]),
    ...extra
  })

/** Runs `f` against the real Tracker service and a hostile HTTP server scripted by `script`. */
const withServer = <A, E>(
  script: (request: HttpRequestSeen, index: number) => HttpReply,
  f: (
    tracker: Tracker["Type"],
    server: Effect.Effect.Success<ReturnType<typeof httpTracker>>
  ) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const server = yield* httpTracker(script)
    const tracker = yield* Tracker
    return yield* f(tracker, server)
  }).pipe(Effect.provide(TrackerLive))

/** The connection of `seen` closed within a bound; how it closed. */
const closedOf = (seen: HttpRequestSeen | undefined) =>
  Deferred.await(seen!.closed).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "still open" }))

describe("HTTP tracker against a hostile server", () => {
  it.scopedLive("decodes a valid compact answer and sends a well-formed announce", () =>
    withServer(() => HttpReply.answer(validAnswer()), (tracker, server) =>
      Effect.gen(function*() {
        const response = yield* tracker.announce(server.announceUrl, request)
        expect(response).toEqual({
          interval: 1800,
          minInterval: 60,
          peers: [{ host: "10.0.0.1", port: 6881 }, { host: "10.0.0.2", port: 51413 }],
          complete: 7,
          incomplete: 3,
          warning: undefined,
          trackerId: undefined
        })
        expect(server.requests.length).toBe(1)
        const seen = server.requests[0]!
        expect(seen.method).toBe("GET")
        expect(seen.path).toBe("/announce")
        expect(seen.paramBytes("info_hash")).toEqual([INFO_HASH])
        expect(seen.paramBytes("peer_id")).toEqual([PEER_ID])
        expect(seen.param("compact")).toBe("1")
        expect(seen.param("event")).toBe("started")
        expect(seen.param("port")).toBe("6881")
        expect(seen.param("uploaded")).toBe("10")
        expect(seen.param("downloaded")).toBe("20")
        expect(seen.param("left")).toBe("1000")
        expect(seen.param("numwant")).toBe("50")
        expect(seen.param("key")).toBe("deadbeef")
        expect(seen.param("trackerid")).toBeUndefined()
      })))

  it.scopedLive("echoes a tracker id from the first answer in the next announce", () =>
    withServer(
      (_, index) => HttpReply.answer(validAnswer(index === 0 ? { "tracker id": "id 1/2&x=y" } : {})),
      (tracker, server) =>
        Effect.gen(function*() {
          const first = yield* tracker.announce(server.announceUrl, request)
          expect(first.trackerId).toBe("id 1/2&x=y")
          yield* tracker.announce(server.announceUrl, { ...request, event: undefined })
          expect(server.requests.length).toBe(2)
          expect(server.requests[0]!.param("trackerid")).toBeUndefined()
          // Still remembered although the second answer had no tracker id; `&` and `=` did not split the query.
          expect(server.requests[1]!.param("trackerid")).toBe("id 1/2&x=y")
          expect(server.requests[1]!.param("x")).toBeUndefined()
          expect(server.requests[1]!.param("event")).toBeUndefined()
        })
    ))

  it.scopedLive("fails with Decode on truncated bencode", () =>
    withServer(() => HttpReply.answer(validAnswer().subarray(0, 30)), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("Decode")
        expect(error.message).toContain(server.announceUrl)
        expect(error.message).toContain("not bencode")
      })))

  it.scopedLive("fails with Decode on garbage and on a non-dictionary", () =>
    withServer(
      (_, index) => HttpReply.answer(index === 0 ? "<html><body>502 Bad Gateway</body></html>" : "i42e"),
      (tracker, server) =>
        Effect.gen(function*() {
          const garbage = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(garbage.reason).toBe("Decode")
          expect(garbage.detail).toContain("not bencode")
          const integer = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(integer.reason).toBe("Decode")
          expect(integer.detail).toBe("the tracker's answer is not a dictionary")
        })
    ))

  it.scopedLive("fails with Rejected, naming the reason, on a failure reason", () =>
    withServer(
      () => HttpReply.answer(encode({ "failure reason": "torrent not registered\nwith this tracker", interval: 5 })),
      (tracker, server) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
          expect(error.reason).toBe("Rejected")
          expect(error.message).toBe(
            `${server.announceUrl}: the tracker refused: torrent not registered with this tracker`
          )
        })
    ))

  it.scopedLive("fails with HttpStatus on a 500", () =>
    withServer(() => HttpReply.answer(validAnswer(), { status: 500 }), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("HttpStatus")
        expect(error.detail).toBe("HTTP status 500")
      })))

  it.scopedLive("hangs up on a 500 with an endless body", () =>
    withServer(() => HttpReply.flood({ status: 500 }), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("HttpStatus")
        const closed = yield* closedOf(server.requests[0])
        expect(closed.finished).toBe(false)
        // Released now, not when the unread response is garbage-collected.
        yield* server.allClosed("500 millis")
      })))

  it.scopedLive("gives up on a redirect loop after maxRedirects, in bounded time", () =>
    withServer((seen) => HttpReply.redirect(`${seen.path}?${seen.query}`), (tracker, server) =>
      Effect.gen(function*() {
        // HttpStatus, not Timeout: the loop is cut short by counting, not by the clock.
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("HttpStatus")
        expect(error.detail).toBe(`HTTP status 302 (more than ${config.maxRedirects} redirects)`)
        expect(server.requests.length).toBe(config.maxRedirects + 1)
        yield* server.allClosed()
      })))

  it.scopedLive("follows a redirect to a valid answer", () =>
    withServer(
      (seen) =>
        seen.path === "/announce" ? HttpReply.redirect(`/moved?${seen.query}`, 301) : HttpReply.answer(validAnswer()),
      (tracker, server) =>
        Effect.gen(function*() {
          const response = yield* tracker.announce(server.announceUrl, request)
          expect(response.peers.length).toBe(2)
          expect(server.requests.map((seen) => seen.path)).toEqual(["/announce", "/moved"])
          expect(server.requests[1]!.paramBytes("info_hash")).toEqual([INFO_HASH])
        })
    ))

  it.scopedLive("does not follow a redirect to another protocol", () =>
    withServer(() => HttpReply.redirect("ftp://127.0.0.1:1/announce"), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("HttpStatus")
        expect(error.detail).toBe("HTTP status 302 (redirect to ftp://127.0.0.1:1/announce not followed)")
        expect(server.requests.length).toBe(1)
      })))

  it.scopedLive("cuts off a 10 MiB body at maxBodyBytes and closes the connection", () =>
    withServer(() => HttpReply.flood({ totalBytes: 10 * 1024 * 1024 }), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("Decode")
        expect(error.detail).toBe(`the answer is larger than ${config.maxBodyBytes} bytes`)
        const closed = yield* closedOf(server.requests[0])
        expect(closed.finished).toBe(false)
        yield* server.allClosed()
        expect(closed.bytesSent).toBeLessThan(10 * 1024 * 1024)
      })))

  it.scopedLive("cuts off an endless body at maxBodyBytes and closes the connection", () =>
    withServer(() => HttpReply.flood(), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("Decode")
        expect(error.detail).toContain("larger than")
        const closed = yield* closedOf(server.requests[0])
        expect(closed.finished).toBe(false)
        yield* server.allClosed()
      })))

  it.scopedLive("times out on a server that never answers, and hangs up", () =>
    withServer(() => HttpReply.silent, (tracker, server) =>
      Effect.gen(function*() {
        const [elapsed, error] = yield* Effect.timed(Effect.flip(tracker.announce(server.announceUrl, request)))
        expect(error.reason).toBe("Timeout")
        expect(error.detail).toBe("no answer within 300ms")
        expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(290)
        expect(Duration.toMillis(elapsed)).toBeLessThan(1500)
        const closed = yield* closedOf(server.requests[0])
        expect(closed.finished).toBe(false)
        yield* server.allClosed()
      })))

  it.scopedLive("times out on a body that drips in slower than httpTimeout", () =>
    withServer(() => HttpReply.drip(validAnswer(), 4, 50), (tracker, server) =>
      Effect.gen(function*() {
        const [elapsed, error] = yield* Effect.timed(Effect.flip(tracker.announce(server.announceUrl, request)))
        expect(error.reason).toBe("Timeout")
        expect(Duration.toMillis(elapsed)).toBeLessThan(1500)
        const closed = yield* closedOf(server.requests[0])
        expect(closed.finished).toBe(false)
        yield* server.allClosed()
      })))

  it.scopedLive("reassembles a body that drips in within httpTimeout", () =>
    withServer(() => HttpReply.drip(validAnswer(), 32, 10), (tracker, server) =>
      Effect.gen(function*() {
        const response = yield* tracker.announce(server.announceUrl, request)
        expect(response.peers.length).toBe(2)
        expect(response.complete).toBe(7)
      })))

  it.scopedLive("fails with Network when the connection is cut mid-body", () =>
    withServer(() => HttpReply.cut(validAnswer().subarray(0, 20), 1000), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("Network")
        expect(error.message).toContain(server.announceUrl)
      })))

  it.scopedLive("fails with Network on headers larger than Node accepts", () =>
    withServer(() => HttpReply.answer(validAnswer(), { headers: { "x-junk": "a".repeat(100_000) } }), (
      tracker,
      server
    ) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.announce(server.announceUrl, request))
        expect(error.reason).toBe("Network")
        expect(error.detail).toContain("Header overflow")
      })))

  it.scopedLive("fails with Network when nothing listens", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const url = `http://127.0.0.1:${port}/announce`
      const error = yield* Effect.flip((yield* Tracker).announce(url, request))
      expect(error.reason).toBe("Network")
      expect(error.message).toContain(url)
      expect(error.detail).toContain("ECONNREFUSED")
    }).pipe(Effect.provide(TrackerLive)))

  it.scopedLive("skips peers with port 0, compact and dictionary alike", () =>
    withServer(
      (_, index) =>
        HttpReply.answer(
          index === 0
            ? validAnswer({
              peers: compactPeers([
                { host: "10.0.0.1", port: 0 },
                { host: "10.0.0.2", port: 6881 },
                { host: "10.0.0.3", port: 0 }
              ])
            })
            : encode({
              interval: 900,
              peers: [
                { ip: "10.0.0.4", port: 0, "peer id": "x".repeat(20) },
                { ip: "10.0.0.5", port: 6882 },
                { ip: "10.0.0.6", port: 70000 },
                { ip: "10.0.0.7", port: -1 }
              ]
            })
        ),
      (tracker, server) =>
        Effect.gen(function*() {
          const compact = yield* tracker.announce(server.announceUrl, request)
          expect(compact.peers).toEqual([{ host: "10.0.0.2", port: 6881 }])
          const dictionaries = yield* tracker.announce(server.announceUrl, request)
          expect(dictionaries.peers).toEqual([{ host: "10.0.0.5", port: 6882 }])
        })
    ))

  it.scopedLive("decodes a scrape answer", () =>
    withServer(
      () =>
        HttpReply.answer(encode({
          files: new Map([
            [Buffer.from(INFO_HASH).toString("latin1"), { complete: 5, downloaded: 50, incomplete: 2 }],
            [Buffer.from(OTHER_HASH).toString("latin1"), { complete: 1, downloaded: 0, incomplete: 0 }],
            ["too short", { complete: 9, downloaded: 9, incomplete: 9 }]
          ])
        })),
      (tracker, server) =>
        Effect.gen(function*() {
          const entries = yield* tracker.scrape(server.announceUrl, [INFO_HASH, OTHER_HASH])
          expect(server.requests.length).toBe(1)
          expect(server.requests[0]!.path).toBe("/scrape")
          expect(server.requests[0]!.paramBytes("info_hash")).toEqual([INFO_HASH, OTHER_HASH])
          expect(entries).toEqual(
            new Map([
              [Buffer.from(INFO_HASH).toString("hex"), { complete: 5, downloaded: 50, incomplete: 2 }],
              [Buffer.from(OTHER_HASH).toString("hex"), { complete: 1, downloaded: 0, incomplete: 0 }]
            ])
          )
        })
    ))

  it.scopedLive("fails a scrape with Rejected on a failure reason", () =>
    withServer(() => HttpReply.answer(encode({ "failure reason": "scrape disabled" })), (tracker, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tracker.scrape(server.announceUrl, [INFO_HASH]))
        expect(error.reason).toBe("Rejected")
        expect(error.detail).toBe("the tracker refused: scrape disabled")
      })))

  it.scopedLive("refuses an unsupported scheme with BadUrl", () =>
    Effect.gen(function*() {
      const tracker = yield* Tracker
      const announce = yield* Effect.flip(tracker.announce("wss://x", request))
      expect(announce.reason).toBe("BadUrl")
      expect(announce.message).toBe("wss://x: unsupported tracker protocol (only http, https and udp)")
      const scrape = yield* Effect.flip(tracker.scrape("wss://x", [INFO_HASH]))
      expect(scrape.reason).toBe("BadUrl")
    }).pipe(Effect.provide(TrackerLive)))

  it.scopedLive("keeps maxPeers of an answer holding 10,000 peers", () =>
    withServer(() => HttpReply.answer(validAnswer({ peers: manyPeers(10_000) })), (tracker, server) =>
      Effect.gen(function*() {
        const response = yield* tracker.announce(server.announceUrl, request)
        expect(response.peers.length).toBe(1000)
        expect(response.peers[0]).toEqual({ host: "10.0.0.0", port: 6881 })
        expect(response.peers[999]).toEqual({ host: "10.0.3.231", port: 6881 })
      })))
})

describe("HTTP tracker with the default limits, on the TestClock", () => {
  const DefaultTracker = TrackerModule.layer.pipe(Layer.provide(Platform))

  it.scoped("gives up on a tracker that would answer after 59 s at the 30 s httpTimeout", () =>
    Effect.gen(function*() {
      const server = yield* httpTracker(() => HttpReply.silent)
      const tracker = yield* Tracker
      const pending = yield* Effect.fork(Effect.flip(tracker.announce(server.announceUrl, request)))
      yield* TestClock.adjust(Duration.seconds(29))
      expect(pending.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.seconds(1))
      const error = yield* Fiber.join(pending)
      expect(error.reason).toBe("Timeout")
      expect(error.detail).toBe("no answer within 30s")
    }).pipe(Effect.provide(DefaultTracker)))
})
