/** Fuzzing `parseTorrent` and `parseMagnet`: random input and mutated valid .torrent files and magnet links. */
import * as Either from "effect/Either"
import fc from "fast-check"
import { createHash } from "node:crypto"
import { describe } from "vitest"
import { type Bencodable, decode, encode, isDict } from "../../src/bencode/index.js"
import {
  MAX_MAGNET_PEERS,
  MAX_MAGNET_TRACKERS,
  MAX_MAGNET_WEB_SEEDS,
  MAX_PIECE_LENGTH,
  Merkle,
  MetainfoError,
  parseMagnet,
  parseTorrent
} from "../../src/metainfo/index.js"
import { ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

const component = fc.oneof(
  fc.constantFrom("a", "b", "album", "x.bin", "docs", "..", ".", "", "C:x", "a/b", "é"),
  fc.string({ minLength: 1, maxLength: 6 })
)
const pieceLength = fc.constantFrom(1, 7, 16, 1024, 16384, 32768, 262144)

/** Valid-looking torrents (most parse; some collide or hold nothing, which is fine): at most 16 pieces. */
const validTorrents: fc.Arbitrary<Uint8Array> = pieceLength.chain((length) => {
  const fileLength = fc.integer({ min: 0, max: length * 6 })
  const single = fileLength.map((size) => ({ length: Math.max(1, size) }))
  const multi = fc.array(fc.record({ length: fileLength, path: fc.array(component, { minLength: 1, maxLength: 3 }) }), {
    minLength: 1,
    maxLength: 3
  }).map((files) => ({ files: files.map((file, i) => (i === 1 ? { ...file, attr: "p" } : file)) }))
  return fc.record({
    name: component,
    layout: fc.oneof(single, multi),
    announce: fc.option(fc.constantFrom("http://t.example/announce", "udp://t.example:80", " "), { nil: undefined }),
    tiers: fc.option(
      fc.array(fc.array(fc.constantFrom("http://a/announce", "udp://b:1", ""), { maxLength: 3 }), { maxLength: 3 }),
      { nil: undefined }
    ),
    extra: fc.record({
      comment: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
      "created by": fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
      "creation date": fc.option(fc.integer(), { nil: undefined }),
      "url-list": fc.option(fc.constantFrom("http://w/", ["http://w/", "x"]), { nil: undefined })
    }),
    isPrivate: fc.boolean()
  }).map(({ announce, extra, isPrivate, layout, name, tiers }) => {
    const total = "length" in layout ? layout.length : layout.files.reduce((sum, file) => sum + file.length, 0)
    const pieces = new Uint8Array(20 * Math.ceil(total / length)).fill(0xab)
    const info: Record<string, Bencodable | undefined> = {
      name,
      "piece length": length,
      pieces,
      private: isPrivate ? 1 : undefined,
      ...layout
    }
    return encode({ info, announce, "announce-list": tiers, ...extra })
  })
}).filter((bytes) => bytes.length <= 4096)

/** Valid-looking v2-only and hybrid torrents (BEP 52), with real roots and piece layers over small data. */
const validV2Torrents: fc.Arbitrary<Uint8Array> = fc.record({
  pieceLength: fc.constantFrom(16384, 32768),
  hybrid: fc.boolean(),
  name: component,
  files: fc.uniqueArray(
    fc.record({ name: fc.constantFrom("a", "b", "c.bin", "é", ".."), size: fc.integer({ min: 0, max: 70_000 }) }),
    { minLength: 1, maxLength: 3, selector: (file) => file.name }
  )
}).map(({ files, hybrid, name, pieceLength }) => {
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
  const tree = new Map<string, Bencodable>()
  const layers = new Map<string, Bencodable>()
  const v1: Array<Bencodable> = []
  const chunks: Array<Uint8Array> = []
  sorted.forEach((file, i) => {
    const data = new Uint8Array(file.size).fill(i + 1)
    const leaves = Merkle.blockHashes(data)
    const root = file.size > 0 ? Merkle.fileRoot(leaves) : undefined
    tree.set(Buffer.from(file.name).toString("latin1"), { "": { length: file.size, "pieces root": root } })
    if (root !== undefined && file.size > pieceLength) {
      const layer = Merkle.treeLayers(leaves, Merkle.nextPowerOfTwo(leaves.length / 32))[Merkle.log2(pieceLength / 16384)]!
      layers.set(Buffer.from(root).toString("latin1"), layer)
    }
    v1.push({ length: file.size, path: [file.name] })
    chunks.push(data)
    const gap = (pieceLength - (file.size % pieceLength)) % pieceLength
    if (gap > 0 && i < sorted.length - 1) {
      v1.push({ attr: "p", length: gap, path: [".pad", String(gap)] })
      chunks.push(new Uint8Array(gap))
    }
  })
  const all = Buffer.concat(chunks)
  const pieces = Buffer.concat(Array.from({ length: Math.ceil(all.length / pieceLength) }, (_, i) =>
    createHash("sha1").update(all.subarray(i * pieceLength, (i + 1) * pieceLength)).digest()))
  const info: Record<string, Bencodable | undefined> = {
    name,
    "piece length": pieceLength,
    "meta version": 2,
    "file tree": tree,
    ...(hybrid ? { pieces, files: v1 } : {})
  }
  return encode({ info, "piece layers": layers })
}).filter((bytes) => bytes.length <= 4096)

const hashes = fc.oneof(
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((bytes) => Buffer.from(bytes).toString("hex")),
  fc.constantFrom("YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK", "yex6dqdlxisuvhoj6um3gnnkpqjwpkek")
)
const escaped = fc.string({ maxLength: 12 }).map(encodeURIComponent)
const magnetParameter = fc.oneof(
  hashes.map((hash) => `xt=urn:btih:${hash}`),
  fc.constantFrom(`xt=urn:btmh:1220${"ab".repeat(32)}`, "xt=urn:sha1:X", "kt=a+b", "xl=10", "x.pe=[::1]:6881"),
  escaped.map((name) => `dn=${name}`),
  fc.constantFrom("http://t/announce", "udp://t:1", "").map((url) => `tr=${encodeURIComponent(url)}`),
  fc.tuple(fc.ipV4(), fc.oneof({ arbitrary: fc.integer({ min: 1, max: 65535 }), weight: 9 }, fc.constantFrom(0, 65536)))
    .map(([host, port]) => `x.pe=${host}:${port}`),
  escaped.map((url) => `ws=${url}`),
  fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 4 }).map((ns) => `so=${ns.join(",")}`)
)
/** Valid-looking magnet links (most parse) as UTF-8 bytes, so that the byte mutators apply. */
const validMagnets: fc.Arbitrary<Uint8Array> = fc.tuple(hashes, fc.array(magnetParameter, { maxLength: 8 })).map(
  ([hash, parameters]) => Buffer.from(["magnet:?xt=urn:btih:" + hash, ...parameters].join("&"))
)
/** Strings from the characters that matter to a magnet link, behind its prefix. */
const magnetish = fc.string({ unit: fc.constantFrom(..."xtrnbihdpeswo.:=&%+[]-,0123456789abcfABCF7 "), maxLength: 80 })
  .map((rest) => Buffer.from(`magnet:?${rest}`))
