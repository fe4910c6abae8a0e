import { describe, expect, it } from "@effect/vitest"
import { type StallSnapshot, stallReason, trackerSummary } from "../../src/session/index.js"
import { countPeers } from "../../src/session/stallReason.js"
import type { TrackerStatus } from "../../src/tracker/index.js"

const tracker = (url: string, overrides: Partial<TrackerStatus> = {}): TrackerStatus => ({
  url,
  tier: 1,
  state: "not-contacted",
  failures: 0,
  ...overrides
})
const timedOut = (url: string) => tracker(url, { state: "error", errorReason: "Timeout", error: `${url}: no answer`, failures: 1 })

const downloading: StallSnapshot = {
  state: "downloading",
  peers: 4,
  settling: 0,
  interesting: 4,
  chokingUs: 1,
  seeds: 2,
  downloadRate: 5 * 1024 * 1024,
  uploadRate: 0,
  trackers: [tracker("udp://a:1", { state: "working", peers: 30 })],
  dhtPeers: 3,
  diskBehind: false
}

describe("stallReason", () => {
  it("says nothing while all is well, while checking and while seeding", () => {
    expect(stallReason(downloading)).toBeUndefined()
    expect(stallReason({ ...downloading, state: "checking", peers: 0 })).toBeUndefined()
    expect(stallReason({ ...downloading, state: "seeding", peers: 0 })).toBeUndefined()
  })

  it("no peers: names the failed trackers and what the DHT found", () => {
    const stuck = { ...downloading, peers: 0, interesting: 0, chokingUs: 0, seeds: 0, downloadRate: 0 }
    expect(stallReason({ ...stuck, trackers: ["udp://a:1", "udp://b:1", "http://c/"].map(timedOut), dhtPeers: 0 }))
      .toBe("no peers: 3 trackers failed (timeout), DHT found 0 so far")
    expect(stallReason({ ...stuck, trackers: [], dhtPeers: undefined })).toBe("no peers: no trackers, DHT off")
    expect(stallReason({
      ...stuck,
      trackers: [
        tracker("udp://a:1", { state: "working", peers: 0 }),
        timedOut("udp://b:1"),
        tracker("http://c/", { state: "error", errorReason: "Network", failures: 2 }),
        tracker("http://d/", { state: "updating" })
      ],
      dhtPeers: 12
    })).toBe(
      "no peers connected yet: 1 tracker gave 0 peers, 2 failed (timeout, unreachable), asking 1 tracker, DHT found 12 so far"
    )
  })

  it("peers that have nothing we need, or keep us choked", () => {
    expect(stallReason({ ...downloading, peers: 12, interesting: 0, chokingUs: 0 })).toBe(
      "12 peers, none with the pieces we need"
    )
    expect(stallReason({ ...downloading, peers: 12, interesting: 12, chokingUs: 12 })).toBe("12 peers, all choking us")
    expect(stallReason({ ...downloading, peers: 3, interesting: 1, chokingUs: 1 })).toBe(
      "1 peer has what we need, and is choking us"
    )
  })

  it("gives peers that just connected time to tell their pieces", () => {
    expect(stallReason({ ...downloading, peers: 2, settling: 1, interesting: 0, chokingUs: 0 })).toBeUndefined()
    // Those that settled still count: two keep us choked while a third connects.
    expect(stallReason({ ...downloading, peers: 3, settling: 1, interesting: 2, chokingUs: 2 })).toBe(
      "2 peers, all choking us"
    )
  })

  it("one slow seed", () => {
    expect(stallReason({ ...downloading, peers: 1, interesting: 1, chokingUs: 0, seeds: 1, downloadRate: 80 * 1024 }))
      .toBe("only 1 seed, sending 80 KiB/s")
    expect(stallReason({ ...downloading, peers: 1, interesting: 1, chokingUs: 0, seeds: 1, downloadRate: 20 * 1024 * 1024 }))
      .toBeUndefined()
  })

  it("the disk before anything else", () => {
    expect(stallReason({ ...downloading, diskBehind: true })).toBe("limited by disk: pieces are waiting to be written")
  })

  it("a magnet link waiting for its metadata", () => {
    const metadata = { ...downloading, state: "metadata" as const }
    expect(stallReason({ ...metadata, peers: 2 })).toBe("waiting for metadata from 2 peers")
    expect(stallReason({ ...metadata, peers: 0, trackers: [timedOut("udp://a:1")], dhtPeers: 0 })).toBe(
      "no peers: 1 tracker failed (timeout), DHT found 0 so far"
    )
  })
})

describe("trackerSummary", () => {
  it("counts the trackers by state", () => {
    expect(trackerSummary([tracker("a"), tracker("b")])).toBe("2 trackers not asked yet")
    expect(trackerSummary([tracker("a", { state: "working", peers: 1 }), tracker("b", { state: "working", peers: 4 })]))
      .toBe("2 trackers gave 5 peers")
    expect(trackerSummary([tracker("a", { state: "error" })])).toBe("1 tracker failed (error)")
  })
})

describe("countPeers", () => {
  const peer = (connectedAt: number, amInterested: boolean, peerChoking: boolean, complete: boolean) => ({
    connectedAt,
    amInterested,
    peerChoking,
    bits: { isComplete: () => complete }
  })

  it("counts settled peers by interest, choke and completeness; recent ones only as settling", () => {
    expect(countPeers([
      peer(0, true, true, true),
      peer(100, true, false, false),
      peer(200, false, true, false),
      peer(5_000, true, true, true)
    ], 1_000)).toEqual({ peers: 4, settling: 1, interesting: 2, chokingUs: 1, seeds: 1 })
    expect(countPeers([], 0)).toEqual({ peers: 0, settling: 0, interesting: 0, chokingUs: 0, seeds: 0 })
  })
})
