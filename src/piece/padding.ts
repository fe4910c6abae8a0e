import { BLOCK_SIZE, blockCount, blockLength, type Geometry } from "./geometry.js"

/** A byte range of the torrent that holds zeros no one stores or sends: a BEP 47 padding file. */
export interface PaddingRange {
  readonly offset: number
  readonly length: number
}

/**
 * The blocks that lie wholly in padding, by piece: never requested, taken as zeros (a block only partly in padding
 * carries file data and is requested as usual). A piece made of padding alone keeps its blocks (none is listed):
 * BEP 47 padding only ever fills the end of a piece, and the picker needs one real block to finish a piece.
 * `ranges` in any order, each within the torrent.
 */
export const paddingBlocks = (geometry: Geometry, ranges: ReadonlyArray<PaddingRange>): Map<number, Array<number>> => {
  const out = new Map<number, Array<number>>()
  for (const range of ranges) {
    if (range.length <= 0) continue
    const end = range.offset + range.length
    // Every block that starts in the range; kept if it also ends in it.
    for (let piece = Math.floor(range.offset / geometry.pieceLength); piece < geometry.pieceCount; piece++) {
      const pieceStart = piece * geometry.pieceLength
      if (pieceStart >= end) break
      const first = Math.max(0, Math.ceil((range.offset - pieceStart) / BLOCK_SIZE))
      for (let block = first; block < blockCount(geometry, piece); block++) {
        const start = pieceStart + block * BLOCK_SIZE
        if (start + blockLength(geometry, piece, block) > end) break
        const blocks = out.get(piece) ?? []
        if (blocks.length === 0) out.set(piece, blocks)
        if (!blocks.includes(block)) blocks.push(block)
      }
    }
  }
  for (const [piece, blocks] of out) {
    if (blocks.length === blockCount(geometry, piece)) out.delete(piece)
    else blocks.sort((a, b) => a - b)
  }
  return out
}
