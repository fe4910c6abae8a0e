import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { decode } from "../../src/bencode/index.js"
import {
  formatMagnet,
  isMagnet,
  MAX_MAGNET_LENGTH,
  MAX_MAGNET_PEERS,
  MAX_MAGNET_TRACKERS,
  MAX_MAGNET_WEB_SEEDS,
  type MetainfoErrorReason,
  parseMagnet,
  parseMetadata,
  parseTorrent,
  type TorrentInfo,
  torrentFileBytes,
  trackerTiers
} from "../../src/metainfo/index.js"
import { multiFileInfo, singleFileInfo, torrentBytes } from "./fixtures.js"

const HEX = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
/** The same 20 bytes in RFC 4648 base32 (from Python's base64.b32encode). */
const BASE32 = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK"
const link = (rest = "") => `magnet:?xt=urn:btih:${HEX}${rest}`

const parseOk = (uri: string) => Either.getOrThrow(parseMagnet(uri))

const rejection = (uri: string, reason: MetainfoErrorReason = "InvalidMagnet") => {
  const result = parseMagnet(uri)
  if (Either.isRight(result)) throw new Error(`expected ${uri.slice(0, 100)} to be rejected`)
  expect(result.left.reason).toBe(reason)
  expect(result.left.message).not.toContain("\n")
  return result.left.message
}

