import { Either } from "effect"
import { encode } from "../../src/bencode/index.js"
import { parseTorrent } from "../../src/metainfo/index.js"
import type { TorrentInfo } from "../../src/metainfo/index.js"
import { fakePieces } from "../metainfo/fixtures.js"

export interface SpecFile {
  readonly path: ReadonlyArray<string>
  readonly length: number
  readonly padding?: boolean
}

/** A torrent parsed from real bencode: multi-file when given files, single-file when given a length. */
export const makeTorrent = (options: {
  readonly name?: string
  readonly pieceLength: number
  readonly files: ReadonlyArray<SpecFile> | number
}): TorrentInfo => {
  const { files, pieceLength } = options
  const total = typeof files === "number" ? files : files.reduce((sum, file) => sum + file.length, 0)
  const info = {
    name: options.name ?? (typeof files === "number" ? "file.bin" : "folder"),
    "piece length": pieceLength,
    pieces: fakePieces(total, pieceLength),
    ...(typeof files === "number"
      ? { length: files }
      : {
        files: files.map((file) => ({
          length: file.length,
          path: [...file.path],
          ...(file.padding === true ? { attr: "p" } : {})
        }))
      })
  }
  return Either.getOrThrow(parseTorrent(encode({ info })))
}

/**
 * 72 bytes in pieces of 16: piece 0 spans a.txt, sub/deep/b.bin and sub/c.bin (with an empty file between);
 * piece 1 ends in 14 bytes of padding; pieces 2-4 lie in d/e/f.dat; the last piece is 8 bytes.
 */
export const multiTorrent = makeTorrent({
  pieceLength: 16,
  files: [
    { path: ["a.txt"], length: 10 },
    { path: ["sub", "deep", "b.bin"], length: 3 },
    { path: ["empty"], length: 0 },
    { path: ["sub", "c.bin"], length: 5 },
    { path: [".pad", "14"], length: 14, padding: true },
    { path: ["d", "e", "f.dat"], length: 40 },
    { path: ["z", "empty2"], length: 0 }
  ]
})

/** Deterministic non-zero bytes for a torrent's byte space, zeros where its padding files lie. */
export const contentFor = (torrent: TorrentInfo, seed = 1): Uint8Array => {
  const bytes = new Uint8Array(torrent.totalLength)
  let state = seed
  for (let i = 0; i < bytes.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0
    bytes[i] = (state >>> 16) % 255 + 1
  }
  for (const file of torrent.files) if (file.padding) bytes.fill(0, file.offset, file.offset + file.length)
  return bytes
}

export const pieceOf = (torrent: TorrentInfo, bytes: Uint8Array, index: number): Uint8Array =>
  bytes.subarray(index * torrent.pieceLength, Math.min((index + 1) * torrent.pieceLength, torrent.totalLength))
