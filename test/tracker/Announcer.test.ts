import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Exit, Fiber, Ref, Schedule, Scope, TestClock } from "effect"
import {
  type AnnounceEvent,
  type AnnounceRequest,
  type AnnounceResponse,
  type AnnouncerOptions,
  layerTest,
  type PeerAddress,
  startAnnouncing,
  type TransferStats,
  TrackerError
} from "../../src/tracker/index.js"

interface Call {
  readonly url: string
  readonly event: AnnounceEvent | undefined
  /** Seconds on the TestClock. */
  readonly at: number
  readonly numWant: number
  readonly stats: TransferStats
}

const response = (overrides: Partial<AnnounceResponse> = {}): AnnounceResponse => ({
  interval: 120,
  minInterval: undefined,
  peers: [],
  complete: undefined,
  incomplete: undefined,
  warning: undefined,
  trackerId: undefined,
  ...overrides
})

const refused = (url: string) => Effect.fail(new TrackerError({ reason: "Network", url, detail: "connection refused" }))

/** How the double answers: given the URL, the request and the 0-based number of the call. */
type Script = (url: string, request: AnnounceRequest, call: number) => Effect.Effect<AnnounceResponse, TrackerError>

const peerA: PeerAddress = { host: "10.0.0.1", port: 6881 }

/** A Tracker double that records every announce, and a way to start the announce loop against it. */
const harness = (script: Script) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make<ReadonlyArray<Call>>([])
    const delivered = yield* Ref.make<ReadonlyArray<{ readonly tracker: string; readonly peers: ReadonlyArray<PeerAddress> }>>([])
    const announce = (url: string, request: AnnounceRequest) =>
      Effect.gen(function*() {
        const at = (yield* Clock.currentTimeMillis) / 1000
        const { downloaded, left, uploaded } = request
        const call = yield* Ref.modify(calls, (list) => [list.length, [...list, {
          url,
          event: request.event,
          at,
          numWant: request.numWant,
          stats: { uploaded, downloaded, left }
        }]])
        return yield* script(url, request, call)
      })
    const options: AnnouncerOptions = {
      tiers: [["http://a/announce"]],
      infoHash: new Uint8Array(20).fill(1),
      peerId: new Uint8Array(20).fill(2),
      port: 6881,
      key: 7,
      stats: Effect.succeed({ uploaded: 0, downloaded: 0, left: 100 }),
      onPeers: (peers, tracker) => Ref.update(delivered, (list) => [...list, { tracker, peers }])
    }
    const start = (overrides: Partial<AnnouncerOptions> = {}) =>
      startAnnouncing({ ...options, ...overrides }).pipe(Effect.provide(layerTest({ announce })))
    /** `[event, url, seconds]` of every call so far. */
    const log = Effect.map(Ref.get(calls), (list) => list.map((c) => [c.event, c.url, c.at] as const))
    return { calls, delivered, log, start }
  })

/** Lets forked fibers run what is due without moving the clock. */
const settle = TestClock.adjust(Duration.zero)
const advance = (seconds: number) => TestClock.adjust(Duration.seconds(seconds))

describe("startAnnouncing: completed", () => {
  it.scoped("announces completed at once when the download completes, exactly once, then keeps the interval", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness(() => Effect.succeed(response({ interval: 120 })))
      const completed = yield* Deferred.make<void>()
      yield* start({ completed: Deferred.await(completed) })
      yield* settle
      yield* advance(50)
      yield* Deferred.succeed(completed, undefined)
      yield* settle
      expect((yield* log).map(([event, , at]) => [event, at])).toEqual([["started", 0], ["completed", 50]])
      yield* advance(120)
      expect((yield* log).map(([event, , at]) => [event, at])).toEqual([["started", 0], ["completed", 50], [
        undefined,
        170
      ]])
    }))

  it.scoped("sends completed right after started when the download completed during the first announce", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness(() => Effect.succeed(response({ interval: 120 })))
      yield* start({ completed: Effect.void })
      yield* settle
      expect((yield* log).map(([event, , at]) => [event, at])).toEqual([["started", 0], ["completed", 0]])
    }))
})

