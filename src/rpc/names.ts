/**
 * Transmission's two spellings of every name. Up to rpc-version 17 methods and session keys are kebab-case
 * (`session-get`, `download-dir`) and torrent fields camelCase (`hashString`); from rpc-version 18 (4.1) everything
 * is snake_case. Inside bt every name is snake_case: a classic name converts mechanically, and a reply to a classic
 * request is spelled back through the table of the classic names we ever send.
 */

/** `hashString` -> `hash_string`, `download-dir` -> `download_dir`, `isUTP` -> `is_utp`; snake_case is unchanged. */
export const toSnake = (name: string): string =>
  name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_").toLowerCase()

/** The classic names of torrent-get's fields (and torrent-add's reply). */
const TORRENT_NAMES = [
  "torrent-added", "torrent-duplicate", "sequentialDownload",
  "activityDate", "addedDate", "bandwidthPriority", "comment", "corruptEver", "creator", "dateCreated",
  "desiredAvailable", "doneDate", "downloadDir", "downloadedEver", "downloadLimit", "downloadLimited", "editDate",
  "errorString", "etaIdle", "file-count", "fileStats", "hashString", "haveUnchecked", "haveValid",
  "honorsSessionLimits", "isFinished", "isPrivate", "isStalled", "leftUntilDone", "magnetLink", "manualAnnounceTime",
  "maxConnectedPeers", "metadataPercentComplete", "peer-limit", "peersConnected", "peersFrom", "peersGettingFromUs",
  "peersSendingToUs", "percentComplete", "percentDone", "pieceCount", "pieceSize", "primary-mime-type",
  "queuePosition", "rateDownload", "rateUpload", "recheckProgress", "secondsDownloading", "secondsSeeding",
  "seedIdleLimit", "seedIdleMode", "seedRatioLimit", "seedRatioMode", "sizeWhenDone", "startDate", "torrentFile",
  "totalSize", "trackerList", "trackerStats", "uploadedEver", "uploadLimit", "uploadLimited", "uploadRatio",
  "webseedsSendingToUs",
  // files, fileStats, peers, peersFrom, trackerStats
  "bytesCompleted", "beginPiece", "endPiece", "streamUrl", "clientIsChoked", "clientIsInterested", "clientName", "flagStr",
  "isDownloadingFrom", "isEncrypted", "isIncoming", "isUploadingTo", "isUTP", "peerIsChoked", "peerIsInterested",
  "rateToClient", "rateToPeer", "fromCache", "fromDht", "fromIncoming", "fromLpd", "fromLtep", "fromPex",
  "fromTracker", "announceState", "downloadCount", "hasAnnounced", "hasScraped", "isBackup", "lastAnnouncePeerCount",
  "lastAnnounceResult", "lastAnnounceStartTime", "lastAnnounceSucceeded", "lastAnnounceTime", "lastAnnounceTimedOut",
  "lastScrapeResult", "lastScrapeStartTime", "lastScrapeSucceeded", "lastScrapeTime", "lastScrapeTimedOut",
  "leecherCount", "nextAnnounceTime", "nextScrapeTime", "scrapeState", "seederCount"
] as const

/** The classic names of every other reply: session-get, session-stats, free-space, port-test. */
const SESSION_NAMES = [
  "alt-speed-down", "alt-speed-enabled", "alt-speed-time-begin", "alt-speed-time-day", "alt-speed-time-enabled",
  "alt-speed-time-end", "alt-speed-up", "blocklist-enabled", "blocklist-size", "blocklist-url", "cache-size-mb",
  "config-dir", "dht-enabled", "download-dir", "download-dir-free-space", "download-queue-enabled",
  "download-queue-size", "idle-seeding-limit", "idle-seeding-limit-enabled", "incomplete-dir",
  "incomplete-dir-enabled", "lpd-enabled", "peer-limit-global", "peer-limit-per-torrent", "peer-port",
  "peer-port-random-on-start", "pex-enabled", "port-forwarding-enabled", "queue-stalled-enabled",
  "queue-stalled-minutes", "rename-partial-files", "rpc-version", "rpc-version-minimum", "rpc-version-semver",
  "seed-queue-enabled", "seed-queue-size", "seedRatioLimit", "seedRatioLimited", "session-id", "speed-limit-down",
  "speed-limit-down-enabled", "speed-limit-up", "speed-limit-up-enabled", "start-added-torrents",
  "trash-original-torrent-files", "utp-enabled", "speed-units", "speed-bytes", "size-units", "size-bytes",
  "memory-units", "memory-bytes",
  // session-stats, torrent-add, free-space, port-test
  "activeTorrentCount", "downloadSpeed", "pausedTorrentCount", "torrentCount", "uploadSpeed", "cumulative-stats",
  "current-stats", "uploadedBytes", "downloadedBytes", "filesAdded", "sessionCount", "secondsActive",
  "port-is-open", "total_size",
  // bt's extras
  "bt-port-mapping", "bt-port-test", "bt-external-address", "external-address", "internal-port", "external-port", "not-from-gateway",
  "ssdp-misdirected", "ssdp-malformed"
] as const

/** Two tables, since one snake name can have two classic spellings: torrent `downloadDir`, session `download-dir`. */
const tableOf = (names: ReadonlyArray<string>): ReadonlyMap<string, string> =>
  new Map(names.map((name) => [toSnake(name), name]))
const torrentTable = tableOf(TORRENT_NAMES)
const sessionTable = tableOf(SESSION_NAMES)

const rename = (value: unknown, table: ReadonlyMap<string, string>): unknown => {
  if (Array.isArray(value)) return value.map((inner) => rename(inner, table))
  if (value === null || typeof value !== "object") return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) out[table.get(key) ?? key] = rename(inner, table)
  return out
}

/**
 * A reply to `method` (snake_case) with every key spelled the classic way, recursively. Keys without a classic
 * spelling (`id`, `name`, `status`) stay as they are.
 */
export const toClassic = (method: string, value: unknown): unknown =>
  rename(value, method.startsWith("torrent_") ? torrentTable : sessionTable)

/** A request's arguments with their top-level keys in snake_case, and the names listed in `fields` too. */
export const argsToSnake = (args: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(args)) {
    const snake = toSnake(key)
    out[snake] = snake === "fields" && Array.isArray(value)
      ? value.map((field) => (typeof field === "string" ? toSnake(field) : field))
      : value
  }
  return out
}
