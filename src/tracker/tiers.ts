import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import type { TrackerTier } from "../metainfo/index.js"
import type { TrackerError } from "./TrackerError.js"

/**
 * BEP 12 multitracker order. Tiers are tried in order; within a tier the URLs are shuffled once, and a tracker that
 * answers moves to the front of its tier so it is tried first next time. (The announce loop runs one of these per
 * tier, every tier at once.)
 */
export type Tiers = ReadonlyArray<TrackerTier>

/** Shuffles the URLs within each tier (once, when a torrent starts); the tier order is kept. */
export const shuffleTiers = (tiers: Tiers): Effect.Effect<Tiers> =>
  Effect.forEach(tiers, (tier) => Effect.map(Random.shuffle(tier), (chunk) => Array.from(chunk)))

/** Moves `url` to the front of its tier. */
export const promote = (tiers: Tiers, url: string): Tiers =>
  tiers.map((tier) => (tier.includes(url) ? [url, ...tier.filter((other) => other !== url)] : tier))

/** An answer and the tracker that gave it. */
export interface Answered<A> {
  readonly url: string
  readonly answer: A
}

/** Asks the trackers as `combine` runs their attempts, promoting the one that answers within its tier. */
const answerFrom = <A>(
  name: string,
  tiers: Ref.Ref<Tiers>,
  attempt: (url: string) => Effect.Effect<A, TrackerError>,
  onFailure: (error: TrackerError) => Effect.Effect<void>,
  combine: (
    attempts: ReadonlyArray<Effect.Effect<Answered<A>, TrackerError>>
  ) => Effect.Effect<Answered<A>, TrackerError>
): Effect.Effect<Answered<A>, TrackerError> =>
  Effect.gen(function*() {
    const urls = (yield* Ref.get(tiers)).flat()
    if (urls.length === 0) return yield* Effect.dieMessage(`${name} needs at least one tracker`)
    const result = yield* combine(
      urls.map((url) => attempt(url).pipe(Effect.tapError(onFailure), Effect.map((answer) => ({ url, answer }))))
    )
    yield* Ref.update(tiers, (current) => promote(current, result.url))
    return result
  })

/**
 * Tries each tracker in tier order until one answers, promoting it within its tier. Fails with the last error
 * when every tracker failed, after reporting each failure to `onFailure`. `tiers` must hold at least one URL.
 */
export const firstAnswer = <A>(
  tiers: Ref.Ref<Tiers>,
  attempt: (url: string) => Effect.Effect<A, TrackerError>,
  onFailure: (error: TrackerError) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<Answered<A>, TrackerError> => answerFrom("firstAnswer", tiers, attempt, onFailure, Effect.firstSuccessOf)

/**
 * Asks every tracker at once and takes the first answer, promoting its tracker; the others are interrupted. For a
 * tier none of whose trackers is known to work: asked in order, a dead tracker first in line would hold a live one
 * back by its whole timeout. Fails with the last error when every tracker failed, after reporting each failure.
 */
export const fastestAnswer = <A>(
  tiers: Ref.Ref<Tiers>,
  attempt: (url: string) => Effect.Effect<A, TrackerError>,
  onFailure: (error: TrackerError) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<Answered<A>, TrackerError> => answerFrom("fastestAnswer", tiers, attempt, onFailure, Effect.raceAll)
