import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import fc from "fast-check"
import * as Path from "node:path"
import type { TorrentFile, TorrentInfo } from "../../src/metainfo/index.js"
import { blockOffset, filePath, filePaths, isInside, pieceOffset, segments } from "../../src/storage/index.js"
import { makeTorrent, multiTorrent } from "./fixtures.js"

const root = Path.resolve("/downloads")

describe("segments", () => {
  it("maps a range inside one file of a single-file torrent", () => {
    const torrent = makeTorrent({ pieceLength: 16, files: 40 })
    expect(segments(torrent.files, 16, 16)).toEqual([{ fileIndex: 0, fileOffset: 16, bufferOffset: 0, length: 16 }])
    expect(segments(torrent.files, 32, 8)).toEqual([{ fileIndex: 0, fileOffset: 32, bufferOffset: 0, length: 8 }])
  })

  it("splits a piece across three files, skipping an empty file between them", () => {
    expect(segments(multiTorrent.files, 0, 16)).toEqual([
      { fileIndex: 0, fileOffset: 0, bufferOffset: 0, length: 10 },
      { fileIndex: 1, fileOffset: 0, bufferOffset: 10, length: 3 },
      { fileIndex: 3, fileOffset: 0, bufferOffset: 13, length: 3 }
    ])
  })

  it("starts and ends mid-file", () => {
    expect(segments(multiTorrent.files, 8, 7)).toEqual([
      { fileIndex: 0, fileOffset: 8, bufferOffset: 0, length: 2 },
      { fileIndex: 1, fileOffset: 0, bufferOffset: 2, length: 3 },
      { fileIndex: 3, fileOffset: 0, bufferOffset: 5, length: 2 }
    ])
  })

  it("leaves padding out, so its bytes are never written and read as zeros", () => {
    expect(segments(multiTorrent.files, 16, 16)).toEqual([{ fileIndex: 3, fileOffset: 3, bufferOffset: 0, length: 2 }])
    expect(segments(multiTorrent.files, 20, 10)).toEqual([])
    expect(segments(multiTorrent.files, 30, 4)).toEqual([{ fileIndex: 5, fileOffset: 0, bufferOffset: 2, length: 2 }])
  })

  it("never yields a zero-length file, even at the end of the torrent or of a range", () => {
    expect(segments(multiTorrent.files, 64, 8)).toEqual([{ fileIndex: 5, fileOffset: 32, bufferOffset: 0, length: 8 }])
    expect(segments(multiTorrent.files, 10, 3)).toEqual([{ fileIndex: 1, fileOffset: 0, bufferOffset: 0, length: 3 }])
    expect(segments(multiTorrent.files, 13, 0)).toEqual([])
  })

  it("covers exactly the stored bytes of any range, in order (property)", () => {
    const fileSpec = fc.record({ length: fc.nat({ max: 20 }), padding: fc.boolean() })
    fc.assert(
      fc.property(fc.array(fileSpec, { minLength: 1, maxLength: 12 }), fc.nat(), fc.nat(), (specs, a, b) => {
        let offset = 0
        const files: Array<TorrentFile> = specs.map((spec, i) => {
          const file = { path: [`f${i}`], length: spec.length, offset, padding: spec.padding }
          offset += spec.length
          return file
        })
        const total = offset
        const start = total === 0 ? 0 : a % (total + 1)
        const length = total === 0 ? 0 : b % (total - start + 1)
        // Brute force: which file owns each byte of the range, if it is stored.
        const expected: Array<[number, number]> = []
        for (let p = start; p < start + length; p++) {
          const owner = files.findIndex((file) => p >= file.offset && p < file.offset + file.length)
          if (!files[owner]!.padding) expected.push([owner, p - files[owner]!.offset])
        }
        const actual: Array<[number, number]> = []
        for (const segment of segments(files, start, length)) {
          expect(segment.length).toBeGreaterThan(0)
          for (let k = 0; k < segment.length; k++) {
            actual.push([segment.fileIndex, segment.fileOffset + k])
            const file = files[segment.fileIndex]!
            expect(file.offset + segment.fileOffset + k).toBe(start + segment.bufferOffset + k)
          }
        }
        expect(actual).toEqual(expected)
      })
    )
  })
})

describe("filePath", () => {
  it("puts a single-file torrent's file directly in the folder", () => {
    const torrent = makeTorrent({ name: "movie.mkv", pieceLength: 16, files: 5 })
    expect(Either.getOrThrow(filePath(root, torrent, torrent.files[0]!))).toBe(Path.join(root, "movie.mkv"))
  })

  it("puts a multi-file torrent's files below a folder named after the torrent", () => {
    expect(Either.getOrThrow(filePaths(root, multiTorrent))).toEqual([
      Path.join(root, "folder", "a.txt"),
      Path.join(root, "folder", "sub", "deep", "b.bin"),
      Path.join(root, "folder", "empty"),
      Path.join(root, "folder", "sub", "c.bin"),
      Path.join(root, "folder", ".pad", "14"),
      Path.join(root, "folder", "d", "e", "f.dat"),
      Path.join(root, "folder", "z", "empty2")
    ])
  })

  it("refuses, as Unsafe, names that slipped past the parser", () => {
    const evil = (path: ReadonlyArray<string>, name = "folder"): TorrentInfo => ({
      ...multiTorrent,
      name,
      files: [{ path, length: 1, offset: 0, padding: false }]
    })
    for (const [path, name] of [[["..", "etc", "passwd"]], [["/etc/passwd"]], [["a", ""]], [["ok"], ".."]] as const) {
      const torrent = evil(path, name)
      const error = Either.getLeft(filePath(root, torrent, torrent.files[0]!))
      expect(error._tag).toBe("Some")
      if (error._tag === "Some") {
        expect(error.value.reason).toBe("Unsafe")
        expect(error.value.message).toMatch(/^cannot use /)
      }
    }
  })

  it("isInside tells names starting with dots from parent folders", () => {
    expect(isInside(root, Path.join(root, "..foo"))).toBe(true)
    expect(isInside(root, Path.join(root, "a", "b"))).toBe(true)
    expect(isInside(root, root)).toBe(false)
    expect(isInside(root, Path.dirname(root))).toBe(false)
    expect(isInside(root, `${root}-other`)).toBe(false)
  })
})

describe("block and piece ranges", () => {
  it("gives the offset of a block in the torrent's byte space", () => {
    expect(Either.getOrThrow(blockOffset(multiTorrent, 2, 4, 12))).toBe(36)
    expect(Either.getOrThrow(blockOffset(multiTorrent, 4, 0, 8))).toBe(64)
    expect(Either.getOrThrow(pieceOffset(multiTorrent, 4, 8))).toBe(64)
  })

  it("refuses blocks outside their piece and pieces of the wrong size", () => {
    const reasons = [
      blockOffset(multiTorrent, -1, 0, 1),
      blockOffset(multiTorrent, 5, 0, 1),
      blockOffset(multiTorrent, 0.5, 0, 1),
      blockOffset(multiTorrent, 4, 0, 9),
      blockOffset(multiTorrent, 0, 10, 7),
      blockOffset(multiTorrent, 0, -1, 2),
      pieceOffset(multiTorrent, 0, 15),
      pieceOffset(multiTorrent, 4, 16)
    ].map((result) => Either.isLeft(result) ? result.left.reason : "accepted")
    expect(reasons).toEqual(Array(8).fill("OutOfRange"))
  })
})