describe("parseMagnet: the info-hash", () => {
  it("reads 40 hex characters, in either case, as lowercase hex and 20 bytes", () => {
    const magnet = parseOk(`magnet:?xt=urn:btih:${HEX.toUpperCase()}`)
    expect(magnet.infoHashHex).toBe(HEX)
    expect(Buffer.from(magnet.infoHash).toString("hex")).toBe(HEX)
    expect(magnet.infoHash.length).toBe(20)
  })

  it("reads 32 base32 characters, in either case, as the same hash", () => {
    for (const hash of [BASE32, BASE32.toLowerCase()]) {
      const magnet = parseOk(`magnet:?xt=urn:btih:${hash}`)
      expect(magnet.infoHashHex).toBe(HEX)
      expect(magnet.infoHash).toEqual(parseOk(link()).infoHash)
    }
    expect(parseOk("magnet:?xt=urn:btih:AERUKZ4JVPG66AJDIVTYTK6N54ASGRLH").infoHashHex)
      .toBe("0123456789abcdef0123456789abcdef01234567")
    expect(parseOk(`magnet:?xt=urn:btih:${"7".repeat(32)}`).infoHashHex).toBe("f".repeat(40))
    expect(parseOk(`magnet:?xt=urn:btih:${"A".repeat(32)}`).infoHashHex).toBe("0".repeat(40))
  })

  it("accepts the same hash twice (hex and base32), a v1+v2 hybrid link, and other URNs beside it", () => {
    expect(parseOk(`${link()}&xt=urn:btih:${BASE32}`).infoHashHex).toBe(HEX)
    expect(parseOk(`magnet:?xt=urn:btmh:1220${"ab".repeat(32)}&xt=urn:btih:${HEX}`).infoHashHex).toBe(HEX)
    expect(parseOk(`magnet:?xt=urn:sha1:XYZ&xt.1=urn:btih:${HEX}`).infoHashHex).toBe(HEX)
    expect(parseOk(`MAGNET:?XT=URN:BTIH:${HEX}`).infoHashHex).toBe(HEX)
  })

  it("refuses a link without a BitTorrent info-hash", () => {
    expect(rejection("magnet:?dn=x")).toBe(
      "the magnet link has no BitTorrent info-hash (xt=urn:btih:... or xt=urn:btmh:1220...)"
    )
    rejection("magnet:?xt=urn:sha1:YNCKHTQCWBTRNJIV4WNAE52SJUQCZO5C")
    rejection("magnet:?")
  })

  it("reads a v2 link (urn:btmh, a SHA-256 multihash): the wire hash is the v2 hash cut to 20 bytes", () => {
    const v2 = "ab".repeat(16) + "cd".repeat(16)
    const alone = parseOk(`magnet:?xt=urn:btmh:1220${v2}&dn=x`)
    expect(Buffer.from(alone.infoHashV2!).toString("hex")).toBe(v2)
    expect(alone.infoHashHex).toBe(v2.slice(0, 40))
    const both = parseOk(`magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:1220${v2.toUpperCase()}`)
    expect(both.infoHashHex).toBe(HEX)
    expect(Buffer.from(both.infoHashV2!).toString("hex")).toBe(v2)
    expect(parseOk(`magnet:?xt=urn:btih:${HEX}`).infoHashV2).toBeUndefined()
  })

  it("refuses a malformed or doubled v2 hash", () => {
    expect(rejection(`magnet:?xt=urn:btmh:1114${"ab".repeat(32)}`)).toMatch(/not "1220" and 64 hexadecimal digits/)
    expect(rejection(`magnet:?xt=urn:btmh:1220${"ab".repeat(31)}`)).toMatch(/SHA-256 multihash/)
    expect(rejection(`magnet:?xt=urn:btmh:1220${"ab".repeat(32)}&xt=urn:btmh:1220${"cd".repeat(32)}`)).toMatch(
      /two different v2 info-hashes/
    )
  })

  it("refuses two different info-hashes", () => {
    const other = "0".repeat(40)
    expect(rejection(`${link()}&xt=urn:btih:${other}`)).toBe(
      `the magnet link has two different info-hashes (${HEX} and ${other})`
    )
  })

  it("refuses hashes of the wrong length or alphabet", () => {
    expect(rejection(link().slice(0, -1))).toBe(
      `the magnet link's info-hash "${HEX.slice(0, -1)}" has 39 characters, not 40 (hex) or 32 (base32)`
    )
    expect(rejection("magnet:?xt=urn:btih:")).toContain("has 0 characters")
    expect(rejection(`magnet:?xt=urn:btih:${HEX}0`)).toContain("has 41 characters")
    expect(rejection(`magnet:?xt=urn:btih:${"g".repeat(40)}`)).toContain("is not hexadecimal")
    // 0, 1, 8 and 9 are not in the base32 alphabet.
    expect(rejection(`magnet:?xt=urn:btih:${"1".repeat(32)}`)).toContain("is not base32 (A-Z, 2-7)")
    expect(rejection(`magnet:?xt=urn:btih:${BASE32.slice(0, 31)}8`)).toContain("is not base32")
    expect(rejection(`magnet:?xt=urn:btih:${"x".repeat(500)}`)).toContain(`"${"x".repeat(57)}..."`)
  })
})

