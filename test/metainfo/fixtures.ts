import { createHash } from "node:crypto"
import { type Bencodable, encode } from "../../src/bencode/index.js"

export interface FixtureFile {
  readonly path: ReadonlyArray<string>
  readonly length: number
}

/** Fake piece hashes: the right count for `totalLength`, contents irrelevant to the parser. */
export const fakePieces = (totalLength: number, pieceLength: number): Uint8Array =>
  new Uint8Array(Math.ceil(totalLength / pieceLength) * 20).fill(7)

/** An info dictionary for a multi-file torrent; `overrides` replace or (with `undefined`) remove keys. */
export const multiFileInfo = (
  files: ReadonlyArray<FixtureFile>,
  overrides: Record<string, Bencodable | undefined> = {}
): Record<string, Bencodable | undefined> => {
  const pieceLength = 16384
  const total = files.reduce((sum, file) => sum + file.length, 0)
  return {
    name: "folder",
    "piece length": pieceLength,
    pieces: fakePieces(total, pieceLength),
    files: files.map((file) => ({ length: file.length, path: [...file.path] })),
    ...overrides
  }
}

export const singleFileInfo = (
  length: number,
  overrides: Record<string, Bencodable | undefined> = {}
): Record<string, Bencodable | undefined> => ({
  name: "file.bin",
  "piece length": 16384,
  pieces: fakePieces(length, 16384),
  length,
  ...overrides
})

export const torrentBytes = (
  info: Bencodable,
  root: Record<string, Bencodable | undefined> = { announce: "http://127.0.0.1:6969/announce" }
): Uint8Array => encode({ ...root, info })

export const sha1Hex = (bytes: Uint8Array): string => createHash("sha1").update(bytes).digest("hex")
