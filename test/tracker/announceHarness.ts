/** A Tracker double that records every announce, and the announce loop started against it, on the TestClock. */
import { Clock, Duration, Effect, Ref, TestClock } from "effect"
import {
  type AnnounceEvent,
  type AnnounceRequest,
  type AnnounceResponse,
  type AnnouncerOptions,
  layerTest,
  type PeerAddress,
  type ScrapeEntry,
  startAnnouncing,
  type TransferStats,
  TrackerError
} from "../../src/tracker/index.js"

export interface Call {
  readonly url: string
  readonly event: AnnounceEvent | undefined
  /** Seconds on the TestClock. */
  readonly at: number
  readonly numWant: number
  readonly stats: TransferStats
}

export const response = (overrides: Partial<AnnounceResponse> = {}): AnnounceResponse => ({
  interval: 120,
  minInterval: undefined,
  peers: [],
  complete: undefined,
  incomplete: undefined,
  warning: undefined,
  trackerId: undefined,
  ...overrides
})

export const refused = (url: string) => Effect.fail(new TrackerError({ reason: "Network", url, detail: "connection refused" }))

/** How the double answers: given the URL, the request and the 0-based number of the call. */
export type Script = (url: string, request: AnnounceRequest, call: number) => Effect.Effect<AnnounceResponse, TrackerError>

export const peerA: PeerAddress = { host: "10.0.0.1", port: 6881 }

/** A Tracker double that records every announce, and a way to start the announce loop against it. */
export const harness = (
  script: Script,
  scrapeScript?: (url: string) => Effect.Effect<ReadonlyMap<string, ScrapeEntry>, TrackerError>
) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make<ReadonlyArray<Call>>([])
    const delivered = yield* Ref.make<ReadonlyArray<{ readonly tracker: string; readonly peers: ReadonlyArray<PeerAddress> }>>([])
    /** `url@seconds` of every answer handed on, in order. */
    const arrivals = yield* Ref.make<ReadonlyArray<string>>([])
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
    /** Scrapes fail, as on a tracker without a scrape URL, unless a test gives its own. */
    const scrape = scrapeScript ??
      ((url: string) => Effect.fail(new TrackerError({ reason: "BadUrl", url, detail: "no scrape here" })))
    const options: AnnouncerOptions = {
      tiers: [["http://a/announce"]],
      infoHash: new Uint8Array(20).fill(1),
      peerId: new Uint8Array(20).fill(2),
      port: 6881,
      key: 7,
      stats: Effect.succeed({ uploaded: 0, downloaded: 0, left: 100 }),
      onPeers: (peers, tracker) =>
        Effect.flatMap(Clock.currentTimeMillis, (ms) =>
          Effect.zipRight(
            Ref.update(delivered, (list) => [...list, { tracker, peers }]),
            Ref.update(arrivals, (list) => [...list, `${tracker}@${ms / 1000}`])
          ))
    }
    const start = (overrides: Partial<AnnouncerOptions> = {}) =>
      startAnnouncing({ ...options, ...overrides }).pipe(Effect.provide(layerTest({ announce, scrape })))
    /** `[event, url, seconds]` of every call so far. */
    const log = Effect.map(Ref.get(calls), (list) => list.map((c) => [c.event, c.url, c.at] as const))
    return { arrivals, calls, delivered, log, start }
  })

/** Lets forked fibers run what is due without moving the clock. */
export const settle = TestClock.adjust(Duration.zero)
export const advance = (seconds: number) => TestClock.adjust(Duration.seconds(seconds))