describe("parseMagnet: parameters", () => {
  it("reads a link with every parameter", () => {
    const magnet = parseOk(
      `${link()}&dn=My+File&tr=http%3A%2F%2Fa%2Fannounce&x.pe=10.0.0.1:6881&ws=http%3A%2F%2Fw%2F&so=1`
    )
    expect(magnet).toEqual({
      infoHash: Buffer.from(HEX, "hex"),
      infoHashHex: HEX,
      name: "My File",
      trackers: [["http://a/announce"]],
      peers: [{ host: "10.0.0.1", port: 6881 }],
      webSeeds: ["http://w/"],
      selectOnly: [{ from: 1, to: 1 }]
    })
  })

  it("leaves out what the link does not give", () => {
    expect(parseOk(link())).toEqual({
      infoHash: Buffer.from(HEX, "hex"),
      infoHashHex: HEX,
      name: undefined,
      trackers: [],
      peers: [],
      webSeeds: [],
      selectOnly: undefined
    })
    expect(parseOk(`${link()}&dn=&tr=&ws=`).name).toBeUndefined()
  })

  it("decodes escapes per value: %20 and + as spaces, %2F, %2B, %25 and UTF-8", () => {
    expect(parseOk(`${link()}&dn=a%20b+c%2Fd%2Be%25f`).name).toBe("a b c/d+e%f")
    expect(parseOk(`${link()}&dn=caf%C3%A9%e2%82%ac`).name).toBe("café€")
    expect(parseOk(`${link()}&dn=%FF`).name).toBe("\uFFFD")
    // A tracker URL whose own query holds an escape: one level of decoding only.
    expect(parseOk(`${link()}&tr=http%3A%2F%2Ft%2Fa%3Fk%3Da%2520b%26x%3D1`).trackers).toEqual([["http://t/a?k=a%20b&x=1"]])
    // `&` and `=` inside a value must be escaped; unescaped, `=` after the first stays in the value.
    expect(parseOk(`${link()}&dn=a=b`).name).toBe("a=b")
  })

  it("takes the first dn, and every tr as a tier of its own, in order, without duplicates", () => {
    const magnet = parseOk(`${link()}&dn=first&dn=second&tr=udp://b:1&tr=http://a/&tr.1=udp://b:1&tr=http://c/`)
    expect(magnet.name).toBe("first")
    expect(magnet.trackers).toEqual([["udp://b:1"], ["http://a/"], ["http://c/"]])
  })

  it("reads every x.pe: IPv4, hostname and bracketed IPv6, escaped or not, without duplicates", () => {
    const magnet = parseOk(
      `${link()}&x.pe=127.0.0.1:6881&x.pe=[::1]:6881&x.pe=peer.example:80&x.pe=%5B2001%3Adb8%3A%3A1%5D%3A51413` +
        "&x.pe=127.0.0.1:6881&x.pe.2=10.1.1.1:1"
    )
    expect(magnet.peers).toEqual([
      { host: "127.0.0.1", port: 6881 },
      { host: "::1", port: 6881 },
      { host: "peer.example", port: 80 },
      { host: "2001:db8::1", port: 51413 },
      { host: "10.1.1.1", port: 1 }
    ])
  })

  it("reads so (BEP 53) as file ranges in the given order", () => {
    expect(parseOk(`${link()}&so=0,2,4-6`).selectOnly).toEqual([{ from: 0, to: 0 }, { from: 2, to: 2 }, { from: 4, to: 6 }])
    expect(parseOk(`${link()}&so=7&so=1-1`).selectOnly).toEqual([{ from: 7, to: 7 }, { from: 1, to: 1 }])
    expect(parseOk(`${link()}&so=3%2C5`).selectOnly).toEqual([{ from: 3, to: 3 }, { from: 5, to: 5 }])
  })

  it("ignores unknown keys, even malformed ones, and empty parameters", () => {
    const magnet = parseOk(`${link()}&&xl=10826029&kt=a+b&x.foo=%zz&as=%&mt=&=x&flag&dn=ok`)
    expect(magnet.name).toBe("ok")
    expect(magnet.trackers).toEqual([])
  })

  it("trims whitespace around the link and takes any case for the scheme", () => {
    expect(parseOk(`  \n${link()}\n`).infoHashHex).toBe(HEX)
    expect(parseOk(`Magnet:?xt=urn:btih:${HEX}`).infoHashHex).toBe(HEX)
  })

  it("keeps at most 100 trackers, 200 peers and 100 web seeds", () => {
    const many = (count: number, item: (i: number) => string) => Array.from({ length: count }, (_, i) => item(i)).join("")
    const magnet = parseOk(
      link(
        many(150, (i) => `&tr=udp://t${i}:1`) + many(250, (i) => `&x.pe=10.0.${i >> 8}.${i & 255}:1`) +
          many(150, (i) => `&ws=http://w${i}/`)
      )
    )
    expect(magnet.trackers).toHaveLength(MAX_MAGNET_TRACKERS)
    expect(magnet.trackers[99]).toEqual(["udp://t99:1"])
    expect(magnet.peers).toHaveLength(MAX_MAGNET_PEERS)
    expect(magnet.webSeeds).toHaveLength(MAX_MAGNET_WEB_SEEDS)
  })
})

