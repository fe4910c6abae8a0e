import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { createHash } from "node:crypto"
import { type Bencodable, encode } from "../../src/bencode/index.js"
import {
  formatMagnet,
  Merkle,
  type MetainfoErrorReason,
  parseMetadata,
  parseTorrent,
  pieceCheck,
  torrentFileBytes,
  torrentVersion
} from "../../src/metainfo/index.js"
import { passes } from "../../src/verifier/index.js"

const data = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) % 253)

interface Spec {
  readonly path: ReadonlyArray<string>
  readonly bytes: Uint8Array
}

const PIECE = 16_384

const rootOf = (bytes: Uint8Array) => Merkle.fileRoot(Merkle.blockHashes(bytes))
const layerOf = (bytes: Uint8Array, pieceLength: number) =>
  Buffer.concat(
    Array.from(
      { length: Math.ceil(bytes.length / pieceLength) },
      (_, i) => Merkle.pieceRoot(bytes.subarray(i * pieceLength, (i + 1) * pieceLength), pieceLength)
    )
  )

/** A file tree, piece layers and (for a hybrid) the v1 fields with padding, built by hand from the spec. */
const build = (specs: ReadonlyArray<Spec>, options: { hybrid?: boolean; pieceLength?: number; name?: string } = {}) => {
  const pieceLength = options.pieceLength ?? PIECE
  const tree = new Map<string, Bencodable>()
  const layers = new Map<string, Bencodable>()
  for (const spec of specs) {
    let dir = tree
    for (const part of spec.path.slice(0, -1)) {
      if (!dir.has(part)) dir.set(part, new Map<string, Bencodable>())
      dir = dir.get(part) as Map<string, Bencodable>
    }
    const root = spec.bytes.length > 0 ? rootOf(spec.bytes) : undefined
    dir.set(spec.path[spec.path.length - 1]!, { "": { length: spec.bytes.length, "pieces root": root } })
    if (root !== undefined && spec.bytes.length > pieceLength) {
      layers.set(Buffer.from(root).toString("latin1"), layerOf(spec.bytes, pieceLength))
    }
  }
  const info: Record<string, Bencodable | undefined> = {
    name: options.name ?? "folder",
    "piece length": pieceLength,
    "meta version": 2,
    "file tree": tree
  }
  if (options.hybrid === true) {
    const files: Array<Bencodable> = []
    const chunks: Array<Uint8Array> = []
    specs.forEach((spec, i) => {
      files.push({ length: spec.bytes.length, path: [...spec.path] })
      chunks.push(spec.bytes)
      const gap = (pieceLength - (spec.bytes.length % pieceLength)) % pieceLength
      if (gap > 0 && i < specs.length - 1) {
        files.push({ attr: "p", length: gap, path: [".pad", String(gap)] })
        chunks.push(new Uint8Array(gap))
      }
    })
    const all = Buffer.concat(chunks)
    const pieces = Buffer.concat(
      Array.from(
        { length: Math.ceil(all.length / pieceLength) },
        (_, i) => createHash("sha1").update(all.subarray(i * pieceLength, (i + 1) * pieceLength)).digest()
      )
    )
    info.files = files
    info.pieces = pieces
  }
  return { info, layers }
}

const bytesOf = (built: ReturnType<typeof build>, extra: Record<string, Bencodable | undefined> = {}) =>
  encode({ announce: "http://t.example/a", info: built.info, "piece layers": built.layers, ...extra })

const ok = (bytes: Uint8Array) => Either.getOrThrow(parseTorrent(bytes, "v2.torrent"))
const rejection = (bytes: Uint8Array, reason: MetainfoErrorReason, message: RegExp) => {
  const result = parseTorrent(bytes, "bad.torrent")
  if (Either.isRight(result)) throw new Error("expected the torrent to be rejected")
  expect(result.left.reason).toBe(reason)
  expect(result.left.message).toMatch(message)
  expect(result.left.message).not.toContain("\n")
}

const specs: ReadonlyArray<Spec> = [
  { path: ["a.bin"], bytes: data(40_000, 1) },
  { path: ["dir", "b.txt"], bytes: data(100, 2) },
  { path: ["dir", "empty"], bytes: new Uint8Array(0) },
  { path: ["z.bin"], bytes: data(16_384, 3) }
]

