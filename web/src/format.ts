/**
 * The web UI's pure logic: what a torrent row is, how numbers read, how the list is filtered and sorted. No DOM
 * here, so that test/web runs it under Node.
 */

/** A torrent as the list shows it: `torrent-get`'s classic field names (which transmission-daemon answers too). */
export interface Torrent {
  readonly id: number
  readonly name: string
  readonly status: number
  readonly totalSize: number
  readonly sizeWhenDone: number
  readonly percentDone: number
  readonly rateDownload: number
  readonly rateUpload: number
  readonly eta: number
  readonly peersConnected: number
  readonly uploadRatio: number
  readonly error: number
  readonly errorString: string
  readonly isStalled: boolean
  readonly labels: ReadonlyArray<string>
  readonly metadataPercentComplete: number
  readonly recheckProgress: number
  readonly queuePosition: number
  readonly addedDate: number
}

/** The fields the list asks `torrent-get` for: only what it shows. */
export const LIST_FIELDS: ReadonlyArray<keyof Torrent> = [
  "id", "name", "status", "totalSize", "sizeWhenDone", "percentDone", "rateDownload", "rateUpload", "eta",
  "peersConnected", "uploadRatio", "error", "errorString", "isStalled", "labels", "metadataPercentComplete",
  "recheckProgress", "queuePosition", "addedDate"
]

/** Transmission's status codes. */
export const Status = {
  stopped: 0,
  checkWait: 1,
  checking: 2,
  downloadWait: 3,
  downloading: 4,
  seedWait: 5,
  seeding: 6
} as const

const STATUS_TEXT = ["Stopped", "Queued to verify", "Verifying", "Queued", "Downloading", "Queued to seed", "Seeding"]

/** One word or two for a torrent's state, as the list's Status column says it. */
export const statusText = (t: Pick<Torrent, "status" | "error" | "percentDone" | "metadataPercentComplete">): string => {
  if (t.error !== 0) return "Error"
  if (t.status === Status.stopped) return t.percentDone >= 1 ? "Finished" : "Stopped"
  if (t.status === Status.downloading && t.metadataPercentComplete < 1) return "Fetching metadata"
  return STATUS_TEXT[t.status] ?? "Unknown"
}

export type StatusFilter = "all" | "downloading" | "seeding" | "stopped" | "error" | "active"

export const STATUS_FILTERS: ReadonlyArray<readonly [StatusFilter, string]> = [
  ["all", "All"],
  ["downloading", "Downloading"],
  ["seeding", "Seeding"],
  ["active", "Active"],
  ["stopped", "Stopped"],
  ["error", "Error"]
]

/** Whether a torrent belongs under a status filter. */
export const matchesStatus = (t: Torrent, filter: StatusFilter): boolean => {
  switch (filter) {
    case "all":
      return true
    case "downloading":
      return t.status === Status.downloading || t.status === Status.downloadWait
    case "seeding":
      return t.status === Status.seeding || t.status === Status.seedWait
    case "active":
      return t.rateDownload > 0 || t.rateUpload > 0
    case "stopped":
      return t.status === Status.stopped
    case "error":
      return t.error !== 0
  }
}

export interface ListFilter {
  readonly status: StatusFilter
  /** A label, or "" for any. */
  readonly label: string
  /** Words that must all appear in the name, any case. */
  readonly search: string
}

/** The torrents a filter lets through. */
export const filterTorrents = (torrents: ReadonlyArray<Torrent>, f: ListFilter): Array<Torrent> => {
  const words = f.search.toLowerCase().split(/\s+/).filter((w) => w !== "")
  return torrents.filter((t) => {
    if (!matchesStatus(t, f.status)) return false
    if (f.label !== "" && !t.labels.includes(f.label)) return false
    const name = t.name.toLowerCase()
    return words.every((w) => name.includes(w))
  })
}

/** "a, b,,a " -> ["a", "b"]: labels typed comma-separated, trimmed, never empty, each once. */
export const parseLabels = (text: string): Array<string> =>
  [...new Set(text.split(",").map((l) => l.trim()).filter((l) => l !== ""))]

/** Every label in use, sorted. */
export const labelsOf = (torrents: ReadonlyArray<Torrent>): Array<string> =>
  [...new Set(torrents.flatMap((t) => t.labels))].sort((a, b) => a.localeCompare(b))

export type SortKey =
  | "name" | "size" | "progress" | "status" | "rateDownload" | "rateUpload" | "eta" | "peers" | "ratio" | "queue"

export interface Sort {
  readonly key: SortKey
  readonly descending: boolean
}

/** An ETA sorts after every known one when unknown (-1) or infinite (-2). */
const etaRank = (eta: number): number => (eta < 0 ? Number.POSITIVE_INFINITY : eta)

const keyOf: Readonly<Record<SortKey, (t: Torrent) => number | string>> = {
  name: (t) => t.name.toLowerCase(),
  size: (t) => t.sizeWhenDone,
  progress: (t) => t.percentDone,
  status: (t) => statusText(t),
  rateDownload: (t) => t.rateDownload,
  rateUpload: (t) => t.rateUpload,
  eta: (t) => etaRank(t.eta),
  peers: (t) => t.peersConnected,
  ratio: (t) => t.uploadRatio,
  queue: (t) => t.queuePosition
}