describe("parseMagnet: malformed links", () => {
  it("refuses what is not a magnet link", () => {
    expect(rejection("http://example.com/x.torrent")).toBe(
      `"http://example.com/x.torrent" is not a magnet link (one starts with "magnet:?")`
    )
    rejection("magnet:xt=urn:btih:" + HEX)
    rejection("")
  })

  it("refuses bad percent-escapes in the values it reads", () => {
    expect(rejection(`${link()}&dn=a%zzb`)).toBe(`the magnet link's "dn" has a bad percent-escape "%zz"`)
    expect(rejection(`${link()}&tr=http://a/%4`)).toBe(`the magnet link's "tr" has a bad percent-escape "%4"`)
    expect(rejection(`${link()}&ws=%`)).toContain(`bad percent-escape "%"`)
    expect(rejection(`magnet:?xt=urn%3Abtih%3G${HEX}`)).toContain(`"xt" has a bad percent-escape "%3G"`)
  })

  it("refuses peers that are not HOST:PORT or [IPV6]:PORT, or whose port is out of range", () => {
    expect(rejection(`${link()}&x.pe=10.0.0.1:0`)).toBe(`the magnet link's peer "10.0.0.1:0" has a port outside 1-65535`)
    expect(rejection(`${link()}&x.pe=10.0.0.1:65536`)).toContain("outside 1-65535")
    expect(rejection(`${link()}&x.pe=10.0.0.1:${"9".repeat(400)}`)).toContain("outside 1-65535")
    expect(rejection(`${link()}&x.pe=10.0.0.1`)).toBe(`the magnet link's peer "10.0.0.1" is not HOST:PORT or [IPV6]:PORT`)
    for (const peer of ["10.0.0.1:", ":6881", "::1:6881", "10.0.0.1:68a1", "a b:1", "", "[::1]6881"]) {
      expect(rejection(`${link()}&x.pe=${encodeURIComponent(peer)}`)).toContain("is not HOST:PORT or [IPV6]:PORT")
    }
    expect(rejection(`${link()}&x.pe=[10.0.0.1]:80`)).toContain("is not an IPv6 address in brackets")
    expect(rejection(`${link()}&x.pe=[]:80`)).toContain("is not an IPv6 address in brackets")
  })

  it("refuses a bad so", () => {
    expect(rejection(`${link()}&so=a`)).toBe(
      `the magnet link's "so" "a" is not a list of file indices such as 0,2,4-6`
    )
    for (const so of ["", "1,,2", "1-", "-1", "1-2-3", "1.5", "0x1"]) rejection(`${link()}&so=${so}`)
    expect(rejection(`${link()}&so=6-4`)).toBe(`the magnet link's "so" has a bad file range "6-4"`)
    expect(rejection(`${link()}&so=1-${"9".repeat(20)}`)).toContain("has a bad file range")
  })

  it("refuses a link over 64 KiB without reading it", () => {
    const long = link(`&dn=${"a".repeat(MAX_MAGNET_LENGTH)}`)
    expect(rejection(long)).toBe(`the magnet link is ${long.length} characters long, over the limit of 65536`)
    expect(Either.isRight(parseMagnet(link(`&dn=${"a".repeat(MAX_MAGNET_LENGTH - link().length - 4)}`)))).toBe(true)
  })
})

describe("isMagnet", () => {
  it("tells magnet links from paths", () => {
    expect(isMagnet(link())).toBe(true)
    expect(isMagnet("MAGNET:?xt")).toBe(true)
    expect(isMagnet("  magnet:?")).toBe(true)
    expect(isMagnet("magnet:")).toBe(false)
    expect(isMagnet("magnet.torrent")).toBe(false)
    expect(isMagnet("./magnet:?x")).toBe(false)
  })
})

