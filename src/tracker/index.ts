/** The Tracker service (HTTP and UDP), BEP 12 tier order, and the per-torrent announce loop. */
export {
  type AnnounceHooks,
  type AnnounceTiming,
  type Announcer,
  type AnnouncerOptions,
  defaultAnnounceTiming,
  nextAnnounceDelay,
  startAnnouncing,
  trackerRetry,
  type TransferStats
} from "./Announcer.js"
export { layer, layerConfig, layerTest, make, Tracker } from "./Tracker.js"
export { defaultTrackerConfig, type TrackerConfig } from "./TrackerConfig.js"
export { answered, failed, initialStatus, scraped, type TrackerState, type TrackerStatus } from "./status.js"
export { TrackerError, type TrackerErrorReason } from "./TrackerError.js"
export { fastestAnswer, firstAnswer, promote, shuffleTiers, type Tiers } from "./tiers.js"
export type { AnnounceEvent, AnnounceRequest, AnnounceResponse, PeerAddress, ScrapeEntry } from "./types.js"