/** A sorted copy; ties keep the queue order, then the id, so rows do not jump between polls. */
export const sortTorrents = (torrents: ReadonlyArray<Torrent>, sort: Sort): Array<Torrent> => {
  const key = keyOf[sort.key]
  const sign = sort.descending ? -1 : 1
  return [...torrents].sort((a, b) => {
    const ka = key(a)
    const kb = key(b)
    const c = typeof ka === "string" && typeof kb === "string"
      ? ka.localeCompare(kb)
      : ka < kb ? -1 : ka > kb ? 1 : 0
    return c !== 0 ? c * sign : a.queuePosition - b.queuePosition || a.id - b.id
  })
}

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"]

/** Bytes in SI units, as Transmission shows them: `0 B`, `999 B`, `1.50 MB`, `12.3 GB`, `456 GB`. */
export const formatBytes = (bytes: number): string => {
  if (!Number.isFinite(bytes) || bytes < 0) return "–"
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  if (unit === 0) return `${Math.round(value)} B`
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0
  // 999.96 kB would round to "1000 kB": say 1.00 MB instead.
  if (Number(value.toFixed(digits)) >= 1000 && unit < UNITS.length - 1) return `1.00 ${UNITS[unit + 1]}`
  return `${value.toFixed(digits)} ${UNITS[unit]}`
}

/** A rate in bytes per second; nothing at all reads as blank so that a list of idle torrents stays quiet. */
export const formatRate = (bytesPerSecond: number): string =>
  bytesPerSecond <= 0 ? "" : `${formatBytes(bytesPerSecond)}/s`

/** Seconds as the two largest units: `45s`, `3m 20s`, `2h 5m`, `3d 4h`; -1 (unknown) blank, -2 (never) ∞. */
export const formatEta = (seconds: number): string => {
  if (seconds === -2) return "∞"
  if (seconds < 0 || !Number.isFinite(seconds)) return ""
  const s = Math.round(seconds)
  const parts: Array<readonly [number, string]> = [
    [Math.floor(s / 86400), "d"],
    [Math.floor((s % 86400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
    [s % 60, "s"]
  ]
  const first = parts.findIndex(([n]) => n > 0)
  if (first === -1) return "0s"
  return parts.slice(first, first + 2).filter(([n], i) => i === 0 || n > 0).map(([n, u]) => `${n}${u}`).join(" ")
}

/** A share ratio: -1 (none yet) and -2 (infinite) as Transmission's clients show them. */
export const formatRatio = (ratio: number): string =>
  ratio === -2 ? "∞" : ratio < 0 ? "–" : ratio < 10 ? ratio.toFixed(2) : ratio < 100 ? ratio.toFixed(1) : ratio.toFixed(0)

/** A fraction as a percentage with one decimal, never showing 100 % before it is done. */
export const formatPercent = (fraction: number): string => {
  const p = Math.max(0, Math.min(1, fraction)) * 100
  return `${p < 100 && p > 99.95 ? "99.9" : p.toFixed(p === 100 || p === 0 ? 0 : 1)} %`
}

/** A date from seconds since the epoch, or "" for none (0). */
export const formatDate = (seconds: number): string =>
  seconds <= 0 ? "" : new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC"

/** The ids from `anchor` to `target` in the order shown (both included), for shift-click and shift-arrow. */
export const rangeIds = (shown: ReadonlyArray<number>, anchor: number, target: number): Array<number> => {
  const a = shown.indexOf(anchor)
  const b = shown.indexOf(target)
  if (a === -1 || b === -1) return b === -1 ? [] : [target]
  return shown.slice(Math.min(a, b), Math.max(a, b) + 1)
}

/**
 * Applies a `recently-active` reply to the list: the torrents it names replace (or join) the ones held, the ids
 * in `removed` leave. A full reply (not incremental) replaces the list.
 */
export const mergeTorrents = (
  held: ReadonlyMap<number, Torrent>,
  torrents: ReadonlyArray<Partial<Torrent> & { readonly id: number }>,
  removed: ReadonlyArray<number>,
  full: boolean
): Map<number, Torrent> => {
  const next = new Map<number, Torrent>(full ? [] : held)
  for (const t of torrents) next.set(t.id, { ...defaults, ...held.get(t.id), ...t } as Torrent)
  for (const id of removed) next.delete(id)
  return next
}

const defaults: Torrent = {
  id: 0, name: "", status: 0, totalSize: 0, sizeWhenDone: 0, percentDone: 0, rateDownload: 0, rateUpload: 0,
  eta: -1, peersConnected: 0, uploadRatio: -1, error: 0, errorString: "", isStalled: false, labels: [],
  metadataPercentComplete: 1, recheckProgress: 0, queuePosition: 0, addedDate: 0
}

/** Transmission's error codes: 1 and 2 are tracker warnings and errors, 3 a local error. */
export const errorKind = (code: number): string =>
  code === 1 ? "Tracker warning" : code === 2 ? "Tracker error" : code === 3 ? "Error" : ""
