import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { TrackerTier } from "../metainfo/index.js"
import { answered, failed, initialStatus, scraped, type TrackerStatus } from "./status.js"
import { fastestAnswer, firstAnswer, shuffleTiers, type Tiers } from "./tiers.js"
import { Tracker } from "./Tracker.js"
import { TrackerError } from "./TrackerError.js"
import type { AnnounceEvent, AnnounceResponse, PeerAddress } from "./types.js"

/** What we have transferred, read fresh for every announce. */
export interface TransferStats {
  readonly uploaded: number
  readonly downloaded: number
  readonly left: number
}

/** The announce loop's timing, in one place. */
export interface AnnounceTiming {
  /** After a round in which every tracker of a tier failed: when that tier tries again. */
  readonly retry: Schedule.Schedule<unknown, TrackerError>
  /** The shortest wait between regular announces, whatever a tracker's `interval` says. */
  readonly minimumInterval: Duration.DurationInput
  /** The longest wait between regular announces, whatever a tracker's `interval` (or `min interval`) says. */
  readonly maximumInterval: Duration.DurationInput
  /**
   * How long one announce to one tracker may take before it counts as failed and its tier moves on. It bounds
   * what the Tracker service's own timeouts do not (a UDP tracker that connects, then never answers the announce).
   */
  readonly attemptTimeout: Duration.DurationInput
  /** How long the `stopped` announces may take at shutdown. */
  readonly stopTimeout: Duration.DurationInput
}

/** 15 s, 30 s, 1 min, … capped at 30 min: exponential backoff for a tier none of whose trackers answers. */
export const trackerRetry: Schedule.Schedule<unknown, TrackerError> = Schedule.exponential(Duration.seconds(15)).pipe(
  Schedule.union(Schedule.spaced(Duration.minutes(30)))
)

export const defaultAnnounceTiming: AnnounceTiming = {
  retry: trackerRetry,
  minimumInterval: Duration.seconds(30),
  maximumInterval: Duration.hours(1),
  attemptTimeout: Duration.minutes(1),
  stopTimeout: Duration.seconds(5)
}

export interface AnnouncerOptions {
  readonly tiers: ReadonlyArray<TrackerTier>
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
  readonly port: number
  readonly key: number
  readonly numWant?: number
  readonly stats: Effect.Effect<TransferStats>
  /** Receives the peers of every successful announce, with the tracker that sent them. */
  readonly onPeers: (peers: ReadonlyArray<PeerAddress>, tracker: string) => Effect.Effect<void>
  /** A tracker's BEP 24 `external ip`: where it saw us announce from (one vote among others, the caller's to weigh). */
  readonly onExternalIp?: (address: string, tracker: string) => void
  /**
   * Completes when the download does: a `completed` announce then goes out at once (BEP 3), once per tier. Leave it
   * out for a torrent that was complete from the start (it announces `started` with `left` 0 and never `completed`).
   */
  readonly completed?: Effect.Effect<void>
  readonly timing?: Partial<AnnounceTiming>
  /**
   * Scrape a tracker after each announce it answers, for the swarm's `downloaded` count (and fresher seeders and
   * leechers) in its status. Default true; a tracker that cannot scrape just keeps its announce's counts.
   */
  readonly scrape?: boolean
  readonly hooks?: AnnounceHooks
}

/** Hooks for a client that shows its trackers and lets a user announce now. */
export interface AnnounceHooks {
  /** Completes when an announce is wanted now (a user's "reannounce"): every tier announces. Evaluated afresh. */
  readonly now?: Effect.Effect<void>
}

/** A running announce loop. */
export interface Announcer {
  /** Every tracker's status, in the torrent's tier order (plain code: cheap to read for every progress line). */
  readonly status: () => ReadonlyArray<TrackerStatus>
}

/**
 * The wait before the next regular announce: the tracker's interval, no less than its `min interval`, within our
 * bounds (a tracker asking for 1 s or a year gets the floor or the ceiling).
 */
