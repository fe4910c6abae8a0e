/**
 * The announce loop against tiers of dead, slow and good trackers, on the TestClock: a good tracker's peers arrive
 * at once whatever is dead beside it; dead trackers are given up within a minute and retried on the backoff.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Random, Schedule } from "effect"
import { type AnnounceRequest, shuffleTiers, TrackerError } from "../../src/tracker/index.js"
import { advance, harness, peerA, refused, response, settle } from "./announceHarness.js"

const DEAD = ["udp://dead1:80", "udp://dead2:80", "http://dead3/announce"]
const SLOW = "http://slow/announce"
const GOOD = "udp://good:80"

/**
 * Dead trackers never answer (only the loop's attempt timeout ends them); the slow one answers after 20 s, except
 * `stopped` (at the end of each test, when the TestClock no longer moves).
 */
const swarmOfTrackers = (url: string, request: AnnounceRequest) =>
  request.event === "stopped"
    ? Effect.succeed(response())
    : DEAD.includes(url)
    ? Effect.never
    : url === SLOW
    ? Effect.delay(Effect.succeed(response({ interval: 1800, peers: [peerA], complete: 1, incomplete: 2 })), "20 seconds")
    : Effect.succeed(response({ interval: 600, peers: [peerA, { host: "10.0.0.2", port: 1 }], complete: 5, incomplete: 9 }))