describe("startAnnouncing: regular announces", () => {
  it.scoped("announces started first and hands the peers to onPeers", () =>
    Effect.gen(function*() {
      const { calls, delivered, log, start } = yield* harness(() => Effect.succeed(response({ peers: [peerA] })))
      yield* start()
      yield* settle
      expect(yield* log).toEqual([["started", "http://a/announce", 0]])
      expect(yield* Ref.get(delivered)).toEqual([{ tracker: "http://a/announce", peers: [peerA] }])
      const [call] = yield* Ref.get(calls)
      expect(call!.numWant).toBe(50)
    }))

  it.scoped("announces again after interval, not before, without an event", () =>
    Effect.gen(function*() {
      const { delivered, log, start } = yield* harness(() => Effect.succeed(response({ interval: 120 })))
      yield* start()
      yield* settle
      yield* advance(119)
      expect(yield* log).toEqual([["started", "http://a/announce", 0]])
      yield* advance(1)
      expect(yield* log).toEqual([["started", "http://a/announce", 0], [undefined, "http://a/announce", 120]])
      yield* advance(120)
      expect((yield* log).map(([event, , at]) => [event, at])).toEqual([["started", 0], [undefined, 120], [
        undefined,
        240
      ]])
      expect((yield* Ref.get(delivered)).length).toBe(3)
    }))

  it.scoped("follows the interval of the latest answer", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((_url, _request, call) =>
        Effect.succeed(response({ interval: call === 0 ? 60 : 300 }))
      )
      yield* start()
      yield* settle
      yield* advance(60)
      yield* advance(299)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 60])
      yield* advance(1)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 60, 360])
    }))

  it.scoped("waits for min interval when it is larger than interval", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness(() => Effect.succeed(response({ interval: 120, minInterval: 600 })))
      yield* start()
      yield* settle
      yield* advance(599)
      expect((yield* log).length).toBe(1)
      yield* advance(1)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 600])
    }))

  it.scoped("floors a tiny interval to minimumInterval (30 s by default)", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness(() => Effect.succeed(response({ interval: 0, minInterval: 1 })))
      yield* start()
      yield* settle
      yield* advance(29)
      expect((yield* log).length).toBe(1)
      yield* advance(1)
      yield* advance(30)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 30, 60])
    }))

  it.scoped("floors to a configured minimumInterval", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness(() => Effect.succeed(response({ interval: 1 })))
      yield* start({ timing: { minimumInterval: Duration.seconds(10) } })
      yield* settle
      yield* advance(9)
      expect((yield* log).length).toBe(1)
      yield* advance(1)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 10])
    }))

  it.scoped("reads the transfer stats fresh for every announce", () =>
    Effect.gen(function*() {
      const stats = yield* Ref.make<TransferStats>({ uploaded: 0, downloaded: 0, left: 100 })
      const { calls, start } = yield* harness(() => Effect.succeed(response({ interval: 60 })))
      yield* start({ stats: Ref.get(stats) })
      yield* settle
      yield* Ref.set(stats, { uploaded: 5, downloaded: 40, left: 60 })
      yield* advance(60)
      yield* Ref.set(stats, { uploaded: 9, downloaded: 100, left: 0 })
      yield* advance(60)
      expect((yield* Ref.get(calls)).map((c) => c.stats)).toEqual([
        { uploaded: 0, downloaded: 0, left: 100 },
        { uploaded: 5, downloaded: 40, left: 60 },
        { uploaded: 9, downloaded: 100, left: 0 }
      ])
    }))

  it.scoped("moves on to the next tier when the first fails, and sends every answer's peers", () =>
    Effect.gen(function*() {
      const { delivered, log, start } = yield* harness((url) =>
        url === "http://a/announce" ? refused(url) : Effect.succeed(response({ peers: [peerA] }))
      )
      yield* start({ tiers: [["http://a/announce"], ["udp://b:80"]] })
      yield* settle
      expect(yield* log).toEqual([["started", "http://a/announce", 0], ["started", "udp://b:80", 0]])
      expect(yield* Ref.get(delivered)).toEqual([{ tracker: "udp://b:80", peers: [peerA] }])
    }))

  it.scoped("starts nothing for a torrent without trackers", () =>
    Effect.gen(function*() {
      for (const tiers of [[], [[]], [[], []]]) {
        const { log, start } = yield* harness(() => Effect.succeed(response()))
        yield* start({ tiers })
        yield* settle
        yield* advance(3600)
        expect(yield* log).toEqual([])
      }
    }))
})

