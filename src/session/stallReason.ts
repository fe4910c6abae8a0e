import type { TrackerErrorReason, TrackerStatus } from "../tracker/index.js"

/** What a torrent looks like right now, as far as saying why it is stuck or slow goes. */
export interface StallSnapshot {
  /** `metadata`: a magnet link whose info dictionary is still being fetched. */
  readonly state: "checking" | "metadata" | "downloading" | "seeding"
  /** Peers connected. */
  readonly peers: number
  /**
   * Of those, the ones connected moments ago (`SessionConfig.stallSettling`): their pieces and choke may not be
   * known yet, so they are not counted below, and no peer is said to lack what we need while any of them settles.
   */
  readonly settling: number
  /** Settled peers that have pieces we want (we are interested in them). */
  readonly interesting: number
  /** Of those, the ones keeping us choked. */
  readonly chokingUs: number
  /** Settled peers that have every piece. */
  readonly seeds: number
  /** Bytes per second. */
  readonly downloadRate: number
  readonly uploadRate: number
  readonly trackers: ReadonlyArray<TrackerStatus>
  /** Peers the DHT found so far; undefined when the torrent does not use the DHT. */
  readonly dhtPeers: number | undefined
  /** Complete pieces wait for the disk past the backlog limit: requests are held back. */
  readonly diskBehind: boolean
}

/** What a stall reason reads of one connected peer. */
export interface PeerState {
  readonly connectedAt: number
  /** We want pieces it has. */
  readonly amInterested: boolean
  readonly peerChoking: boolean
  readonly bits: { readonly isComplete: () => boolean }
}

/** Counts the peers for a snapshot: those connected after `settledBefore` are only `settling`. */
export const countPeers = (
  peers: Iterable<PeerState>,
  settledBefore: number
): Pick<StallSnapshot, "peers" | "settling" | "interesting" | "chokingUs" | "seeds"> => {
  let total = 0
  let settling = 0
  let interesting = 0
  let chokingUs = 0
  let seeds = 0
  for (const peer of peers) {
    total++
    if (peer.connectedAt > settledBefore) {
      settling++
      continue
    }
    if (peer.amInterested) {
      interesting++
      if (peer.peerChoking) chokingUs++
    }
    if (peer.bits.isComplete()) seeds++
  }
  return { peers: total, settling, interesting, chokingUs, seeds }
}

/** Below this, a torrent fed by one seed is worth explaining. */
const SLOW_BYTES_PER_SECOND = 1024 * 1024

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

const rate = (bytesPerSecond: number): string =>
  bytesPerSecond >= 1024 * 1024
    ? `${(bytesPerSecond / (1024 * 1024)).toFixed(1)} MiB/s`
    : `${Math.round(bytesPerSecond / 1024)} KiB/s`

const failureWords: Record<TrackerErrorReason, string> = {
  Timeout: "timeout",
  Network: "unreachable",
  HttpStatus: "HTTP error",
  Decode: "bad answer",
  Rejected: "refused",
  BadUrl: "bad URL"
}

/** How the trackers stand, in a few words: "3 trackers failed (timeout)", "1 tracker gave 0 peers, 2 failed (…)". */
export const trackerSummary = (trackers: ReadonlyArray<TrackerStatus>): string => {
  if (trackers.length === 0) return "no trackers"
  const failed = trackers.filter((t) => t.state === "error")
  const asking = trackers.filter((t) => t.state === "updating")
  const answered = trackers.filter((t) => t.state === "working")
  const parts: Array<string> = []
  if (answered.length > 0) {
    const peers = answered.reduce((sum, t) => sum + (t.peers ?? 0), 0)
    parts.push(`${plural(answered.length, "tracker")} gave ${plural(peers, "peer")}`)
  }
  if (failed.length > 0) {
    const why = [...new Set(failed.map((t) => (t.errorReason === undefined ? "error" : failureWords[t.errorReason])))]
    parts.push(`${parts.length === 0 ? plural(failed.length, "tracker") : failed.length} failed (${why.join(", ")})`)
  }
  if (asking.length > 0) parts.push(`asking ${plural(asking.length, "tracker")}`)
  return parts.length === 0 ? `${plural(trackers.length, "tracker")} not asked yet` : parts.join(", ")
}

const noPeers = (s: StallSnapshot): string => {
  const dht = s.dhtPeers === undefined ? "DHT off" : `DHT found ${s.dhtPeers} so far`
  const found = (s.dhtPeers ?? 0) + s.trackers.reduce((sum, t) => sum + (t.state === "working" ? t.peers ?? 0 : 0), 0)
  return `${found > 0 ? "no peers connected yet" : "no peers"}: ${trackerSummary(s.trackers)}, ${dht}`
}

/**
 * Why a torrent is stuck or slow, in a few plain words, or undefined when nothing holds it back (or there is
 * nothing to explain: checking, seeding). Pure: from a snapshot, for the progress line and `--json`.
 */
export const stallReason = (s: StallSnapshot): string | undefined => {
  switch (s.state) {
    case "checking":
    case "seeding":
      return undefined
    case "metadata":
      return s.peers === 0 ? noPeers(s) : `waiting for metadata from ${plural(s.peers, "peer")}`
    case "downloading": {
      if (s.diskBehind) return "limited by disk: pieces are waiting to be written"
      if (s.peers === 0) return noPeers(s)
      if (s.interesting === 0) {
        if (s.settling > 0) return undefined
        return s.peers === 1 ? "1 peer, without the pieces we need" : `${s.peers} peers, none with the pieces we need`
      }
      if (s.chokingUs === s.interesting) {
        return s.interesting === 1 ? "1 peer has what we need, and is choking us" : `${s.interesting} peers, all choking us`
      }
      if (s.seeds === 1 && s.interesting === 1 && s.downloadRate < SLOW_BYTES_PER_SECOND) {
        return `only 1 seed, sending ${rate(s.downloadRate)}`
      }
      return undefined
    }
  }
}
