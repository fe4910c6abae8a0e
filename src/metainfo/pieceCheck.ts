/**
 * What a piece must hash to, for every hash kind the torrent has: SHA-1 over the whole piece (v1, hybrid), and the
 * root of a SHA-256 merkle subtree over the piece's file bytes (v2, hybrid). Pure.
 */
import { blockCount, fileTree, hashAt, nextPowerOfTwo } from "./merkle.js"
import { firstFileEndingAfter, pieceHash, pieceSize, type TorrentFile, type TorrentInfo } from "./TorrentInfo.js"

/** The v2 check of a piece: its first `dataLength` bytes (the rest is padding) hash up to `root`. */
export interface MerkleCheck {
  readonly root: Uint8Array
  /** Bytes of the piece that belong to the file; any after them are padding and are not hashed. */
  readonly dataLength: number
  /** Leaves (16 KiB blocks) the subtree is wide: the piece's for a file larger than a piece, else the file's. */
  readonly width: number
}

/** A piece's expected hashes; at least one is present for a piece a torrent knows how to check. */
export interface PieceCheck {
  /** SHA-1 of the whole piece, padding included (20 bytes). */
  readonly sha1?: Uint8Array | undefined
  readonly sha256?: MerkleCheck | undefined
}

/** The file whose bytes piece `index` of a v2 or hybrid torrent starts in (empty files at its offset skipped). */
const fileAt = (files: ReadonlyArray<TorrentFile>, offset: number): number => {
  let index = firstFileEndingAfter(files, offset)
  while (index < files.length && files[index]!.length === 0) index++
  return index
}

/**
 * The checks for piece `index`. A v2 piece lies in one file (files start on piece boundaries). Its v2 check is
 * missing only when the torrent came without the file's piece layer (metadata from peers): then the SHA-1, if any,
 * is all there is.
 */
export const pieceCheck = (torrent: TorrentInfo, index: number): PieceCheck => {
  const sha1 = torrent.pieceHashes.length > 0 ? pieceHash(torrent, index) : undefined
  if (torrent.v2 === undefined) return { sha1 }
  const start = index * torrent.pieceLength
  const fileIndex = fileAt(torrent.files, start)
  const file = torrent.files[fileIndex]
  if (file === undefined || file.padding || file.piecesRoot === undefined) return { sha1 }
  const dataLength = Math.min(pieceSize(torrent, index), file.offset + file.length - start)
  const tree = fileTree(file.length, torrent.pieceLength)
  if (!tree.hasPieceLayer) {
    return { sha1, sha256: { root: file.piecesRoot, dataLength, width: nextPowerOfTwo(blockCount(file.length)) } }
  }
  const layer = torrent.v2.pieceLayers[fileIndex]
  if (layer === undefined) return { sha1 }
  const root = hashAt(layer, (start - file.offset) / torrent.pieceLength)
  return { sha1, sha256: { root, dataLength, width: torrent.pieceLength / (16 * 1024) } }
}
