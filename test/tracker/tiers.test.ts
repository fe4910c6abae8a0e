import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Random, Ref } from "effect"
import fc from "fast-check"
import { fastestAnswer, firstAnswer, promote, shuffleTiers, type Tiers, TrackerError } from "../../src/tracker/index.js"

const failure = (url: string) => new TrackerError({ reason: "Network", url, detail: "connection refused" })

/** An `attempt` that answers for the URLs in `answering` and fails for the others, recording every call. */
const scripted = (answering: ReadonlyArray<string>) =>
  Effect.map(Ref.make<ReadonlyArray<string>>([]), (calls) => ({
    calls,
    attempt: (url: string) =>
      Ref.update(calls, (list) => [...list, url]).pipe(
        Effect.zipRight(answering.includes(url) ? Effect.succeed(`answer from ${url}`) : Effect.fail(failure(url)))
      )
  }))

describe("promote", () => {
  it("moves the URL to the front of its own tier only", () => {
    const tiers: Tiers = [["a", "b", "c"], ["d", "e"], ["f"]]
    expect(promote(tiers, "c")).toEqual([["c", "a", "b"], ["d", "e"], ["f"]])
    expect(promote(tiers, "e")).toEqual([["a", "b", "c"], ["e", "d"], ["f"]])
    expect(promote(tiers, "a")).toEqual(tiers)
    expect(promote(tiers, "f")).toEqual(tiers)
  })

  it("leaves the tiers alone for an unknown URL", () => {
    const tiers: Tiers = [["a", "b"], ["c"]]
    expect(promote(tiers, "z")).toEqual(tiers)
  })

  it("does not mutate its input", () => {
    const tiers: Tiers = [["a", "b", "c"], ["d"]]
    promote(tiers, "c")
    expect(tiers).toEqual([["a", "b", "c"], ["d"]])
  })

  it("keeps every tier's set of URLs and their relative order behind the promoted one", () => {
    const tiersArb = fc.array(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 6 }), {
      maxLength: 4
    }).map((tiers) => {
      // Make URLs unique across tiers, as trackerTiers does.
      const seen = new Set<string>()
      return tiers.map((tier) => tier.filter((url) => !seen.has(url) && seen.add(url)))
    })
    fc.assert(fc.property(tiersArb, fc.string({ minLength: 1, maxLength: 3 }), (tiers, url) => {
      const promoted = promote(tiers, url)
      expect(promoted.length).toBe(tiers.length)
      promoted.forEach((tier, i) => {
        const before = tiers[i]!
        expect([...tier].sort()).toEqual([...before].sort())
        if (before.includes(url)) {
          expect(tier[0]).toBe(url)
          expect(tier.slice(1)).toEqual(before.filter((other) => other !== url))
        } else {
          expect(tier).toEqual(before)
        }
      })
    }))
  })
})

describe("shuffleTiers", () => {
  const runSeeded = (tiers: Tiers, seed: number): Tiers =>
    Effect.runSync(shuffleTiers(tiers).pipe(Effect.withRandom(Random.make(seed))))

  it("keeps the tier order and each tier's set of URLs", () => {
    const tiersArb = fc.array(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 8 }), { maxLength: 5 })
    fc.assert(fc.property(tiersArb, fc.integer(), (tiers, seed) => {
      const shuffled = runSeeded(tiers, seed)
      expect(shuffled.length).toBe(tiers.length)
      shuffled.forEach((tier, i) => {
        expect([...tier].sort()).toEqual([...tiers[i]!].sort())
      })
    }))
  })

  it("does shuffle within a tier, never across tiers", () => {
    const tiers: Tiers = [["a", "b", "c", "d", "e"], ["f", "g", "h"]]
    const firstTiers = new Set<string>()
    const secondTiers = new Set<string>()
    for (let seed = 0; seed < 50; seed++) {
      const shuffled = runSeeded(tiers, seed)
      firstTiers.add(shuffled[0]!.join(""))
      secondTiers.add(shuffled[1]!.join(""))
      expect(shuffled[1]!.every((url) => "fgh".includes(url))).toBe(true)
    }
    expect(firstTiers.size).toBeGreaterThan(10)
    expect(secondTiers.size).toBeGreaterThan(1)
  })
})

