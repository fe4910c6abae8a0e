import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll } from "vitest"
import { encode } from "../../src/bencode/index.js"
import {
  autoPieceLength,
  createTorrent,
  type CreateTorrentOptions,
  Merkle,
  MetainfoError,
  parseTorrent,
  pieceLengthProblem,
  type TorrentInfo,
  torrentVersion
} from "../../src/metainfo/index.js"

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

const root = mkdtempSync(join(tmpdir(), "bt-create-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let dirCount = 0
/** A fresh folder under the suite's temp dir. */
const freshDir = (): string => {
  const dir = join(root, `case-${++dirCount}`)
  mkdirSync(dir)
  return dir
}

/** Deterministic bytes that differ from file to file (xorshift32). */
const bytes = (length: number, seed: number): Buffer => {
  const out = Buffer.alloc(length)
  let state = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    out[i] = state & 0xff
  }
  return out
}

/** Writes files (relative paths, parents made) and returns their contents by path. */
const writeTree = (dir: string, files: ReadonlyArray<readonly [string, number]>): Map<string, Buffer> => {
  const contents = new Map<string, Buffer>()
  files.forEach(([path, length], i) => {
    const data = bytes(length, i + 1)
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), data)
    contents.set(path, data)
  })
  return contents
}

/** The piece hashes of `data`, computed the simplest way. */
const expectedPieces = (data: Buffer, pieceLength: number): Buffer => {
  const hashes: Array<Buffer> = []
  for (let at = 0; at < data.length; at += pieceLength) {
    hashes.push(createHash("sha1").update(data.subarray(at, at + pieceLength)).digest())
  }
  return Buffer.concat(hashes)
}

const parsed = (torrent: Uint8Array): TorrentInfo => Either.getOrThrow(parseTorrent(torrent))

const failure = (options: CreateTorrentOptions) => Effect.flip(createTorrent(options))

const Platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)

