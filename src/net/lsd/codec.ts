/**
 * BEP 14 (Local Service Discovery) announces: an HTTP-like `BT-SEARCH` request sent to a multicast group. Pure; the
 * decoder bounds what it reads.
 */

export const LSD_GROUP_V4 = { host: "239.192.152.143", port: 6771 } as const
export const LSD_GROUP_V6 = { host: "ff15::efc0:988f", port: 6771 } as const

/** A datagram longer than this is not an announce we read (one announce fits a 1,500-byte Ethernet frame). */
export const MAX_ANNOUNCE_BYTES = 1400
/** The most info-hashes read from one announce; the rest are ignored. */
export const MAX_INFO_HASHES = 16

export interface Announce {
  /** The port the announcer's BitTorrent client listens on. */
  readonly port: number
  /** Hex, lower case, 40 characters each. */
  readonly infoHashes: ReadonlyArray<string>
  readonly cookie?: string
}

/** An announce to `host` (the group as `host:port` or `[v6]:port`). */
export const encodeAnnounce = (host: string, announce: Announce): Uint8Array =>
  new TextEncoder().encode(
    `BT-SEARCH * HTTP/1.1\r\nHost: ${host}\r\nPort: ${announce.port}\r\n` +
      announce.infoHashes.map((hash) => `Infohash: ${hash}\r\n`).join("") +
      (announce.cookie === undefined ? "" : `cookie: ${announce.cookie}\r\n`) +
      "\r\n\r\n"
  )

/** Reads an announce, or says why it is not one. */
export const decodeAnnounce = (bytes: Uint8Array): Announce | string => {
  if (bytes.length > MAX_ANNOUNCE_BYTES) return `an LSD datagram of ${bytes.length} bytes`
  const lines = new TextDecoder().decode(bytes).split("\r\n")
  if (lines[0] !== "BT-SEARCH * HTTP/1.1") return "not a BT-SEARCH announce"
  let port: number | undefined
  let cookie: string | undefined
  const infoHashes: Array<string> = []
  for (const line of lines.slice(1)) {
    if (line === "") break
    const colon = line.indexOf(":")
    if (colon < 0) return "a header line without a colon"
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === "port") {
      if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) return `port ${value} is not a port`
      port = Number(value)
    } else if (name === "infohash") {
      if (!/^[0-9a-fA-F]{40}$/.test(value)) return "an info-hash that is not 40 hex digits"
      if (infoHashes.length < MAX_INFO_HASHES) infoHashes.push(value.toLowerCase())
    } else if (name === "cookie") {
      cookie = value
    }
  }
  if (port === undefined) return "an announce without a port"
  if (infoHashes.length === 0) return "an announce without an info-hash"
  return { port, infoHashes, ...(cookie === undefined ? {} : { cookie }) }
}
