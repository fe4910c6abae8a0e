/** The Tracker service (HTTP and UDP), BEP 12 tier order, and the per-torrent announce loop. */
export {
  type AnnounceHooks,
  type AnnounceReport,
  type AnnounceTiming,
  type AnnouncerOptions,
  defaultAnnounceTiming,
  nextAnnounceDelay,
  startAnnouncing,
  type TransferStats
} from "./Announcer.js"
export { layer, layerConfig, layerTest, make, Tracker } from "./Tracker.js"
export { defaultTrackerConfig, type TrackerConfig } from "./TrackerConfig.js"
export { TrackerError, type TrackerErrorReason } from "./TrackerError.js"
export { firstAnswer, promote, shuffleTiers, type Tiers } from "./tiers.js"
export type { AnnounceEvent, AnnounceRequest, AnnounceResponse, PeerAddress, ScrapeEntry } from "./types.js"