layer(Platform)("createTorrent", (it) => {
  it.effect("makes a single-file v1 torrent, byte for byte what BEP 3 asks for", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const data = writeTree(dir, [["movie.bin", 40_000]]).get("movie.bin")!
      const torrent = yield* createTorrent({
        kind: "v1",
        path: join(dir, "movie.bin"),
        trackers: [["http://a.example/announce"]],
        pieceLength: 16 * KiB,
        private: true,
        comment: "hello",
        creationDate: 1_700_000_000
      })
      const expected = encode({
        announce: "http://a.example/announce",
        comment: "hello",
        "created by": "bt 0.1.0",
        "creation date": 1_700_000_000,
        info: {
          length: 40_000,
          name: "movie.bin",
          "piece length": 16 * KiB,
          pieces: expectedPieces(data, 16 * KiB),
          private: 1
        }
      })
      expect(Buffer.from(torrent).equals(Buffer.from(expected))).toBe(true)

      const info = parsed(torrent)
      expect(info.layout).toBe("single")
      expect(info.files).toEqual([{ path: ["movie.bin"], length: 40_000, offset: 0, padding: false }])
      expect(info.pieceCount).toBe(3)
      expect(info.announceList).toEqual([]) // one URL: `announce` alone
      expect(info.private).toBe(true)
    }))

  it.effect("makes a multi-file v1 torrent of a nested folder, files in bytewise path order", () =>
    Effect.gen(function*() {
      const dir = join(freshDir(), "album")
      const contents = writeTree(dir, [
        ["docs/readme.txt", 1_000], // smaller than a piece
        ["a.bin", 40_000],
        ["z/exact.bin", 16_384],
        ["é.txt", 5], // UTF-8 0xC3 0xA9: after every ASCII name
        ["docs/deep/nested/data.bin", 100_003],
        ["z/empty.bin", 0],
        ["Z.txt", 7], // uppercase sorts before lowercase
        ["a/x.bin", 3], // the folder "a" sorts before "a.bin"
        [".hidden", 11] // hidden files are kept
      ])
      const tiers = [["http://a.example/announce", "http://b.example/announce"], ["udp://c.example:6969/announce"]]
      const torrent = yield* createTorrent({ kind: "v1", path: dir, trackers: tiers, pieceLength: 16 * KiB, creationDate: 0 })
      const info = parsed(torrent)

      const order = [
        ".hidden",
        "Z.txt",
        "a/x.bin",
        "a.bin",
        "docs/deep/nested/data.bin",
        "docs/readme.txt",
        "z/empty.bin",
        "z/exact.bin",
        "é.txt"
      ]
      expect(info.name).toBe("album")
      expect(info.layout).toBe("multi")
      expect(info.files.map((file) => file.path.join("/"))).toEqual(order)
      let offset = 0
      for (const file of info.files) {
        const data = contents.get(file.path.join("/"))!
        expect(file).toEqual({ path: file.path, length: data.length, offset, padding: false })
        offset += data.length
      }
      const all = Buffer.concat(order.map((path) => contents.get(path)!))
      expect(info.totalLength).toBe(all.length)
      expect(info.pieceCount).toBe(Math.ceil(all.length / (16 * KiB)))
      expect(Buffer.from(info.pieceHashes).equals(expectedPieces(all, 16 * KiB))).toBe(true)
      expect(info.announce).toBe("http://a.example/announce")
      expect(info.announceList).toEqual(tiers)
      expect(info.private).toBe(false)
      expect(info.comment).toBeUndefined()
      expect(info.creationDate).toBe(0)
      expect(info.createdBy).toBe("bt 0.1.0")
    }))

  it.effect("hashes pieces across reads and file boundaries, reporting progress up to the total", () =>
    Effect.gen(function*() {
      // Larger than the 4 MiB read size, with files that end inside pieces and reads.
      const dir = join(freshDir(), "big")
      const contents = writeTree(dir, [["1.bin", 5 * MiB + 3], ["2.bin", 1], ["3.bin", 3 * MiB - 7], ["4.bin", 9 * MiB]])
      const all = Buffer.concat([...contents.values()])
      const seen: Array<readonly [number, number]> = []
      const torrent = yield* createTorrent({
        kind: "v1",
        path: dir,
        pieceLength: 256 * KiB,
        creationDate: 0,
        onProgress: (hashed, total) => Effect.sync(() => void seen.push([hashed, total]))
      })
      const info = parsed(torrent)
      expect(Buffer.from(info.pieceHashes).equals(expectedPieces(all, 256 * KiB))).toBe(true)
      expect(seen[0]).toEqual([0, all.length])
      expect(seen.at(-1)).toEqual([all.length, all.length])
      expect(seen.every(([hashed, total], i) => total === all.length && hashed >= (seen[i - 1]?.[0] ?? 0))).toBe(true)
      expect(seen.length).toBeGreaterThan(3)
    }))

  it.effect("makes a hybrid by default: padding aligns each file to a piece, v1 hashes cover it, v2 roots each file", () =>
    Effect.gen(function*() {
      // Larger than the 4 MiB read size, with files that end inside pieces, blocks and reads.
      const dir = join(freshDir(), "hybrid")
      const contents = writeTree(dir, [["1.bin", 5 * MiB + 3], ["2.bin", 1], ["3/e", 0], ["3/x.bin", 70_000], ["4.bin", 40_000]])
      const info = parsed(yield* createTorrent({ path: dir, pieceLength: 32 * KiB, creationDate: 0 }))
      expect(torrentVersion(info)).toBe("hybrid")
      const padded = Buffer.concat([...contents.values()].flatMap((data, i, all) => {
        const gap = (32 * KiB - (data.length % (32 * KiB))) % (32 * KiB)
        return i < all.length - 1 ? [data, Buffer.alloc(gap)] : [data]
      }))
      expect(info.totalLength).toBe(padded.length)
      expect(Buffer.from(info.pieceHashes).equals(expectedPieces(padded, 32 * KiB))).toBe(true)
      const real = info.files.filter((file) => !file.padding)
      expect(real.map((file) => file.path.join("/"))).toEqual([...contents.keys()])
      for (const file of real) {
        const data = contents.get(file.path.join("/"))!
        if (data.length > 0) expect(file.offset % (32 * KiB)).toBe(0)
        expect(file.piecesRoot === undefined ? undefined : Buffer.from(file.piecesRoot).toString("hex")).toBe(
          data.length === 0 ? undefined : Buffer.from(Merkle.fileRoot(Merkle.blockHashes(data))).toString("hex")
        )
      }
      // parseTorrent checked each piece layer against its root; the three files over a piece have one.
      expect(info.v2?.pieceLayers.filter((layer) => layer !== undefined).length).toBe(3)
    }))

  it.effect("--v2 alone: no v1 hashes, no padding files listed, the same roots", () =>
    Effect.gen(function*() {
      const dir = join(freshDir(), "v2")
      writeTree(dir, [["a", 100_000], ["b", 10]])
      const hybrid = parsed(yield* createTorrent({ path: dir, pieceLength: 16 * KiB, creationDate: 0 }))
      const bytesV2 = yield* createTorrent({ kind: "v2", path: dir, pieceLength: 16 * KiB, creationDate: 0 })
      const v2 = parsed(bytesV2)
      expect(torrentVersion(v2)).toBe("v2")
      expect(v2.pieceHashes.length).toBe(0)
      const roots = (files: typeof v2.files) => files.filter((f) => !f.padding).map((f) => f.piecesRoot)
      expect(roots(v2.files)).toEqual(roots(hybrid.files))
      // A v2-only torrent's implied padding runs to the end of its last piece (libtorrent's layout); a hybrid's
      // v1 half ends with its last file.
      expect(v2.totalLength).toBe(v2.pieceCount * 16 * KiB)
      expect(v2.pieceCount).toBe(hybrid.pieceCount)
      const v1 = parsed(yield* createTorrent({ kind: "v1", path: dir, pieceLength: 16 * KiB, creationDate: 0 }))
      expect(v1.v2).toBeUndefined()
      expect(v1.files.some((f) => f.padding)).toBe(false)
    }))

  it.effect("gives the same bytes for the same data and creation date", () =>
    Effect.gen(function*() {
      const dir = join(freshDir(), "same")
      writeTree(dir, [["a", 30_000], ["b/c", 70_000]])
      const options = { path: dir, trackers: [["udp://t.example:1/announce"]], comment: "c", creationDate: 123 }
      const first = yield* createTorrent(options)
      const second = yield* createTorrent(options)
      expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true)
      const changed = yield* createTorrent({ ...options, creationDate: 124 })
      expect(Buffer.from(first).equals(Buffer.from(changed))).toBe(false)
      expect(parsed(first).infoHashHex).toBe(parsed(changed).infoHashHex) // the date is outside `info`
    }))

  it.effect("takes the creation date from the Clock by default", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      writeTree(dir, [["f", 10]])
      yield* TestClock.setTime(1_700_000_000_999)
      const info = parsed(yield* createTorrent({ path: join(dir, "f") }))
      expect(info.creationDate).toBe(1_700_000_000)
      expect(info.announce).toBeUndefined()
      expect(info.pieceLength).toBe(16 * KiB)
    }))

  it.effect("drops empty tracker URLs and tiers", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      writeTree(dir, [["f", 10]])
      const info = parsed(
        yield* createTorrent({ path: join(dir, "f"), trackers: [[" "], ["", " http://a.example/a "], []] })
      )
      expect(info.announce).toBe("http://a.example/a")
      expect(info.announceList).toEqual([])
    }))

  it.effect("refuses a piece length that is not a power of two from 16 KiB, before reading anything", () =>
    Effect.gen(function*() {
      for (const pieceLength of [0, 1000, 8 * KiB, 3 * 16 * KiB, 512 * MiB, 16.5 * KiB]) {
        const error = yield* failure({ path: join(root, "does-not-exist"), pieceLength })
        expect(error.reason).toBe("InvalidPieces")
        expect(error.message).toContain(`piece length ${pieceLength} is not a power of two`)
      }
    }))

  it.effect("refuses an empty folder, a folder of empty files and an empty file", () =>
    Effect.gen(function*() {
      const empty = freshDir()
      mkdirSync(join(empty, "sub/deeper"), { recursive: true })
      const emptyFolder = yield* failure({ path: empty })
      expect(emptyFolder.reason).toBe("InvalidLength")
      expect(emptyFolder.message).toBe(`${empty}: the folder holds no files; a torrent must hold data`)

      const zeros = freshDir()
      writeTree(zeros, [["a", 0], ["b/c", 0]])
      expect((yield* failure({ path: zeros })).message).toContain("every file in the folder is empty")

      const error = yield* failure({ path: join(zeros, "a") })
      expect(error.reason).toBe("InvalidLength")
      expect(error.message).toContain("the file is empty")
    }))

  it.effect("refuses an unsafe file name, naming it", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      writeTree(dir, [["ok.bin", 10], ["sub/back\\slash.bin", 10]])
      const error = yield* failure({ path: dir })
      expect(error.reason).toBe("UnsafePath")
      expect(error.message).toBe(`${join(dir, "sub", "back\\slash.bin")}: the name contains a path separator inside a file name`)

      const drive = freshDir()
      writeTree(drive, [["C:evil", 10]])
      expect((yield* failure({ path: drive })).reason).toBe("UnsafePath")

      // The torrent's own name is checked too.
      const named = join(freshDir(), "a\\b")
      writeTree(named, [["f", 10]])
      expect((yield* failure({ path: named })).reason).toBe("UnsafePath")
    }))

  it.effect("refuses a symbolic link inside a folder, but follows the path it was given", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      writeTree(dir, [["data/real.bin", 20_000]])
      symlinkSync(join(dir, "data", "real.bin"), join(dir, "data", "link.bin"))
      const error = yield* failure({ path: join(dir, "data") })
      expect(error.reason).toBe("UnsafePath")
      expect(error.message).toContain(`${join(dir, "data", "link.bin")}: is a symbolic link`)

      symlinkSync(join(dir, "data", "real.bin"), join(dir, "named-by-link.bin"))
      const info = parsed(yield* createTorrent({ path: join(dir, "named-by-link.bin") }))
      expect(info.name).toBe("named-by-link.bin")
      expect(info.totalLength).toBe(20_000)
    }))

  it.effect("refuses a special file inside a folder", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      writeTree(dir, [["a.bin", 10]])
      execFileSync("mkfifo", [join(dir, "pipe")])
      const error = yield* failure({ path: dir })
      expect(error.reason).toBe("Unreadable")
      expect(error.message).toBe(`${join(dir, "pipe")}: is not a regular file or folder (FIFO)`)
    }))

  it.effect("names a missing path", () =>
    Effect.gen(function*() {
      const missing = join(root, "nothing-here")
      const error = yield* failure({ path: missing })
      expect(error).toBeInstanceOf(MetainfoError)
      expect(error.reason).toBe("Unreadable")
      expect(error.message).toBe(`${missing}: no such file or folder`)
    }))
})

