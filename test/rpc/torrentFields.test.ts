import { describe, expect, it } from "@effect/vitest"
import { detailFor, knownFields, torrentObject } from "../../src/rpc/torrentFields.js"
import { snapshot } from "./fakeClient.js"

describe("torrent-get fields", () => {
  it("ignores unknown names, inherited ones included, and asks only for the details needed", () => {
    expect(knownFields(["id", "constructor", "toString", "__proto__", "id", "nope"])).toEqual(["id"])
    expect(detailFor(["id", "name"])).toEqual({})
    expect(detailFor(["file_stats", "tracker_list", "peers_from", "pieces"])).toEqual({
      files: true,
      trackers: true,
      peers: true,
      pieces: true
    })
  })

  it("reads peers, trackers and the stalled reason the way Transmission's UIs expect", () => {
    const t = snapshot(1, {
      stalledReason: "no peers from any source",
      isStalled: true,
      pieces: new Uint8Array([0b1010_0000]),
      peers: [{
        address: "192.0.2.7",
        port: 6881,
        clientName: "libtorrent",
        direction: "incoming",
        encrypted: true,
        transport: "utp",
        progress: 0.25,
        rateToClient: 100,
        rateToPeer: 0,
        downloadingFrom: true,
        uploadingTo: false,
        flagStr: "DEI"
      }],
      trackers: [
        { id: 0, announce: "http://tracker.example.org:6969/announce", tier: 0, lastAnnounceTime: 1_700_000_000_000,
          lastAnnounceSucceeded: true, lastAnnounceResult: "Success", lastAnnouncePeerCount: 3,
          nextAnnounceTime: 1_700_001_800_000, seederCount: 5, leecherCount: -1 },
        { id: 1, announce: "udp://backup.example.net:1337", tier: 1, lastAnnounceTime: 0, lastAnnounceSucceeded: false,
          lastAnnounceResult: "", lastAnnouncePeerCount: 0, nextAnnounceTime: 0, seederCount: -1, leecherCount: -1 }
      ]
    })
    const out = torrentObject(t, ["error_string", "peers", "trackers", "tracker_list", "tracker_stats", "pieces"])
    expect(out.error_string).toBe("no peers from any source")
    expect(out.peers).toEqual([{
      address: "192.0.2.7", port: 6881, client_name: "libtorrent", client_is_choked: false, client_is_interested: true,
      peer_is_choked: true, peer_is_interested: false, flag_str: "DEI", is_downloading_from: true,
      is_uploading_to: false, is_encrypted: true, is_incoming: true, is_utp: true, progress: 0.25,
      rate_to_client: 100, rate_to_peer: 0
    }])
    expect(out.trackers).toEqual([
      { id: 0, announce: "http://tracker.example.org:6969/announce", scrape: "", sitename: "example", tier: 0 },
      { id: 1, announce: "udp://backup.example.net:1337", scrape: "", sitename: "example", tier: 1 }
    ])
    expect(out.tracker_list).toBe("http://tracker.example.org:6969/announce\n\nudp://backup.example.net:1337")
    expect((out.tracker_stats as Array<Record<string, unknown>>)[0]).toMatchObject({
      host: "http://tracker.example.org:6969",
      last_announce_time: 1_700_000_000,
      next_announce_time: 1_700_001_800,
      has_announced: true,
      seeder_count: 5
    })
    expect(out.pieces).toBe("oA==")
  })
})
