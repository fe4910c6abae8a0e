import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { encode } from "../../src/bencode/index.js"
import { type MetainfoErrorReason, parseTorrent, pieceSize, trackerTiers } from "../../src/metainfo/index.js"
import { multiFileInfo, sha1Hex, singleFileInfo, torrentBytes } from "./fixtures.js"

const parseOk = (bytes: Uint8Array) => Either.getOrThrow(parseTorrent(bytes))

const rejection = (bytes: Uint8Array) => {
  const result = parseTorrent(bytes, "bad.torrent")
  if (Either.isRight(result)) throw new Error("expected the torrent to be rejected")
  return result.left
}

describe("parseTorrent: valid torrents", () => {
  it("reads a single-file torrent", () => {
    const info = singleFileInfo(40_000, { private: 1 })
    const torrent = parseOk(torrentBytes(info, {
      announce: "http://a.example/announce",
      comment: "hello",
      "created by": "test",
      "creation date": 1_700_000_000,
      "url-list": "http://seed.example/file.bin"
    }))
    expect(torrent.name).toBe("file.bin")
    expect(torrent.layout).toBe("single")
    expect(torrent.totalLength).toBe(40_000)
    expect(torrent.pieceCount).toBe(3)
    expect(pieceSize(torrent, 0)).toBe(16384)
    expect(pieceSize(torrent, 2)).toBe(40_000 - 2 * 16384)
    expect(torrent.files).toEqual([{ path: ["file.bin"], length: 40_000, offset: 0, padding: false }])
    expect(torrent.private).toBe(true)
    expect(torrent.comment).toBe("hello")
    expect(torrent.createdBy).toBe("test")
    expect(torrent.creationDate).toBe(1_700_000_000)
    expect(torrent.urlList).toEqual(["http://seed.example/file.bin"])
    expect(trackerTiers(torrent)).toEqual([["http://a.example/announce"]])
  })

  it("reads a multi-file torrent with file offsets in the torrent's byte space", () => {
    const torrent = parseOk(torrentBytes(multiFileInfo([
      { path: ["a.bin"], length: 20_000 },
      { path: ["sub", "empty"], length: 0 },
      { path: ["sub", "deeper", "c.bin"], length: 5 }
    ])))
    expect(torrent.layout).toBe("multi")
    expect(torrent.files.map((f) => [f.path.join("/"), f.length, f.offset])).toEqual([
      ["a.bin", 20_000, 0],
      ["sub/empty", 0, 20_000],
      ["sub/deeper/c.bin", 5, 20_000]
    ])
    expect(torrent.totalLength).toBe(20_005)
    expect(torrent.pieceCount).toBe(2)
  })

  it("hashes the info dictionary's original bytes, even when its keys are out of order", () => {
    const sorted = encode(singleFileInfo(100))
    // Move "name" ahead of "length": the same dictionary, encoded non-canonically.
    const text = Buffer.from(sorted).toString("latin1")
    const unsorted = text.replace(/^d(6:lengthi100e)(4:name8:file\.bin)/, "d$2$1")
    expect(unsorted).not.toBe(text)
    const infoBytes = Buffer.from(unsorted, "latin1")
    const bytes = Buffer.concat([Buffer.from("d4:info"), infoBytes, Buffer.from("e")])
    const torrent = parseOk(bytes)
    expect(torrent.infoHashHex).toBe(sha1Hex(infoBytes))
    expect(torrent.infoHashHex).not.toBe(sha1Hex(sorted))
    expect(Buffer.from(torrent.infoBytes).equals(infoBytes)).toBe(true)
  })

  it("uses announce-list tiers over announce, dropping empty tiers and non-strings", () => {
    const torrent = parseOk(torrentBytes(singleFileInfo(10), {
      announce: "http://ignored.example/announce",
      "announce-list": [["http://a/1", "udp://a/2"], [], [5, "http://b/1"]]
    }))
    expect(trackerTiers(torrent)).toEqual([["http://a/1", "udp://a/2"], ["http://b/1"]])
    expect(torrent.announce).toBe("http://ignored.example/announce")
  })

  it("prefers path.utf-8 and name.utf-8 when present, and marks BEP 47 padding files", () => {
    const info = multiFileInfo([{ path: ["x"], length: 10 }, { path: [".pad", "0"], length: 6 }], {
      "name.utf-8": "dossier-é"
    })
    const files = info.files as Array<Record<string, unknown>>
    files[0] = { ...files[0], "path.utf-8": ["fiché"] }
    files[1] = { ...files[1], attr: "p" }
    const torrent = parseOk(torrentBytes(info))
    expect(torrent.name).toBe("dossier-é")
    expect(torrent.files.map((f) => [f.path.join("/"), f.padding])).toEqual([["fiché", false], [".pad/0", true]])
  })
})