const fixture = (): TorrentInfo =>
  Either.getOrThrow(parseTorrent(torrentBytes(
    multiFileInfo([{ path: ["a.bin"], length: 20_000 }, { path: ["sub", "b.bin"], length: 5 }], {
      name: "My Folder + é & =100%"
    }),
    {
      announce: "http://ignored.example/announce",
      "announce-list": [["http://a/announce?k=a%20b", "udp://b:1"], ["http://c/"], ["udp://b:1"]],
      "url-list": ["http://w.example/seed/", "ftp://x"]
    }
  )))

describe("formatMagnet", () => {
  it("writes the hex info-hash, the escaped name, every tracker and web seed", () => {
    const torrent = Either.getOrThrow(parseTorrent(torrentBytes(singleFileInfo(10))))
    expect(formatMagnet(torrent)).toBe(
      `magnet:?xt=urn:btih:${torrent.infoHashHex}&dn=file.bin&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce`
    )
    expect(formatMagnet(fixture())).toBe(
      `magnet:?xt=urn:btih:${fixture().infoHashHex}&dn=My%20Folder%20%2B%20%C3%A9%20%26%20%3D100%25` +
        "&tr=http%3A%2F%2Fa%2Fannounce%3Fk%3Da%2520b&tr=udp%3A%2F%2Fb%3A1&tr=http%3A%2F%2Fc%2F" +
        "&ws=http%3A%2F%2Fw.example%2Fseed%2F&ws=ftp%3A%2F%2Fx"
    )
  })

  it("round-trips through parseMagnet", () => {
    const torrent = fixture()
    const magnet = parseOk(formatMagnet(torrent))
    expect(magnet.infoHashHex).toBe(torrent.infoHashHex)
    expect(magnet.infoHash).toEqual(torrent.infoHash)
    expect(magnet.name).toBe(torrent.name)
    expect(magnet.trackers).toEqual([["http://a/announce?k=a%20b"], ["udp://b:1"], ["http://c/"]])
    expect(magnet.webSeeds).toEqual(torrent.urlList)
    expect(magnet.peers).toEqual([])
    expect(magnet.selectOnly).toBeUndefined()
  })

  it("writes a lone surrogate in a name as U+FFFD instead of throwing", () => {
    const torrent = { ...fixture(), name: "a\uD800b" }
    expect(parseOk(formatMagnet(torrent)).name).toBe("a\uFFFDb")
  })
})

/** A torrent whose info dictionary's keys are out of order: its info-hash is of those bytes, not a re-encoding. */
const unsortedTorrentBytes = (): Uint8Array => {
  const info = Buffer.from("d4:name5:x.bin6:lengthi100e12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae", "latin1")
  return Buffer.concat([Buffer.from("d8:announce9:http://t/4:info"), info, Buffer.from("e")])
}