describe("firstAnswer", () => {
  it.effect("tries tier 1 before tier 2 and stops at the first answer", () =>
    Effect.gen(function*() {
      const tiers = yield* Ref.make<Tiers>([["a"], ["b"], ["c"]])
      const { attempt, calls } = yield* scripted(["a", "b"])
      const result = yield* firstAnswer(tiers, attempt)
      expect(result).toEqual({ url: "a", answer: "answer from a" })
      expect(yield* Ref.get(calls)).toEqual(["a"])
      expect(yield* Ref.get(tiers)).toEqual([["a"], ["b"], ["c"]])
    }))

  it.effect("falls through failures, within and across tiers, and promotes the answering URL", () =>
    Effect.gen(function*() {
      const tiers = yield* Ref.make<Tiers>([["a1", "a2"], ["b1", "b2", "b3"], ["c"]])
      const { attempt, calls } = yield* scripted(["b3", "c"])
      const failures = yield* Ref.make<ReadonlyArray<string>>([])
      const result = yield* firstAnswer(tiers, attempt, (error) => Ref.update(failures, (list) => [...list, error.url]))
      expect(result).toEqual({ url: "b3", answer: "answer from b3" })
      expect(yield* Ref.get(calls)).toEqual(["a1", "a2", "b1", "b2", "b3"])
      expect(yield* Ref.get(failures)).toEqual(["a1", "a2", "b1", "b2"])
      expect(yield* Ref.get(tiers)).toEqual([["a1", "a2"], ["b3", "b1", "b2"], ["c"]])
    }))

  it.effect("tries the promoted URL first next time", () =>
    Effect.gen(function*() {
      const tiers = yield* Ref.make<Tiers>([["a", "b", "c"]])
      const first = yield* scripted(["c"])
      yield* firstAnswer(tiers, first.attempt)
      const second = yield* scripted(["a", "b", "c"])
      const result = yield* firstAnswer(tiers, second.attempt)
      expect(result.url).toBe("c")
      expect(yield* Ref.get(second.calls)).toEqual(["c"])
    }))

  it.effect("fails with the last error when every tracker fails, after reporting each failure", () =>
    Effect.gen(function*() {
      const tiers = yield* Ref.make<Tiers>([["a", "b"], [], ["c"]])
      const { attempt, calls } = yield* scripted([])
      const failures = yield* Ref.make<ReadonlyArray<TrackerError>>([])
      const error = yield* Effect.flip(
        firstAnswer(tiers, attempt, (e) => Ref.update(failures, (list) => [...list, e]))
      )
      expect(error).toBeInstanceOf(TrackerError)
      expect(error.url).toBe("c")
      expect(yield* Ref.get(calls)).toEqual(["a", "b", "c"])
      expect((yield* Ref.get(failures)).map((e) => e.url)).toEqual(["a", "b", "c"])
      expect(yield* Ref.get(tiers)).toEqual([["a", "b"], [], ["c"]])
    }))

  it.effect("dies when there is no tracker at all", () =>
    Effect.gen(function*() {
      for (const empty of [[], [[]], [[], []]] satisfies ReadonlyArray<Tiers>) {
        const tiers = yield* Ref.make<Tiers>(empty)
        const { attempt, calls } = yield* scripted([])
        const exit = yield* Effect.exit(firstAnswer(tiers, attempt))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(yield* Ref.get(calls)).toEqual([])
      }
    }))
})

describe("fastestAnswer", () => {
  it.effect("asks every tracker at once and promotes the one that answers", () =>
    Effect.gen(function*() {
      const tiers = yield* Ref.make<Tiers>([["a", "b", "c"]])
      const { attempt, calls } = yield* scripted(["c"])
      const failures = yield* Ref.make<ReadonlyArray<string>>([])
      const result = yield* fastestAnswer(tiers, attempt, (error) => Ref.update(failures, (list) => [...list, error.url]))
      expect(result).toEqual({ url: "c", answer: "answer from c" })
      expect(yield* Ref.get(calls)).toEqual(["a", "b", "c"])
      expect(yield* Ref.get(failures)).toEqual(["a", "b"])
      expect(yield* Ref.get(tiers)).toEqual([["c", "a", "b"]])
    }))

  it.effect("fails after every tracker failed, and dies without any", () =>
    Effect.gen(function*() {
      const tiers = yield* Ref.make<Tiers>([["a", "b"]])
      const { attempt } = yield* scripted([])
      const error = yield* Effect.flip(fastestAnswer(tiers, attempt))
      expect(["a", "b"]).toContain(error.url)
      expect(yield* Ref.get(tiers)).toEqual([["a", "b"]])
      const exit = yield* Effect.exit(fastestAnswer(yield* Ref.make<Tiers>([[]]), attempt))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
    }))
})