describe("autoPieceLength", () => {
  it("picks a power of two from 16 KiB to 16 MiB for at most 2000 pieces", () => {
    const table: ReadonlyArray<readonly [number, number]> = [
      [1, 16 * KiB],
      [1 * MiB, 16 * KiB],
      [2000 * 16 * KiB, 16 * KiB],
      [2000 * 16 * KiB + 1, 32 * KiB],
      [100 * MiB, 64 * KiB],
      [700 * MiB, 512 * KiB],
      [1 * GiB, 1 * MiB],
      [4 * GiB, 4 * MiB],
      [20 * GiB, 16 * MiB],
      [1024 * GiB, 16 * MiB] // more than 2000 pieces: 16 MiB is the largest chosen
    ]
    for (const [total, expected] of table) expect([total, autoPieceLength(total)]).toEqual([total, expected])
  })

  it("gives 1000 to 2000 pieces between the ends of its range", () => {
    for (let total = 2000 * 16 * KiB + 1; total <= 2000 * 16 * MiB; total = Math.ceil(total * 1.37)) {
      const pieces = Math.ceil(total / autoPieceLength(total))
      expect(pieces, String(total)).toBeGreaterThan(1000)
      expect(pieces, String(total)).toBeLessThanOrEqual(2000)
    }
  })

  it("agrees with pieceLengthProblem", () => {
    for (let total = 1; total < 2 ** 45; total *= 3) expect(pieceLengthProblem(autoPieceLength(total))).toBeUndefined()
    expect(pieceLengthProblem(256 * MiB)).toBeUndefined()
    expect(pieceLengthProblem(16 * KiB)).toBeUndefined()
    expect(pieceLengthProblem(Number.NaN)).toBeDefined()
  })
})
