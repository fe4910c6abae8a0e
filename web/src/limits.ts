/** A torrent's own options as `torrent-get` reads and `torrent-set` writes them. Pure, so that test/web runs it. */

/** The fields, by their classic names (transmission-daemon answers them too). */
export interface Limits {
  readonly downloadLimit: number
  readonly downloadLimited: boolean
  readonly uploadLimit: number
  readonly uploadLimited: boolean
  readonly honorsSessionLimits: boolean
  readonly seedRatioMode: number
  readonly seedRatioLimit: number
  readonly "peer-limit": number
}

export const LIMIT_FIELDS: ReadonlyArray<keyof Limits> = [
  "downloadLimit", "downloadLimited", "uploadLimit", "uploadLimited", "honorsSessionLimits", "seedRatioMode",
  "seedRatioLimit", "peer-limit"
]

/** What changed between `from` and `to`, as `torrent-set` takes it. */
export const limitsPatch = (from: Limits, to: Limits): Record<string, unknown> =>
  Object.fromEntries(LIMIT_FIELDS.filter((k) => from[k] !== to[k]).map((k) => [k, to[k]]))
