import type { AnnounceRequest } from "../types.js"

const UNRESERVED = /[A-Za-z0-9\-._~]/

/** Percent-encodes raw bytes for a query string (BEP 3: `info_hash` and `peer_id` are binary). */
export const percentEncodeBytes = (bytes: Uint8Array): string => {
  let out = ""
  for (const byte of bytes) {
    const char = String.fromCharCode(byte)
    out += UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

const appendQuery = (url: string, query: string): string => {
  const hash = url.indexOf("#")
  const base = hash === -1 ? url : url.slice(0, hash)
  const separator = !base.includes("?") ? "?" : base.endsWith("?") || base.endsWith("&") ? "" : "&"
  return `${base}${separator}${query}`
}

/**
 * The announce URL for an HTTP tracker (BEP 3, with `compact=1` from BEP 23). Parameters are appended to any query
 * the announce URL already has (private trackers put a passkey there).
 */
export const announceUrl = (announce: string, request: AnnounceRequest, trackerId: string | undefined): string => {
  const params: Array<readonly [string, string]> = [
    ["info_hash", percentEncodeBytes(request.infoHash)],
    ["peer_id", percentEncodeBytes(request.peerId)],
    ["port", String(request.port)],
    ["uploaded", String(request.uploaded)],
    ["downloaded", String(request.downloaded)],
    ["left", String(request.left)],
    ["compact", "1"],
    ["numwant", String(request.numWant)],
    ["key", (request.key >>> 0).toString(16).padStart(8, "0")]
  ]
  if (request.event !== undefined) params.push(["event", request.event])
  if (trackerId !== undefined) params.push(["trackerid", percentEncodeBytes(Buffer.from(trackerId, "latin1"))])
  return appendQuery(announce, params.map(([k, v]) => `${k}=${v}`).join("&"))
}

/**
 * The scrape URL for an announce URL, by the convention every tracker follows: the last path segment must start
 * with `announce`, which becomes `scrape`. `undefined` when the tracker cannot be scraped.
 */
export const scrapeUrlFor = (announce: string): string | undefined => {
  const query = announce.search(/[?#]/)
  const path = query === -1 ? announce : announce.slice(0, query)
  const slash = path.lastIndexOf("/")
  // The slash must start a path segment, not be one of the `//` before the host (`http://announce.example`).
  const authority = path.indexOf("://")
  if (slash === -1 || (authority !== -1 && slash <= authority + 2)) return undefined
  if (!path.startsWith("announce", slash + 1)) return undefined
  return `${path.slice(0, slash + 1)}scrape${announce.slice(slash + 1 + "announce".length)}`
}

/** The scrape URL with one `info_hash` parameter per torrent. */
export const scrapeUrl = (scrape: string, infoHashes: ReadonlyArray<Uint8Array>): string =>
  appendQuery(scrape, infoHashes.map((hash) => `info_hash=${percentEncodeBytes(hash)}`).join("&"))
