import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Random, Ref, Schedule, Scope } from "effect"
import type { TransferStats } from "../../src/tracker/index.js"
import { advance, harness, peerA, refused, response, settle } from "./announceHarness.js"

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

  it.scoped("hands a tracker's external ip (BEP 24) to onExternalIp, with the tracker's URL", () =>
    Effect.gen(function*() {
      const told: Array<[string, string]> = []
      const { start } = yield* harness((_, __, call) =>
        Effect.succeed(response(call === 0 ? { externalIp: "203.0.113.9" } : {}))
      )
      yield* start({ onExternalIp: (address, tracker) => told.push([address, tracker]) })
      yield* settle
      yield* advance(120)
      expect(told).toEqual([["203.0.113.9", "http://a/announce"]])
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

  it.scoped("announces to every tier at once, and sends every answer's peers", () =>
    Effect.gen(function*() {
      const { delivered, log, start } = yield* harness((url) =>
        url === "http://a/announce" ? refused(url) : Effect.succeed(response({ peers: [peerA] }))
      )
      yield* start({ tiers: [["http://a/announce"], ["udp://b:80"]] })
      yield* settle
      expect((yield* log).map(([event, url, at]) => `${event} ${url}@${at}`).sort()).toEqual([
        "started http://a/announce@0",
        "started udp://b:80@0"
      ])
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

  it.scoped("retries each failing tier on its own, every tracker of it in each round", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url) => refused(url))
      yield* start({ tiers: [["http://a/announce"], ["http://b/announce"]] })
      yield* settle
      yield* advance(15)
      const seen = (yield* log).map(([, url, at]) => `${url}@${at}`).sort()
      expect(seen).toEqual([
        "http://a/announce@0",
        "http://a/announce@15",
        "http://b/announce@0",
        "http://b/announce@15"
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
  it.effect("sends stopped to the tracker of each tier that answered last when the scope closes, then nothing more", () =>
    Effect.gen(function*() {
      const stats = yield* Ref.make<TransferStats>({ uploaded: 0, downloaded: 0, left: 100 })
      const { calls, start } = yield* harness((url, request) =>
        // a1 answers the first announce, then fails; a2 (same tier) answers from then on; b always answers.
        url === "http://a1/announce" && request.event !== "started"
          ? refused(url)
          : Effect.succeed(response({ interval: 60 }))
      )
      const scope = yield* Scope.make()
      yield* start({
        tiers: [["http://a1/announce", "http://a2/announce"], ["http://b/announce"]],
        stats: Ref.get(stats)
      }).pipe(Scope.extend(scope), Effect.withRandom(Random.make(3)))
      yield* settle
      yield* advance(60)
      yield* advance(60)
      yield* Ref.set(stats, { uploaded: 1, downloaded: 2, left: 98 })
      yield* advance(10)
      const before = (yield* Ref.get(calls)).length
      yield* Scope.close(scope, Exit.void)
      const stops = (yield* Ref.get(calls)).slice(before)
      expect(stops.map((call) => call.url).sort()).toEqual(["http://a2/announce", "http://b/announce"])
      for (const call of stops) {
        expect(call).toMatchObject({ event: "stopped", at: 130, numWant: 0, stats: { uploaded: 1, downloaded: 2, left: 98 } })
      }
      yield* advance(3600)
      expect((yield* Ref.get(calls)).length).toBe(before + 2)
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