describe("parseTorrent: hostile and broken torrents, one clear error each", () => {
  const file = (path: ReadonlyArray<string>, length = 10) => ({ path, length })
  const cases: ReadonlyArray<readonly [string, Uint8Array, MetainfoErrorReason, RegExp]> = [
    ["path traversal", torrentBytes(multiFileInfo([file(["..", "etc", "passwd"])])), "UnsafePath", /"\.\."/],
    ["a dot component", torrentBytes(multiFileInfo([file([".", "x"])])), "UnsafePath", /"\."/],
    ["an absolute path", torrentBytes(multiFileInfo([file(["", "etc", "passwd"])])), "UnsafePath", /empty path component/],
    ["a separator inside a component", torrentBytes(multiFileInfo([file(["a/../../b"])])), "UnsafePath", /separator/],
    ["a backslash inside a component", torrentBytes(multiFileInfo([file(["..\\x"])])), "UnsafePath", /separator/],
    ["a NUL in a file name", torrentBytes(multiFileInfo([file(["a\0b"])])), "UnsafePath", /NUL/],
    ["a drive letter", torrentBytes(multiFileInfo([file(["C:", "x"])])), "UnsafePath", /drive-letter/],
    ["an empty path", torrentBytes(multiFileInfo([file([])])), "UnsafePath", /empty path/],
    ["a traversal name", torrentBytes(singleFileInfo(10, { name: ".." })), "UnsafePath", /name/],
    ["an absolute name", torrentBytes(singleFileInfo(10, { name: "/etc/passwd" })), "UnsafePath", /name/],
    ["an empty name", torrentBytes(singleFileInfo(10, { name: "" })), "UnsafePath", /name/],
    ["the same path twice", torrentBytes(multiFileInfo([file(["a"]), file(["a"])])), "UnsafePath", /collide at "a"/],
    ["a file that is also a folder", torrentBytes(multiFileInfo([file(["a"]), file(["a", "b"])])), "UnsafePath", /collide/],
    ["a negative length", torrentBytes(multiFileInfo([file(["a"], -1)])), "InvalidLength", /negative/],
    ["an absurd length", torrentBytes(singleFileInfo(10, { length: 2 ** 52 })), "InvalidLength", /absurd/],
    ["no data at all", torrentBytes(singleFileInfo(0)), "InvalidLength", /no data/],
    ["pieces not a multiple of 20", torrentBytes(singleFileInfo(10, { pieces: new Uint8Array(19) })), "InvalidPieces", /multiple of 20/],
    ["too few piece hashes", torrentBytes(singleFileInfo(40_000, { pieces: new Uint8Array(40) })), "InvalidPieces", /expected 3/],
    ["too many piece hashes", torrentBytes(singleFileInfo(10, { pieces: new Uint8Array(40) })), "InvalidPieces", /expected 1/],
    ["a zero piece length", torrentBytes(singleFileInfo(10, { "piece length": 0 })), "InvalidPieces", /out of range/],
    ["an absurd piece length", torrentBytes(singleFileInfo(10, { "piece length": 2 ** 40 })), "InvalidPieces", /out of range/],
    ["a missing info", encode({ announce: "http://x/a" }), "InvalidField", /no "info"/],
    ["an info that is a list", encode({ info: [1] }), "InvalidField", /not a dictionary/],
    ["a top level that is a list", encode([1, 2]), "InvalidField", /top level/],
    ["both length and files", torrentBytes(multiFileInfo([file(["a"])], { length: 10 })), "InvalidField", /both/],
    ["an empty file list", torrentBytes(multiFileInfo([])), "InvalidField", /empty/],
    ["a missing piece length", torrentBytes(singleFileInfo(10, { "piece length": undefined })), "InvalidField", /piece length/],
    ["a name that is a number", torrentBytes(singleFileInfo(10, { name: 5 })), "InvalidField", /name/],
    ["a v2 torrent without a file tree", torrentBytes(singleFileInfo(10, { pieces: undefined, "meta version": 2 })), "InvalidField", /file tree/],
    ["a v1 torrent without pieces", torrentBytes(singleFileInfo(10, { pieces: undefined })), "InvalidField", /pieces/],
    ["truncated bytes", torrentBytes(singleFileInfo(10)).subarray(0, 50), "InvalidBencode", /not a torrent file/],
    ["trailing garbage", Buffer.concat([torrentBytes(singleFileInfo(10)), Buffer.from("x")]), "InvalidBencode", /not a torrent file/],
    ["an empty file", new Uint8Array(0), "InvalidBencode", /not a torrent file/]
  ]
  for (const [name, bytes, reason, message] of cases) {
    it(`rejects ${name}`, () => {
      const error = rejection(bytes)
      expect(error._tag).toBe("MetainfoError")
      expect(error.reason).toBe(reason)
      expect(error.message).toMatch(message)
      expect(error.message.startsWith("bad.torrent: ")).toBe(true)
      expect(error.message).not.toContain("\n")
    })
  }

  it("rejects every truncation of a valid torrent with a typed error", () => {
    const bytes = torrentBytes(multiFileInfo([file(["a"], 30_000), file(["b", "c"], 5)]))
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(Either.isLeft(parseTorrent(bytes.subarray(0, cut)))).toBe(true)
    }
  })
})
