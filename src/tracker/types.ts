/**
 * A peer's address as trackers report it: an IPv4 or IPv6 literal (compact formats), or whatever host the
 * dictionary format names (BEP 3 allows a DNS name), and a TCP port (1-65535).
 */
export interface PeerAddress {
  readonly host: string
  readonly port: number
}

/** The announce `event` (BEP 3); `undefined` is a regular re-announce. */
export type AnnounceEvent = "started" | "completed" | "stopped"

/** What we tell a tracker about ourselves and one torrent. */
export interface AnnounceRequest {
  /** 20 bytes. */
  readonly infoHash: Uint8Array
  /** 20 bytes. */
  readonly peerId: Uint8Array
  /** The TCP port we accept peers on. */
  readonly port: number
  readonly uploaded: number
  readonly downloaded: number
  readonly left: number
  readonly event: AnnounceEvent | undefined
  /** How many peers we would like; trackers may send fewer. */
  readonly numWant: number
  /** A random 32-bit value that stays the same for this client's lifetime, so a tracker can tell us apart. */
  readonly key: number
}

/** A tracker's answer to an announce. Durations are in seconds, as trackers send them. */
export interface AnnounceResponse {
  /** Seconds to wait before the next regular announce. */
  readonly interval: number
  /** Seconds the tracker asks us to wait at least between announces, when given. */
  readonly minInterval: number | undefined
  /** Peers, IPv4 and IPv6, without duplicates and without port 0. */
  readonly peers: ReadonlyArray<PeerAddress>
  /** Seeders, when the tracker says. */
  readonly complete: number | undefined
  /** Leechers, when the tracker says. */
  readonly incomplete: number | undefined
  /** A `warning message`: the announce worked, but the tracker has something to say. */
  readonly warning: string | undefined
  /** A `tracker id` to echo back in later announces (HTTP only): a binary string, one character per byte. */
  readonly trackerId: string | undefined
  /** BEP 24 `external ip` (HTTP only): the address the tracker saw us announce from, 4 or 16 bytes as text. */
  readonly externalIp?: string
}

/** Swarm counts for one torrent from a scrape. */
export interface ScrapeEntry {
  readonly complete: number
  readonly downloaded: number
  readonly incomplete: number
}