const utf8 = new TextDecoder()
const magnetInputs = fc.oneof({ arbitrary: fuzzInputs(validMagnets), weight: 3 }, { arbitrary: magnetish, weight: 1 })

describe("fuzz: metainfo", () => {
  fuzzTarget("metainfo parseMagnet", magnetInputs, (bytes) => {
    const result = parseMagnet(utf8.decode(bytes))
    ensure(Either.isEither(result), "the answer is an Either")
    if (Either.isLeft(result)) {
      ensure(result.left instanceof MetainfoError, "the error is a MetainfoError")
      ensure(result.left.reason === "InvalidMagnet" || result.left.reason === "Unsupported", "a magnet reason")
      ensure(result.left.message.length > 0 && !result.left.message.includes("\n"), "one line")
      return false
    }
    const magnet = result.right
    ensure(magnet.infoHash.length === 20, "a 20-byte info-hash")
    ensure(Buffer.from(magnet.infoHash).toString("hex") === magnet.infoHashHex, "the hex is of the hash")
    ensure(magnet.trackers.length <= MAX_MAGNET_TRACKERS, "trackers bounded")
    ensure(magnet.trackers.every((tier) => tier.length === 1 && tier[0] !== ""), "one tracker a tier")
    ensure(new Set(magnet.trackers.flat()).size === magnet.trackers.length, "no duplicate trackers")
    ensure(magnet.peers.length <= MAX_MAGNET_PEERS, "peers bounded")
    ensure(magnet.peers.every((peer) => peer.port >= 1 && peer.port <= 65535 && peer.host !== ""), "peers valid")
    ensure(magnet.webSeeds.length <= MAX_MAGNET_WEB_SEEDS, "web seeds bounded")
    ensure(magnet.selectOnly?.every((range) => 0 <= range.from && range.from <= range.to) ?? true, "ranges valid")
    return true
  })


  fuzzTarget("metainfo parseTorrent", fuzzInputs(fc.oneof(validTorrents, validV2Torrents)), (bytes) => {
    const result = parseTorrent(bytes, "fuzz.torrent")
    if (Either.isLeft(result)) {
      ensure(result.left instanceof MetainfoError, "the error is a MetainfoError")
      ensure(result.left.message.startsWith("fuzz.torrent: "), "the error names the file")
      return false
    }
    const torrent = result.right
    // What a valid torrent promises the rest of the client.
    ensure(torrent.totalLength > 0, "it holds data")
    ensure(torrent.pieceLength > 0 && torrent.pieceLength <= MAX_PIECE_LENGTH, "its piece length is in range")
    ensure(torrent.pieceCount === Math.ceil(torrent.totalLength / torrent.pieceLength), "the piece count fits the length")
    const v2Only = torrent.v2 !== undefined && !torrent.v2.hybrid
    ensure(torrent.pieceHashes.length === (v2Only ? 0 : 20 * torrent.pieceCount), "a hash per piece (none for v2-only)")
    if (torrent.v2 !== undefined) {
      ensure(torrent.v2.infoHash.length === 32, "a 32-byte v2 info-hash")
      ensure(torrent.v2.pieceLayers.length === torrent.files.length, "a piece layer slot per file")
      for (const file of torrent.files) {
        if (file.padding || file.length === 0) continue
        ensure(file.piecesRoot?.length === 32, "every v2 file has a root")
        ensure(file.offset % torrent.pieceLength === 0, "every v2 file starts on a piece boundary")
      }
    }
    let offset = 0
    for (const file of torrent.files) {
      ensure(file.offset === offset && file.length >= 0, "files lie end to end")
      ensure(file.path.length > 0, "every file has a path")
      for (const part of file.path) {
        ensure(!(part === "" || part === "." || part === ".." || /[/\\\0]/.test(part)), `a safe path component: ${part}`)
      }
      offset += file.length
    }
    ensure(offset === torrent.totalLength, "the files add up to the total")
    const infoHash = v2Only
      ? createHash("sha256").update(torrent.infoBytes).digest("hex").slice(0, 40)
      : createHash("sha1").update(torrent.infoBytes).digest("hex")
    ensure(torrent.infoHashHex === infoHash, "the info-hash is of the info bytes (v2-only: SHA-256, cut to 20 bytes)")
    if (torrent.v2 !== undefined) {
      ensure(torrent.v2.infoHashHex === createHash("sha256").update(torrent.infoBytes).digest("hex"), "the v2 hash")
    }
    const info = decode(torrent.infoBytes)
    ensure(Either.isRight(info) && isDict(info.right), "the info bytes are a dictionary")
    return true
  })
})