export const nextAnnounceDelay = (
  response: AnnounceResponse,
  minimum: Duration.DurationInput,
  maximum: Duration.DurationInput = defaultAnnounceTiming.maximumInterval
): Duration.Duration =>
  Duration.clamp(Duration.seconds(Math.max(response.interval, response.minInterval ?? 0)), { minimum, maximum })

/**
 * Starts a torrent's announce loop in the current scope. Every tier announces at once, independently (a dead
 * tier never delays a live one). Within a tier, while no tracker is known to work (at the start, after a round in
 * which all failed) all are asked at once and the fastest kept; then the one that answered is asked first and the
 * others in order after it as soon as it fails (BEP 12). A tier announces `started`, then on its tracker's
 * interval (within bounds), `completed` when the download completes, and backs off on `timing.retry` when none of
 * its trackers answers. When the scope closes, `stopped` goes to the tracker of each tier that answered last. A
 * torrent without trackers starts nothing.
 */
export const startAnnouncing = (options: AnnouncerOptions): Effect.Effect<Announcer, never, Tracker | Scope.Scope> =>
  Effect.gen(function*() {
    // Written by the tier fibers, read by progress: plain state, as the swarm's counters are.
    const statuses = initialStatus(options.tiers)
    const announcer: Announcer = { status: () => [...statuses.values()] }
    if (statuses.size === 0) return announcer
    const tracker = yield* Tracker
    const timing = { ...defaultAnnounceTiming, ...options.timing }
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const update = (url: string, change: (status: TrackerStatus) => TrackerStatus) =>
      Effect.sync(() => {
        const status = statuses.get(url)
        if (status !== undefined) statuses.set(url, change(status))
      })
    /** Per tier: the tracker that answered last, told `stopped` at the end. */
    const lastAnswered = new Map<number, string>()
    /** Scrapes, beside the announces: they never hold a tier's schedule up. */
    const scrapes = yield* FiberSet.make<void>()
    const infoHashHex = Buffer.from(options.infoHash).toString("hex")
    /** Completed (and replaced) each time the hooks ask for an announce now: every tier waits on the current one. */
    const wanted = yield* Ref.make(yield* Deferred.make<void>())
    const askedNow = Effect.flatMap(Ref.get(wanted), Deferred.await)
    const announceNow = options.hooks?.now
    if (announceNow !== undefined) {
      yield* Effect.forkScoped(Effect.forever(
        announceNow.pipe(
          Effect.zipRight(Deferred.make<void>()),
          Effect.flatMap((next) => Ref.getAndSet(wanted, next)),
          Effect.flatMap((current) => Deferred.succeed(current, undefined))
        )
      ))
    }

    const request = (event: AnnounceEvent | undefined) =>
      Effect.map(options.stats, (stats) => ({
        ...stats,
        infoHash: options.infoHash,
        peerId: options.peerId,
        port: options.port,
        key: options.key,
        numWant: event === "stopped" ? 0 : options.numWant ?? 50,
        event
      }))

    const timedOut = (url: string) =>
      new TrackerError({
        reason: "Timeout",
        url,
        detail: `no answer within ${Duration.format(Duration.decode(timing.attemptTimeout))}`
      })

    /** One announce to one tracker, bounded in time, its status kept (and put back if the attempt is called off). */
    const attempt = (event: AnnounceEvent | undefined) => (url: string) => {
      const before = statuses.get(url)
      return update(url, (status) => ({ ...status, state: "updating" })).pipe(
        Effect.zipRight(request(event)),
        Effect.flatMap((req) => tracker.announce(url, req)),
        Effect.timeoutFail({ duration: timing.attemptTimeout, onTimeout: () => timedOut(url) }),
        Effect.tapBoth({
          onFailure: (error) => update(url, (status) => failed(status, error, now())),
          onSuccess: (answer) => update(url, (status) => answered(status, answer, now()))
        }),
        Effect.onInterrupt(() => before === undefined ? Effect.void : update(url, () => before))
      )
    }

    const scrapeCounts = (url: string) =>
      tracker.scrape(url, [options.infoHash]).pipe(
        Effect.timeoutFail({ duration: timing.attemptTimeout, onTimeout: () => timedOut(url) }),
        Effect.flatMap((entries) => {
          const entry = entries.get(infoHashHex)
          return entry === undefined ? Effect.void : update(url, (status) => scraped(status, entry))
        }),
        Effect.catchAll((error) => Effect.logDebug(`scrape failed: ${error.message}`))
      )

    const runTier = (index: number, urls: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const tier = yield* Ref.make<Tiers>([urls])
        const announceAt = (delay: Duration.Duration) =>
          Effect.sync(() => {
            const at = now() + Duration.toMillis(delay)
            for (const url of urls) {
              const status = statuses.get(url)
              if (status !== undefined) statuses.set(url, { ...status, nextAnnounce: at })
            }
          })

        /** Whether the tier's first tracker answered its last round: then it is asked first, alone. */
        let working = false

        /**
         * Asks the tier's trackers in order from the one that answered last, until one answers (BEP 12); while none
         * is known to work, all at once, keeping the fastest. Backs off and asks again while none answers.
         */
        const round = (event: AnnounceEvent | undefined) =>
          Effect.suspend(() =>
            (working ? firstAnswer : fastestAnswer)(
              tier,
              attempt(event),
              (error) => Effect.logDebug(`announce failed: ${error.message}`)
            )
          ).pipe(
            Effect.tap(({ answer, url }) =>
              Effect.gen(function*() {
                working = true
                lastAnswered.set(index, url)
                if (answer.warning !== undefined) yield* Effect.logWarning(`${url}: tracker warning: ${answer.warning}`)
                yield* Effect.logDebug(`${url}: ${answer.peers.length} peers, next announce in ${answer.interval} s`)
                if (answer.externalIp !== undefined) options.onExternalIp?.(answer.externalIp, url)
                yield* options.onPeers(answer.peers, url)
                if (options.scrape ?? true) yield* FiberSet.run(scrapes, scrapeCounts(url))
              })
            ),
            Effect.map(({ answer }) => answer),
            Effect.tapError((error) =>
              Effect.zipRight(
                Effect.sync(() => {
                  working = false
                }),
                Effect.logDebug(`no tracker of tier ${index + 1} answered; last error: ${error.message}`)
              )
            ),
            Effect.retry(Schedule.delays(timing.retry).pipe(Schedule.tapOutput(announceAt)))
          )

        let completion = options.completed ?? Effect.never
        let answer = yield* round("started")
        for (;;) {
          const delay = nextAnnounceDelay(answer, timing.minimumInterval, timing.maximumInterval)
          yield* announceAt(delay)
          const completedNow = yield* Effect.raceAll([
            Effect.as(Effect.sleep(delay), false),
            Effect.as(askedNow, false),
            Effect.as(completion, true)
          ])
          if (completedNow) completion = Effect.never
          answer = yield* round(completedNow ? "completed" : undefined)
        }
      }).pipe(Effect.annotateLogs("tier", index + 1))

    const stopped = Effect.gen(function*() {
      const urls = [...lastAnswered.values()]
      if (urls.length === 0) return
      const req = yield* request("stopped")
      // Finalizers run uninterruptibly; without `interruptible` the timeout could not cancel a hanging request.
      yield* Effect.forEach(urls, (url) =>
        tracker.announce(url, req).pipe(
          Effect.interruptible,
          Effect.timeout(timing.stopTimeout),
          Effect.tapError((error) => Effect.logDebug(`stopped announce failed: ${error.message}`)),
          Effect.ignore
        ), { concurrency: "unbounded", discard: true })
    })

    // Finalizers run last-in first-out: the tiers are interrupted first, then `stopped` is sent.
    yield* Effect.addFinalizer(() => stopped)
    const tiers = yield* shuffleTiers(options.tiers)
    yield* Effect.forEach(
      tiers,
      (urls, index) => urls.length === 0 ? Effect.void : Effect.forkScoped(runTier(index, urls)),
      { discard: true }
    )
    return announcer
  }).pipe(Effect.annotateLogs("module", "announce"))
