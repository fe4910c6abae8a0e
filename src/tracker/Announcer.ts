import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { TrackerTier } from "../metainfo/index.js"
import { firstAnswer, shuffleTiers } from "./tiers.js"
import { Tracker } from "./Tracker.js"
import type { TrackerError } from "./TrackerError.js"
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse, PeerAddress } from "./types.js"

/** What we have transferred, read fresh for every announce. */
export interface TransferStats {
  readonly uploaded: number
  readonly downloaded: number
  readonly left: number
}

/** The announce loop's timing, in one place. */
export interface AnnounceTiming {
  /** After a round in which every tracker failed: when to try again. */
  readonly retry: Schedule.Schedule<unknown, TrackerError>
  /** The shortest wait between regular announces, whatever a tracker's `interval` says. */
  readonly minimumInterval: Duration.DurationInput
  /** How long the `stopped` announce may take at shutdown. */
  readonly stopTimeout: Duration.DurationInput
}

export const defaultAnnounceTiming: AnnounceTiming = {
  // 15 s, 30 s, 1 min, … capped at 30 min: exponential backoff, then a steady retry.
  retry: Schedule.exponential(Duration.seconds(15)).pipe(Schedule.union(Schedule.spaced(Duration.minutes(30)))),
  minimumInterval: Duration.seconds(30),
  stopTimeout: Duration.seconds(5)
}

/** What one announce to one tracker came to, for a client's list of trackers. Times in ms since the epoch. */
export interface AnnounceReport {
  readonly url: string
  readonly at: number
  readonly ok: boolean
  /** "Success", the tracker's warning, or what went wrong. */
  readonly message: string
  readonly peers: number
  readonly seeders: number | undefined
  readonly leechers: number | undefined
  /** When the next regular announce is due, after a success. */
  readonly next: number | undefined
}

/** Hooks for a client that shows its trackers and lets a user announce now. */
export interface AnnounceHooks {
  /** Called after every announce attempt, plain code. */
  readonly onReport?: (report: AnnounceReport) => void
  /** Completes when an announce is wanted now (a user's "reannounce"); evaluated afresh after each announce. */
  readonly now?: Effect.Effect<void>
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
  /**
   * Completes when the download does: a `completed` announce then goes out at once (BEP 3), once. Leave it out
   * for a torrent that was complete from the start (it announces `started` with `left` 0 and never `completed`).
   */
  readonly completed?: Effect.Effect<void>
  readonly timing?: Partial<AnnounceTiming>
  readonly hooks?: AnnounceHooks
}

/** The wait before the next regular announce: the tracker's interval, no less than its `min interval` or our floor. */
export const nextAnnounceDelay = (response: AnnounceResponse, minimum: Duration.DurationInput): Duration.Duration =>
  Duration.max(
    Duration.seconds(Math.max(response.interval, response.minInterval ?? 0)),
    Duration.decode(minimum)
  )

/**
 * Starts a torrent's announce loop in the current scope: `started`, then regular announces on the tracker's
 * interval, backing off when every tracker fails, and `stopped` to the last tracker that answered when the scope
 * closes. A torrent without trackers starts nothing.
 */
export const startAnnouncing = (options: AnnouncerOptions): Effect.Effect<void, never, Tracker | Scope.Scope> =>
  Effect.gen(function*() {
    if (options.tiers.every((tier) => tier.length === 0)) return
    const tracker = yield* Tracker
    const timing = { ...defaultAnnounceTiming, ...options.timing }
    const tiers = yield* Ref.make(yield* shuffleTiers(options.tiers))
    const lastAnswered = yield* Ref.make(Option.none<string>())
    const clock = yield* Effect.clock
    const onReport = options.hooks?.onReport
    /** Announces to `url`, telling the hooks how it went. */
    const announceTo = (url: string, req: AnnounceRequest) =>
      onReport === undefined ? tracker.announce(url, req) : tracker.announce(url, req).pipe(
        Effect.tap((answer) => {
          const at = clock.unsafeCurrentTimeMillis()
          onReport({
            url,
            at,
            ok: true,
            message: answer.warning ?? "Success",
            peers: answer.peers.length,
            seeders: answer.complete,
            leechers: answer.incomplete,
            next: at + Duration.toMillis(nextAnnounceDelay(answer, timing.minimumInterval))
          })
        }),
        Effect.tapError((error) =>
          Effect.sync(() =>
            onReport({
              url,
              at: clock.unsafeCurrentTimeMillis(),
              ok: false,
              message: error.message,
              peers: 0,
              seeders: undefined,
              leechers: undefined,
              next: undefined
            })
          )
        )
      )

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

    const announceRound = (event: AnnounceEvent | undefined) =>
      Effect.gen(function*() {
        const req = yield* request(event)
        const { answer, url } = yield* firstAnswer(
          tiers,
          (url) => announceTo(url, req),
          (error) => Effect.logDebug(`announce failed: ${error.message}`)
        )
        yield* Ref.set(lastAnswered, Option.some(url))
        if (answer.warning !== undefined) yield* Effect.logWarning(`${url}: tracker warning: ${answer.warning}`)
        yield* Effect.logDebug(`${url}: ${answer.peers.length} peers, next announce in ${answer.interval} s`)
        yield* options.onPeers(answer.peers, url)
        return answer
      }).pipe(
        Effect.tapError((error) => Effect.logWarning(`no tracker answered; last error: ${error.message}`)),
        Effect.retry(timing.retry)
      )

    const loop = Effect.gen(function*() {
      let completion = options.completed ?? Effect.never
      const asked = options.hooks?.now ?? Effect.never
      let answer = yield* announceRound("started")
      for (;;) {
        const completedNow = yield* Effect.raceAll([
          Effect.as(Effect.sleep(nextAnnounceDelay(answer, timing.minimumInterval)), false),
          Effect.as(asked, false),
          Effect.as(completion, true)
        ])
        if (completedNow) completion = Effect.never
        answer = yield* announceRound(completedNow ? "completed" : undefined)
      }
    })

    const stopped = Effect.gen(function*() {
      const url = yield* Ref.get(lastAnswered)
      if (Option.isNone(url)) return
      const req = yield* request("stopped")
      // Finalizers run uninterruptibly; without `interruptible` the timeout could not cancel a hanging request.
      yield* tracker.announce(url.value, req).pipe(
        Effect.interruptible,
        Effect.timeout(timing.stopTimeout),
        Effect.tapError((error) => Effect.logDebug(`stopped announce failed: ${error.message}`)),
        Effect.ignore
      )
    })

    // Finalizers run last-in first-out: the loop is interrupted first, then `stopped` is sent.
    yield* Effect.addFinalizer(() => stopped)
    yield* Effect.forkScoped(loop)
  }).pipe(Effect.annotateLogs("module", "announce"))
