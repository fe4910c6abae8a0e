import { Either } from "effect"
import { createHash } from "node:crypto"
import { encode } from "../../src/bencode/index.js"
import { parseTorrent, pieceSize, type TorrentInfo } from "../../src/metainfo/index.js"

/** Deterministic pseudo-random bytes (an LCG), so a failing run can be repeated. */
export const randomBytes = (length: number, seed: number): Uint8Array => {
  const bytes = new Uint8Array(length)
  let state = seed >>> 0
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    bytes[i] = state >>> 24
  }
  return bytes
}

export interface SwarmFixture {
  readonly torrent: TorrentInfo
  /** The torrent's whole byte space, as a seeder has it. */
  readonly content: Uint8Array
}

/** A multi-file torrent with real SHA-1 piece hashes over random content. */
export const makeSwarmTorrent = (options: {
  readonly files: ReadonlyArray<{ readonly path: ReadonlyArray<string>; readonly length: number }>
  readonly pieceLength: number
  readonly seed: number
  /** A private torrent (BEP 27). */
  readonly private?: boolean
}): SwarmFixture => {
  const total = options.files.reduce((sum, file) => sum + file.length, 0)
  const content = randomBytes(total, options.seed)
  const pieceCount = Math.ceil(total / options.pieceLength)
  const pieces = new Uint8Array(pieceCount * 20)
  for (let index = 0; index < pieceCount; index++) {
    const start = index * options.pieceLength
    const piece = content.subarray(start, Math.min(start + options.pieceLength, total))
    pieces.set(createHash("sha1").update(piece).digest(), index * 20)
  }
  const info = {
    name: "album",
    "piece length": options.pieceLength,
    pieces,
    files: options.files.map((file) => ({ length: file.length, path: [...file.path] })),
    ...(options.private === true ? { private: 1 } : {})
  }
  return { torrent: Either.getOrThrow(parseTorrent(encode({ info }))), content }
}

/** Piece `index` of the content. */
export const pieceBytes = ({ content, torrent }: SwarmFixture, index: number): Uint8Array =>
  content.subarray(index * torrent.pieceLength, index * torrent.pieceLength + pieceSize(torrent, index))

/** The content with the given pieces zeroed: what a half-finished download looks like on disk. */
export const withPiecesZeroed = (fixture: SwarmFixture, zeroed: ReadonlyArray<number>): Uint8Array => {
  const bytes = Uint8Array.from(fixture.content)
  for (const index of zeroed) {
    const start = index * fixture.torrent.pieceLength
    bytes.fill(0, start, start + pieceSize(fixture.torrent, index))
  }
  return bytes
}