describe("v2 torrents (BEP 52)", () => {
  it("reads a v2-only torrent: the file tree in order, files on piece boundaries, the layers checked", () => {
    const built = build(specs)
    const bytes = bytesOf(built)
    const torrent = ok(bytes)
    expect(torrentVersion(torrent)).toBe("v2")
    const infoBytes = encode(built.info as Bencodable)
    const v2 = createHash("sha256").update(infoBytes).digest("hex")
    expect(torrent.v2?.infoHashHex).toBe(v2)
    expect(torrent.infoHashHex).toBe(v2.slice(0, 40))
    expect(torrent.pieceHashes.length).toBe(0)
    expect(torrent.files.map((f) => [f.path.join("/"), f.length, f.offset, f.padding])).toEqual([
      ["a.bin", 40_000, 0, false],
      [".pad/9152", 9152, 40_000, true],
      ["dir/b.txt", 100, 49_152, false],
      [".pad/16284", 16_284, 49_252, true],
      ["dir/empty", 0, 65_536, false],
      ["z.bin", 16_384, 65_536, false]
    ])
    expect(torrent.totalLength).toBe(81_920)
    expect(torrent.pieceCount).toBe(5)
    expect(torrent.layout).toBe("multi")
    expect(Buffer.from(torrent.files[0]!.piecesRoot!).toString("hex")).toBe(Buffer.from(rootOf(specs[0]!.bytes)).toString("hex"))
    expect(torrent.v2?.pieceLayers.map((l) => l?.length)).toEqual([96, undefined, undefined, undefined, undefined, undefined])
  })

  it("reads a hybrid: both hashes, the v1 files with their padding carrying the v2 roots", () => {
    const built = build(specs, { hybrid: true })
    const torrent = ok(bytesOf(built))
    expect(torrentVersion(torrent)).toBe("hybrid")
    const infoBytes = encode(built.info as Bencodable)
    expect(torrent.infoHashHex).toBe(createHash("sha1").update(infoBytes).digest("hex"))
    expect(torrent.v2?.infoHashHex).toBe(createHash("sha256").update(infoBytes).digest("hex"))
    expect(torrent.pieceHashes.length).toBe(20 * torrent.pieceCount)
    expect(torrent.files.filter((f) => !f.padding).every((f) => f.length === 0 || f.piecesRoot?.length === 32)).toBe(true)
    const magnet = formatMagnet(torrent)
    expect(magnet).toContain(`xt=urn:btih:${torrent.infoHashHex}`)
    expect(magnet).toContain(`xt=urn:btmh:1220${torrent.v2?.infoHashHex}`)
  })

  it("a single file at the top of the tree is a single-file torrent", () => {
    const torrent = ok(bytesOf(build([{ path: ["one.bin"], bytes: data(50_000, 4) }], { name: "one.bin" })))
    expect(torrent.layout).toBe("single")
    // Implied padding to the end of the last piece, as libtorrent lays out a v2-only torrent.
    expect(torrent.files.map((f) => [f.path, f.padding])).toEqual([[["one.bin"], false], [[".pad", "15536"], true]])
    expect(torrent.totalLength).toBe(65_536)
    expect(formatMagnet(torrent)).not.toContain("btih")
  })

  it("keeps the piece layers when written back out, and takes metadata from peers without them", () => {
    const built = build(specs)
    const torrent = ok(bytesOf(built))
    const again = ok(torrentFileBytes(torrent))
    expect(again.v2?.infoHashHex).toBe(torrent.v2?.infoHashHex)
    expect(again.v2?.pieceLayers[0]).toEqual(torrent.v2?.pieceLayers[0])
    const fromPeers = Either.getOrThrow(parseMetadata(torrent.infoBytes, { trackers: [] }))
    expect(fromPeers.v2?.infoHashHex).toBe(torrent.v2?.infoHashHex)
    expect(fromPeers.v2?.pieceLayers.every((l) => l === undefined)).toBe(true)
  })

  describe("refuses hostile or broken v2 torrents with one clear error", () => {
    const base = () => build(specs)
    const withInfo = (patch: Record<string, Bencodable | undefined>) => {
      const b = base()
      return bytesOf({ info: { ...b.info, ...patch }, layers: b.layers })
    }
    const tree = (entries: Record<string, Bencodable>) => withInfo({ "file tree": entries })
    const leaf = (length: number, root: Uint8Array | undefined = new Uint8Array(32).fill(1)) => ({
      "": { length, "pieces root": root }
    })

    it("a piece length that is not a power of two, or under 16 KiB", () => {
      rejection(withInfo({ "piece length": 24_576 }), "InvalidPieces", /power of two/)
      rejection(withInfo({ "piece length": 8192 }), "InvalidPieces", /power of two/)
    })
    it("a meta version other than 2", () => rejection(withInfo({ "meta version": 3 }), "Unsupported", /meta version/))
    it("a missing or empty file tree", () => {
      rejection(withInfo({ "file tree": undefined }), "InvalidField", /file tree/)
      rejection(tree({}), "InvalidField", /holds no files/)
    })
    it("path traversal and unsafe names", () => {
      rejection(tree({ "..": { x: leaf(10) } }), "UnsafePath", /".."/)
      rejection(tree({ "a/b": leaf(10) }), "UnsafePath", /separator/)
      rejection(tree({ "": { length: 1 } }), "UnsafePath", /empty name/)
    })
    it("a node that is both a file and a folder, or an empty folder", () => {
      rejection(tree({ a: { "": { length: 1, "pieces root": new Uint8Array(32) }, b: leaf(1) } }), "InvalidField", /both/)
      rejection(tree({ a: {} }), "InvalidField", /empty folder/)
    })
    it("a bad length or root", () => {
      rejection(tree({ a: leaf(-1) }), "InvalidLength", /length/)
      rejection(tree({ a: leaf(2 ** 51) }), "InvalidLength", /absurd/)
      rejection(tree({ a: leaf(10, new Uint8Array(31)) }), "InvalidPieces", /pieces root/)
      rejection(tree({ a: { "": { length: 10 } } }), "InvalidPieces", /pieces root/)
    })
    it("piece layers missing, of the wrong length, or not hashing to the root", () => {
      const b = base()
      rejection(bytesOf({ info: b.info, layers: new Map() }), "InvalidPieces", /no hashes for "a.bin"/)
      const key = [...b.layers.keys()][0]!
      const good = b.layers.get(key) as Uint8Array
      rejection(bytesOf({ info: b.info, layers: new Map([[key, good.subarray(0, 64)]]) }), "InvalidPieces", /64 bytes, not 96/)
      const bad = Uint8Array.from(good)
      bad[0]! ^= 1
      rejection(bytesOf({ info: b.info, layers: new Map([[key, bad]]) }), "InvalidPieces", /do not hash/)
      rejection(encode({ info: b.info, "piece layers": [1] }), "InvalidField", /piece layers/)
    })
    it("a hybrid whose halves describe different files", () => {
      const b = build(specs, { hybrid: true })
      const files = (b.info.files as Array<Record<string, Bencodable>>).map((f) => ({ ...f }))
      files[0] = { ...files[0]!, path: ["other.bin"] }
      rejection(bytesOf({ info: { ...b.info, files }, layers: b.layers }), "InvalidField", /different files/)
      const unpadded = (b.info.files as Array<Record<string, Bencodable>>).filter((f) => f.attr === undefined)
      rejection(bytesOf({ info: { ...b.info, files: unpadded }, layers: b.layers }), "InvalidField", /different files|piece/)
    })
  })

  it("pieceCheck: every piece of a v2 and a hybrid torrent passes both kinds of check, and a flipped byte fails", () => {
    const bytesSpecs: ReadonlyArray<Spec> = [
      { path: ["a.bin"], bytes: data(100_000, 5) },
      { path: ["b"], bytes: data(5, 6) },
      { path: ["c"], bytes: new Uint8Array(0) },
      { path: ["d"], bytes: data(40_000, 7) }
    ]
    for (const hybrid of [false, true]) {
      const torrent = ok(bytesOf(build(bytesSpecs, { hybrid, pieceLength: 32_768 })))
      const space = new Uint8Array(torrent.totalLength)
      let at = 0
      for (const file of torrent.files) {
        if (!file.padding) space.set(bytesSpecs.find((s) => s.path.join("/") === file.path.join("/"))!.bytes, at)
        at += file.length
      }
      for (let index = 0; index < torrent.pieceCount; index++) {
        const piece = space.slice(index * 32_768, Math.min(space.length, (index + 1) * 32_768))
        const check = pieceCheck(torrent, index)
        expect(check.sha256).toBeDefined()
        expect(check.sha1 !== undefined).toBe(hybrid)
        expect(passes(piece, check)).toBe(true)
        piece[0]! ^= 1
        expect(passes(piece, check)).toBe(false)
      }
    }
  })

  it("property: random trees of files parse, lay out on piece boundaries and keep their layers", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const count = 1 + (seed % 5)
      const files = Array.from({ length: count }, (_, i) => ({
        path: [`f${i}`],
        bytes: data((seed * 7919 * (i + 1)) % 120_000, seed + i)
      }))
      if (files.every((f) => f.bytes.length === 0)) continue
      const pieceLength = PIECE << (seed % 3)
      const torrent = ok(bytesOf(build(files, { pieceLength, hybrid: seed % 2 === 0 })))
      for (const file of torrent.files) if (!file.padding && file.length > 0) expect(file.offset % pieceLength).toBe(0)
      expect(torrent.pieceCount).toBe(files.reduce((n, f) => n + Math.ceil(f.bytes.length / pieceLength), 0))
    }
  })
})
