import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { announceUrl, percentEncodeBytes, scrapeUrl, scrapeUrlFor } from "../../src/tracker/http/request.js"
import type { AnnounceEvent, AnnounceRequest } from "../../src/tracker/index.js"

/** Bytes that must be escaped (controls, high bytes, space, `%&+=/?`) and unreserved ones that must not. */
const infoHash = Uint8Array.from([
  0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x25, 0x26, 0x2b, 0x3d,
  0x41, 0x7a, 0x30, 0x39, 0x2d, 0x2e, 0x5f, 0x7e, 0x2f, 0x3f
])
const infoHashQuery = "%00%01%7F%80%FF%20%25%26%2B%3DAz09-._~%2F%3F"

const peerId = Uint8Array.from([...Buffer.from("-BT0001-abcdefghij", "latin1"), 0x00, 0xff])
const peerIdQuery = "-BT0001-abcdefghij%00%FF"

const request = (overrides: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash,
  peerId,
  port: 6881,
  uploaded: 1024,
  downloaded: 2048,
  left: 4096,
  event: undefined,
  numWant: 50,
  key: 0xdeadbeef,
  ...overrides
})

const baseQuery = `info_hash=${infoHashQuery}&peer_id=${peerIdQuery}&port=6881&uploaded=1024&downloaded=2048` +
  `&left=4096&compact=1&numwant=50&key=deadbeef`

/** Percent-decoding by hand: `decodeURIComponent` rejects escapes that are not UTF-8. */
const percentDecode = (text: string): Uint8Array => {
  const out: Array<number> = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%") {
      const hex = text.slice(i + 1, i + 3)
      expect(hex).toMatch(/^[0-9A-F]{2}$/)
      out.push(parseInt(hex, 16))
      i += 2
    } else {
      const code = text.charCodeAt(i)
      expect(code).toBeLessThan(0x80)
      out.push(code)
    }
  }
  return Uint8Array.from(out)
}

describe("percentEncodeBytes", () => {
  it("escapes everything but the RFC 3986 unreserved characters, in upper-case hex", () => {
    expect(percentEncodeBytes(infoHash)).toBe(infoHashQuery)
    expect(percentEncodeBytes(new Uint8Array(0))).toBe("")
  })

  it("round-trips every byte value", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const encoded = percentEncodeBytes(all)
    expect([...percentDecode(encoded)]).toEqual([...all])
    // Only unreserved characters are left bare, so nothing in the result can be taken for a query delimiter.
    expect(encoded).toMatch(/^(?:%[0-9A-F]{2}|[A-Za-z0-9\-._~])*$/)
    expect(encoded.replace(/%[0-9A-F]{2}/g, "")).toBe(
      "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
    )
  })

  it("round-trips random byte strings", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      expect([...percentDecode(percentEncodeBytes(bytes))]).toEqual([...bytes])
    }))
  })
})

