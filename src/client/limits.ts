import { Direction, TokenBucket } from "../peer/transport/RateLimit.js"
import type { SessionSettings, TorrentSettings } from "./Client.js"

/** A limit as a bucket rate: `Infinity` when off. A limit of 0 lets a trickle through rather than nothing. */
const rateOf = (enabled: boolean, bytesPerSecond: number) => (enabled ? Math.max(1, bytesPerSecond) : Number.POSITIVE_INFINITY)

/** The session's two buckets, shared by every torrent that honours session limits. */
export interface SessionLimits {
  readonly down: TokenBucket
  readonly up: TokenBucket
}

export const makeSessionLimits = (now: () => number): SessionLimits => ({
  down: new TokenBucket(Number.POSITIVE_INFINITY, now),
  up: new TokenBucket(Number.POSITIVE_INFINITY, now)
})

/** Sets the session's buckets from its settings: the alternative pair while it is on, else the regular limits. */
export const applySessionLimits = (limits: SessionLimits, settings: SessionSettings): void => {
  limits.down.setRate(
    settings.altSpeedEnabled ? rateOf(true, settings.altSpeedDown) : rateOf(settings.speedLimitDownEnabled, settings.speedLimitDown)
  )
  limits.up.setRate(
    settings.altSpeedEnabled ? rateOf(true, settings.altSpeedUp) : rateOf(settings.speedLimitUpEnabled, settings.speedLimitUp)
  )
}

/** A torrent's own buckets and the directions its connections are held to. */
export interface TorrentLimits {
  readonly ownDown: TokenBucket
  readonly ownUp: TokenBucket
  readonly down: Direction
  readonly up: Direction
}

export const makeTorrentLimits = (now: () => number): TorrentLimits => ({
  ownDown: new TokenBucket(Number.POSITIVE_INFINITY, now),
  ownUp: new TokenBucket(Number.POSITIVE_INFINITY, now),
  down: new Direction(),
  up: new Direction()
})

/** Sets a torrent's buckets from its settings (and the session's, unless it ignores them). */
export const applyTorrentLimits = (limits: TorrentLimits, settings: TorrentSettings, session: SessionLimits): void => {
  limits.ownDown.setRate(rateOf(settings.downloadLimited, settings.downloadLimit))
  limits.ownUp.setRate(rateOf(settings.uploadLimited, settings.uploadLimit))
  limits.down.buckets = settings.honorsSessionLimits ? [session.down, limits.ownDown] : [limits.ownDown]
  limits.up.buckets = settings.honorsSessionLimits ? [session.up, limits.ownUp] : [limits.ownUp]
}