describe("parseMetadata", () => {
  const trackers = [["http://a/announce"], ["udp://b:1", "udp://c:2"]]

  it("gives what parseTorrent gives from the same info dictionary, with the trackers given", () => {
    for (const bytes of [torrentBytes(singleFileInfo(40_000, { private: 1 })), unsortedTorrentBytes()]) {
      const torrent = Either.getOrThrow(parseTorrent(bytes))
      const fromMetadata = Either.getOrThrow(parseMetadata(torrent.infoBytes, { trackers }))
      const { announce: _a, announceList: _l, comment: _c, createdBy: _b, creationDate: _d, urlList: _u, ...info } = torrent
      expect(fromMetadata).toMatchObject(info)
      expect(fromMetadata.infoBytes).toEqual(torrent.infoBytes)
      expect(trackerTiers(fromMetadata)).toEqual(trackers)
      expect(fromMetadata.announce).toBe("http://a/announce")
      expect([fromMetadata.comment, fromMetadata.createdBy, fromMetadata.creationDate]).toEqual([undefined, undefined, undefined])
      expect(fromMetadata.urlList).toEqual([])
    }
  })

  it("takes one tracker as announce alone, and none as none", () => {
    const infoBytes = fixture().infoBytes
    const one = Either.getOrThrow(parseMetadata(infoBytes, { trackers: [["http://a/"]] }))
    expect([one.announce, one.announceList, trackerTiers(one)]).toEqual(["http://a/", [], [["http://a/"]]])
    const none = Either.getOrThrow(parseMetadata(infoBytes, { trackers: [[]] }))
    expect([none.announce, none.announceList, trackerTiers(none)]).toEqual([undefined, [], []])
  })

  it("refuses metadata that is not a valid info dictionary, naming the source", () => {
    const refuse = (bytes: Uint8Array, reason: MetainfoErrorReason) => {
      const result = parseMetadata(bytes, { trackers: [], source: "magnet x" })
      if (Either.isRight(result)) throw new Error("expected the metadata to be refused")
      expect(result.left.reason).toBe(reason)
      expect(result.left.message.startsWith("magnet x: ")).toBe(true)
      return result.left.message
    }
    expect(refuse(Buffer.from("d4:name"), "InvalidBencode")).toContain("the metadata is not bencode")
    expect(refuse(Buffer.from("li1ee"), "InvalidField")).toBe("magnet x: the metadata is not a dictionary")
    const info = fixture().infoBytes
    refuse(Buffer.concat([info, Buffer.from("x")]), "InvalidBencode")
    refuse(Buffer.from("d4:name1:xe"), "InvalidField")
    refuse(Buffer.from("d6:lengthi1e4:name2:..12:piece lengthi16e6:pieces0:e"), "UnsafePath")
    expect(Either.isLeft(parseMetadata(Buffer.from("li1ee"), { trackers: [] }))).toBe(true)
  })
})

describe("torrentFileBytes", () => {
  it("writes a .torrent that parses back to the same info-hash, trackers and fields", () => {
    const torrent = Either.getOrThrow(parseTorrent(torrentBytes(singleFileInfo(1000), {
      announce: "http://a/",
      "announce-list": [["http://a/", "http://b/"], ["udp://c:1"]],
      comment: "c",
      "created by": "me",
      "creation date": 1_700_000_000,
      "url-list": ["http://w/"]
    })))
    const bytes = torrentFileBytes(torrent)
    const again = Either.getOrThrow(parseTorrent(bytes))
    expect(again).toEqual({ ...torrent, infoBytes: again.infoBytes })
    expect(again.infoBytes).toEqual(torrent.infoBytes)
    // Canonical: keys sorted (the decoder checks when asked).
    expect(Either.isRight(decode(bytes, { requireSortedKeys: true }))).toBe(true)
  })

  it("keeps an out-of-order info dictionary verbatim, so the info-hash survives", () => {
    const torrent = Either.getOrThrow(parseTorrent(unsortedTorrentBytes()))
    const again = Either.getOrThrow(parseTorrent(torrentFileBytes(torrent)))
    expect(again.infoHashHex).toBe(torrent.infoHashHex)
    expect(trackerTiers(again)).toEqual([["http://t/"]])
  })

  it("writes fetched metadata with the magnet link's trackers", () => {
    const magnet = parseOk(formatMagnet(fixture()))
    const torrent = Either.getOrThrow(parseMetadata(fixture().infoBytes, { trackers: magnet.trackers }))
    const again = Either.getOrThrow(parseTorrent(torrentFileBytes(torrent)))
    expect(again.infoHashHex).toBe(magnet.infoHashHex)
    expect(trackerTiers(again)).toEqual(magnet.trackers)
    expect(again.announce).toBe("http://a/announce?k=a%20b")
    expect(again.files).toEqual(fixture().files)
  })

  it("writes a torrent without trackers without announce keys", () => {
    const torrent = Either.getOrThrow(parseMetadata(fixture().infoBytes, { trackers: [] }))
    const bytes = torrentFileBytes(torrent)
    expect(Buffer.from(bytes).subarray(0, 7).toString("latin1")).toBe("d4:info")
    expect(trackerTiers(Either.getOrThrow(parseTorrent(bytes)))).toEqual([])
  })
})