describe("announce scheduler: dead, slow and good trackers", () => {
  it.scoped("hands on the good tracker's peers at once, however many dead and slow tiers come before it", () =>
    Effect.gen(function*() {
      const { arrivals, start } = yield* harness(swarmOfTrackers)
      yield* start({ tiers: [[DEAD[0]!], [DEAD[1]!, DEAD[2]!], [SLOW], [GOOD]] })
      yield* settle
      expect(yield* arrivals).toEqual([`${GOOD}@0`])
      yield* advance(20)
      expect(yield* arrivals).toEqual([`${GOOD}@0`, `${SLOW}@20`])
    }))

  it.scoped("hands on a good tracker's peers at once when dead ones share its tier", () =>
    Effect.gen(function*() {
      const { arrivals, start } = yield* harness(swarmOfTrackers)
      const announcer = yield* start({ tiers: [[...DEAD, GOOD]] })
      yield* settle
      expect(yield* arrivals).toEqual([`${GOOD}@0`])
      // The dead ones were called off when the good one answered: nothing is known of them.
      expect(announcer.status().map((status) => status.state)).toEqual([
        "not-contacted",
        "not-contacted",
        "not-contacted",
        "working"
      ])
    }))

  it.scoped("gives dead trackers up after a minute and retries their tier on the backoff", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness(swarmOfTrackers)
      const announcer = yield* start({ tiers: [[DEAD[1]!, DEAD[2]!], [GOOD]] })
      yield* settle
      expect(announcer.status().map((status) => status.state)).toEqual(["updating", "updating", "working"])
      yield* advance(59)
      expect(announcer.status()[0]!.state).toBe("updating")
      yield* advance(1)
      for (const status of announcer.status().slice(0, 2)) {
        expect(status).toMatchObject({ state: "error", errorReason: "Timeout", failures: 1, lastAnnounce: 60_000 })
        expect(status.nextAnnounce).toBe(75_000)
        expect(status.error).toContain(status.url)
      }
      // Each round ends at the one-minute give-up; the tier then waits 15 s, 30 s, 60 s, as the backoff says.
      yield* advance(15)
      yield* advance(60)
      yield* advance(30)
      yield* advance(60)
      yield* advance(60)
      const deadCalls = (yield* log).filter(([, url]) => url === DEAD[1]).map(([, , at]) => at)
      expect(deadCalls).toEqual([0, 75, 165, 285])
      expect((yield* log).filter(([, url]) => url === DEAD[2]).map(([, , at]) => at)).toEqual(deadCalls)
      // The good tier went its own way meanwhile: started at 0, again on its 600 s interval.
      yield* advance(600 - 285)
      expect((yield* log).filter(([, url]) => url === GOOD).map(([event, , at]) => `${event}@${at}`)).toEqual([
        "started@0",
        "undefined@600"
      ])
    }))

  it.scoped("asks the tracker that answered first, and the next in its tier as soon as it fails", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url, request, call) =>
        url === GOOD && call === 3 ? refused(url) : swarmOfTrackers(url, request)
      )
      const tiers = [[DEAD[0]!, GOOD]]
      // A seed whose shuffle puts the dead tracker first.
      const seed = Array.from({ length: 50 }, (_, i) => i).find((i) =>
        Effect.runSync(shuffleTiers(tiers).pipe(Effect.withRandom(Random.make(i))))[0]![0] === DEAD[0]
      )!
      yield* start({ tiers }).pipe(Effect.withRandom(Random.make(seed)))
      yield* settle
      yield* advance(600)
      yield* advance(600)
      yield* advance(60)
      yield* advance(15)
      expect((yield* log).map(([, url, at]) => `${url === GOOD ? "good" : "dead"}@${at}`)).toEqual([
        // No tracker known to work: both at once; the good one answers.
        "dead@0",
        "good@0",
        // It is asked first, alone, from then on.
        "good@600",
        "good@1200",
        // It failed: the next of its tier at once; the dead one gives up after a minute, the tier backs off 15 s.
        "dead@1200",
        "good@1275",
        "dead@1275"
      ])
    }))

  it.scoped("reports each tracker's status: counts and peers of the last answer, next announce, not-contacted", () =>
    Effect.gen(function*() {
      const { start } = yield* harness(swarmOfTrackers)
      const announcer = yield* start({ tiers: [[GOOD], [SLOW], [DEAD[0]!]] })
      expect(announcer.status().map((status) => [status.url, status.tier, status.state])).toEqual([
        [GOOD, 1, "not-contacted"],
        [SLOW, 2, "not-contacted"],
        [DEAD[0], 3, "not-contacted"]
      ])
      yield* settle
      yield* advance(20)
      const [good, slow, dead] = announcer.status()
      expect(good).toEqual({
        url: GOOD,
        tier: 1,
        state: "working",
        failures: 0,
        lastAnnounce: 0,
        nextAnnounce: 600_000,
        seeders: 5,
        leechers: 9,
        peers: 2
      })
      expect(slow).toMatchObject({ state: "working", lastAnnounce: 20_000, nextAnnounce: 1_820_000, seeders: 1, peers: 1 })
      expect(dead).toMatchObject({ state: "updating", failures: 0 })
    }))

  it.scoped("keeps the last counts through a failure, and clears the error once the tracker answers again", () =>
    Effect.gen(function*() {
      const { start } = yield* harness((url, _request, call) =>
        call === 1 ? refused(url) : Effect.succeed(response({ interval: 100, complete: 3, incomplete: 4 }))
      )
      const announcer = yield* start({ tiers: [[GOOD]] })
      yield* settle
      yield* advance(100)
      expect(announcer.status()[0]).toMatchObject({
        state: "error",
        error: `${GOOD}: connection refused`,
        errorReason: "Network",
        seeders: 3,
        failures: 1,
        nextAnnounce: 115_000
      })
      yield* advance(15)
      const back = announcer.status()[0]!
      expect(back.state).toBe("working")
      expect(back.error).toBeUndefined()
      expect(back.failures).toBe(0)
    }))

  it.scoped("clamps an interval of a year to an hour, and of a second to 30 s", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url) =>
        Effect.succeed(response({ interval: url === GOOD ? 365 * 24 * 3600 : 1, minInterval: url === GOOD ? 400 * 24 * 3600 : 0 }))
      )
      yield* start({ tiers: [[GOOD], [SLOW]] })
      yield* settle
      yield* advance(3600)
      const at = (url: string) => Effect.map(log, (calls) => calls.filter(([, u]) => u === url).map(([, , t]) => t))
      expect(yield* at(GOOD)).toEqual([0, 3600])
      expect((yield* at(SLOW)).slice(0, 3)).toEqual([0, 30, 60])
      expect((yield* at(SLOW)).length).toBe(121)
    }))

  it.scoped("sends completed once to every tier", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness((url) => url === DEAD[0] ? refused(url) : Effect.succeed(response({ interval: 600 })))
      const completed = yield* Deferred.make<void>()
      yield* start({
        tiers: [[GOOD], [SLOW]],
        completed: Deferred.await(completed),
        timing: { retry: Schedule.spaced(Duration.seconds(5)) }
      })
      yield* settle
      yield* advance(10)
      yield* Deferred.succeed(completed, undefined)
      yield* settle
      yield* advance(600)
      const events = (yield* log).map(([event, url, at]) => `${url} ${event}@${at}`).sort()
      expect(events).toEqual([
        `${SLOW} completed@10`,
        `${SLOW} started@0`,
        `${SLOW} undefined@610`,
        `${GOOD} completed@10`,
        `${GOOD} started@0`,
        `${GOOD} undefined@610`
      ].sort())
    }))

  it.scoped("bounds a tracker that never answers by attemptTimeout", () =>
    Effect.gen(function*() {
      const { log, start } = yield* harness(swarmOfTrackers)
      const announcer = yield* start({
        tiers: [[DEAD[0]!]],
        timing: { attemptTimeout: Duration.seconds(10), retry: Schedule.spaced(Duration.seconds(5)) }
      })
      yield* settle
      yield* advance(10)
      expect(announcer.status()[0]).toMatchObject({ state: "error", error: `${DEAD[0]}: no answer within 10s` })
      yield* advance(5)
      yield* advance(15)
      expect((yield* log).map(([, , at]) => at)).toEqual([0, 15, 30])
    }))

  it.scoped("takes an answer that comes after 59 s, inside the minute a tracker is given", () =>
    Effect.gen(function*() {
      const { arrivals, start } = yield* harness((_url, request) =>
        request.event === "stopped"
          ? Effect.succeed(response())
          : Effect.delay(Effect.succeed(response({ peers: [peerA] })), "59 seconds")
      )
      const announcer = yield* start({ tiers: [[SLOW]] })
      yield* settle
      yield* advance(58)
      expect(announcer.status()[0]!.state).toBe("updating")
      yield* advance(1)
      expect(yield* arrivals).toEqual([`${SLOW}@59`])
      expect(announcer.status()[0]).toMatchObject({ state: "working", lastAnnounce: 59_000 })
    }))

  it.scoped("scrapes a tracker after each answer for its downloaded count, and keeps the announce's counts when it cannot", () =>
    Effect.gen(function*() {
      const { start } = yield* harness(swarmOfTrackers, (url) =>
        url === GOOD
          ? Effect.succeed(new Map([["01".repeat(20), { complete: 6, incomplete: 10, downloaded: 42 }]]))
          : Effect.fail(new TrackerError({ reason: "BadUrl", url, detail: "no scrape here" })))
      const announcer = yield* start({ tiers: [[GOOD], [SLOW]] })
      yield* settle
      yield* advance(20)
      expect(announcer.status()[0]).toMatchObject({ state: "working", seeders: 6, leechers: 10, downloaded: 42 })
      expect(announcer.status()[1]).toMatchObject({ state: "working", seeders: 1, leechers: 2 })
      expect(announcer.status()[1]!.downloaded).toBeUndefined()
    }))
})