describe("announceUrl", () => {
  it("builds the exact query for a regular announce (no event)", () => {
    expect(announceUrl("http://t.example/announce", request(), undefined)).toBe(
      `http://t.example/announce?${baseQuery}`
    )
  })

  it.each<AnnounceEvent>(["started", "completed", "stopped"])("adds event=%s", (event) => {
    expect(announceUrl("http://t.example/announce", request({ event }), undefined)).toBe(
      `http://t.example/announce?${baseQuery}&event=${event}`
    )
  })

  it("writes the key as 8 hex digits of its unsigned 32-bit value", () => {
    const key = (value: number) => new URL(announceUrl("http://t/a", request({ key: value }), undefined)).searchParams.get("key")
    expect(key(1)).toBe("00000001")
    expect(key(0)).toBe("00000000")
    expect(key(-1)).toBe("ffffffff")
    expect(key(0x7fffffff)).toBe("7fffffff")
  })

  it("echoes a tracker id, its bytes percent-encoded, after the event", () => {
    expect(announceUrl("http://t.example/announce", request({ event: "completed" }), "abc")).toBe(
      `http://t.example/announce?${baseQuery}&event=completed&trackerid=abc`
    )
    // Tracker ids are binary strings (one character per byte): here the UTF-8 bytes of "é", and a raw 0xff.
    const binary = Buffer.from("a b&c=d/é", "utf8").toString("latin1") + "\xff"
    expect(announceUrl("http://t.example/announce", request(), binary)).toBe(
      `http://t.example/announce?${baseQuery}&trackerid=a%20b%26c%3Dd%2F%C3%A9%FF`
    )
  })

  it("appends to a query the announce URL already has (a private tracker's passkey)", () => {
    expect(announceUrl("http://t.example/announce?passkey=x", request(), undefined)).toBe(
      `http://t.example/announce?passkey=x&${baseQuery}`
    )
  })

  it("adds no separator to a URL ending in ? or &", () => {
    expect(announceUrl("http://t.example/announce?", request(), undefined)).toBe(
      `http://t.example/announce?${baseQuery}`
    )
    expect(announceUrl("http://t.example/announce?passkey=x&", request(), undefined)).toBe(
      `http://t.example/announce?passkey=x&${baseQuery}`
    )
  })

  it("drops a #fragment", () => {
    expect(announceUrl("http://t.example/announce#frag", request(), undefined)).toBe(
      `http://t.example/announce?${baseQuery}`
    )
    expect(announceUrl("http://t.example/announce?passkey=x#frag?y", request(), undefined)).toBe(
      `http://t.example/announce?passkey=x&${baseQuery}`
    )
  })

  it("gives a URL whose parameters decode back to the request's bytes", () => {
    const url = announceUrl("https://t.example:8443/path/announce.php?passkey=x", request({ event: "started" }), "id")
    const query = url.slice(url.indexOf("?") + 1).split("&").map((pair) => pair.split("=") as [string, string])
    const params = new Map(query)
    expect(query.length).toBe(params.size)
    expect([...percentDecode(params.get("info_hash")!)]).toEqual([...infoHash])
    expect([...percentDecode(params.get("peer_id")!)]).toEqual([...peerId])
    expect(params.get("passkey")).toBe("x")
    expect(params.get("event")).toBe("started")
    expect(params.get("trackerid")).toBe("id")
  })
})

describe("scrapeUrlFor (BEP 48 convention)", () => {
  const cases: ReadonlyArray<readonly [string, string | undefined]> = [
    ["http://x/announce", "http://x/scrape"],
    ["http://x/announce.php?k=1", "http://x/scrape.php?k=1"],
    ["http://x/announce?passkey=announce", "http://x/scrape?passkey=announce"],
    ["http://x:8080/a/announce", "http://x:8080/a/scrape"],
    ["https://x/a/b/announce.php", "https://x/a/b/scrape.php"],
    ["http://x/announce#frag", "http://x/scrape#frag"],
    // BEP 48: only the text right after the last "/" must start with "announce".
    ["http://x/announcefoo", "http://x/scrapefoo"],
    ["http://x/foo", undefined],
    ["http://x/", undefined],
    ["http://x/announce/", undefined],
    ["http://x/announce/foo", undefined],
    ["http://x/xannounce", undefined],
    ["http://x/foo?u=/announce", undefined],
    ["http://x/foo#/announce", undefined],
    // A host name is not a path segment.
    ["http://announce.example", undefined],
    ["http://announce.example?k=1", undefined],
    ["http://announce.example:6969", undefined]
  ]
  it.each(cases)("%s -> %s", (announce, scrape) => {
    expect(scrapeUrlFor(announce)).toBe(scrape)
  })
})

describe("scrapeUrl", () => {
  const other = new Uint8Array(20).fill(0x61)

  it("adds one info_hash parameter per torrent", () => {
    expect(scrapeUrl("http://x/scrape", [infoHash, other])).toBe(
      `http://x/scrape?info_hash=${infoHashQuery}&info_hash=${"a".repeat(20)}`
    )
  })

  it("appends to an existing query", () => {
    expect(scrapeUrl("http://x/scrape.php?passkey=k", [other])).toBe(
      `http://x/scrape.php?passkey=k&info_hash=${"a".repeat(20)}`
    )
    expect(scrapeUrl(scrapeUrlFor("http://x/announce#frag")!, [other])).toBe(
      `http://x/scrape?info_hash=${"a".repeat(20)}`
    )
  })
})