describe("startAnnouncing: when trackers fail", () => {
  it.scoped("retries started on the backoff schedule, with no announce in between", () =>
    Effect.gen(function*() {
      const { delivered, log, start } = yield* harness((url) => refused(url))
      yield* start()
      yield* settle
      expect(yield* log).toEqual([["started", "http://a/announce", 0]])
      yield* advance(14)
      expect((yield* log).length).toBe(1)
      yield* advance(1)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 15])
      yield* advance(29)
      expect((yield* log).length).toBe(2)
      yield* advance(1)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 15, 45])
      // 15 s doubling up to a cap of 30 minutes.
      for (let i = 0; i < 20; i++) yield* advance(60)
      yield* advance(3 * 3600)
      const times = (yield* log).map(([, , at]) => at)
      const gaps = times.slice(1).map((at, i) => at - times[i]!)
      expect(gaps.slice(0, 10)).toEqual([15, 30, 60, 120, 240, 480, 960, 1800, 1800, 1800])
      expect((yield* log).every(([event]) => event === "started")).toBe(true)
      expect(yield* Ref.get(delivered)).toEqual([])
    }))

  it.scoped("tries every tracker in each retry round", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url) => refused(url))
      yield* start({ tiers: [["http://a/announce"], ["http://b/announce"]] })
      yield* settle
      yield* advance(15)
      expect((yield* log).map(([, url, at]) => [url, at])).toEqual([
        ["http://a/announce", 0],
        ["http://b/announce", 0],
        ["http://a/announce", 15],
        ["http://b/announce", 15]
      ])
    }))

  it.scoped("goes back to the regular interval once a retry succeeds", () =>
    Effect.gen(function*() {
      const { delivered, log, start } = yield* harness((url, _request, call) =>
        call < 2 ? refused(url) : Effect.succeed(response({ interval: 300, peers: [peerA] }))
      )
      yield* start()
      yield* settle
      yield* advance(15)
      yield* advance(30)
      expect((yield* log).map(([event, , at]) => [event, at])).toEqual([["started", 0], ["started", 15], [
        "started",
        45
      ]])
      expect((yield* Ref.get(delivered)).length).toBe(1)
      yield* advance(299)
      expect((yield* log).length).toBe(3)
      yield* advance(1)
      expect((yield* log).map(([event, , at]) => [event, at])[3]).toEqual([undefined, 345])
    }))

  it.scoped("backs off when a regular announce fails, restarting the schedule at 15 s", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url, _request, call) =>
        call === 0 || call === 3 ? Effect.succeed(response({ interval: 100 })) : refused(url)
      )
      yield* start()
      yield* settle
      yield* advance(100)
      yield* advance(15)
      yield* advance(30)
      expect((yield* log).map(([event, , at]) => [event, at])).toEqual([
        ["started", 0],
        [undefined, 100],
        [undefined, 115],
        [undefined, 145]
      ])
      yield* advance(100)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 100, 115, 145, 245])
    }))

  it.scoped("uses a configured retry schedule", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url) => refused(url))
      yield* start({ timing: { retry: Schedule.spaced(Duration.seconds(5)) } })
      yield* settle
      yield* advance(5)
      yield* advance(5)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 5, 10])
    }))
})

describe("startAnnouncing: shutdown", () => {
  it.effect("sends stopped to the last tracker that answered when the scope closes, then nothing more", () =>
    Effect.gen(function*() {
      const stats = yield* Ref.make<TransferStats>({ uploaded: 0, downloaded: 0, left: 100 })
      const { calls, log, start } = yield* harness((url, _request, call) =>
        // a answers the first announce, then fails; b answers from then on.
        url === "http://a/announce" && call > 0 ? refused(url) : Effect.succeed(response({ interval: 60 }))
      )
      const scope = yield* Scope.make()
      yield* start({ tiers: [["http://a/announce"], ["http://b/announce"]], stats: Ref.get(stats) }).pipe(
        Scope.extend(scope)
      )
      yield* settle
      yield* advance(60)
      expect(yield* log).toEqual([
        ["started", "http://a/announce", 0],
        [undefined, "http://a/announce", 60],
        [undefined, "http://b/announce", 60]
      ])
      yield* Ref.set(stats, { uploaded: 1, downloaded: 2, left: 98 })
      yield* advance(10)
      yield* Scope.close(scope, Exit.void)
      const all = yield* Ref.get(calls)
      expect(all.length).toBe(4)
      expect(all[3]).toEqual({
        url: "http://b/announce",
        event: "stopped",
        at: 70,
        numWant: 0,
        stats: { uploaded: 1, downloaded: 2, left: 98 }
      })
      yield* advance(3600)
      expect((yield* Ref.get(calls)).length).toBe(4)
    }))

  it.effect("sends no stopped when no tracker ever answered", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url) => refused(url))
      const scope = yield* Scope.make()
      yield* start().pipe(Scope.extend(scope))
      yield* settle
      yield* advance(15)
      yield* Scope.close(scope, Exit.void)
      yield* advance(3600)
      expect((yield* log).map(([event, , at]) => [event, at])).toEqual([["started", 0], ["started", 15]])
    }))

  it.effect("sends no stopped when the scope closes before the first answer", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness(() => Effect.never)
      const scope = yield* Scope.make()
      yield* start().pipe(Scope.extend(scope))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      expect(yield* log).toEqual([["started", "http://a/announce", 0]])
    }))

  it.effect("gives up on a stopped announce after stopTimeout", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((_url, request) =>
        request.event === "stopped" ? Effect.never : Effect.succeed(response())
      )
      const scope = yield* Scope.make()
      yield* start({ timing: { stopTimeout: Duration.seconds(5) } }).pipe(Scope.extend(scope))
      yield* settle
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      yield* advance(4)
      expect(closing.unsafePoll()).toBeNull()
      yield* advance(1)
      expect(yield* Fiber.join(closing)).toBeUndefined()
      expect((yield* log).map(([event]) => event)).toEqual(["started", "stopped"])
    }))

  it.effect("ignores a stopped announce that fails", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url, request) =>
        request.event === "stopped" ? refused(url) : Effect.succeed(response())
      )
      const scope = yield* Scope.make()
      yield* start().pipe(Scope.extend(scope))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      expect((yield* log).map(([event]) => event)).toEqual(["started", "stopped"])
    }))
})
