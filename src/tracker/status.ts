import type { TrackerErrorReason } from "./TrackerError.js"
import type { AnnounceResponse, ScrapeEntry } from "./types.js"

/**
 * Where one tracker stands: `not-contacted` (another tracker of its tier answers, or none was tried yet),
 * `updating` (an announce is in flight), `working` (its last announce was answered), `error` (it failed).
 */
export type TrackerState = "not-contacted" | "updating" | "working" | "error"

/** One tracker of a torrent as its announce loop sees it. Times are epoch milliseconds. */
export interface TrackerStatus {
  readonly url: string
  /** Its BEP 12 tier, counted from 1. */
  readonly tier: number
  readonly state: TrackerState
  /** Why its last announce failed (one line naming the tracker), while it is in error. */
  readonly error?: string
  readonly errorReason?: TrackerErrorReason
  /** Failures in a row since it last answered. */
  readonly failures: number
  /** When its last announce ended, answered or not. */
  readonly lastAnnounce?: number
  /** When its tier announces next (a regular announce, or a retry after failing). */
  readonly nextAnnounce?: number
  /** Swarm counts from its last answer, when it gave them. */
  readonly seeders?: number
  readonly leechers?: number
  readonly downloaded?: number
  /** Peers its last answer held. */
  readonly peers?: number
  /** The warning its last answer carried, if any. */
  readonly warning?: string
}

/** Every tracker of the tiers, not contacted yet. */
export const initialStatus = (tiers: ReadonlyArray<ReadonlyArray<string>>): Map<string, TrackerStatus> =>
  new Map(tiers.flatMap((tier, i) => tier.map((url) => [url, { url, tier: i + 1, state: "not-contacted", failures: 0 }])))

/** The tracker answered at `now`. */
export const answered = (status: TrackerStatus, answer: AnnounceResponse, now: number): TrackerStatus => {
  const { error: _error, errorReason: _reason, warning: _warning, ...rest } = status
  return {
    ...rest,
    ...(answer.warning === undefined ? {} : { warning: answer.warning }),
    state: "working",
    failures: 0,
    lastAnnounce: now,
    peers: answer.peers.length,
    ...(answer.complete === undefined ? {} : { seeders: answer.complete }),
    ...(answer.incomplete === undefined ? {} : { leechers: answer.incomplete })
  }
}

/** The tracker failed at `now`; counts from earlier answers are kept. */
export const failed = (
  status: TrackerStatus,
  error: { readonly message: string; readonly reason: TrackerErrorReason },
  now: number
): TrackerStatus => ({
  ...status,
  state: "error",
  error: error.message,
  errorReason: error.reason,
  failures: status.failures + 1,
  lastAnnounce: now
})

/** A scrape's counts for the torrent, which replace the announce's. */
export const scraped = (status: TrackerStatus, entry: ScrapeEntry): TrackerStatus => ({
  ...status,
  seeders: entry.complete,
  leechers: entry.incomplete,
  downloaded: entry.downloaded
})
