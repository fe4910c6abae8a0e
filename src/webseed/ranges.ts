import type { TorrentFile } from "../metainfo/index.js"
import type { BlockRequest } from "../piece/index.js"
import { segments } from "../storage/layout.js"

/** Part of a byte range of the torrent: bytes of one file, or padding (BEP 47 zeros, never asked of a server). */
export type FileSpan =
  | { readonly padding: false; readonly file: number; readonly offset: number; readonly length: number }
  | { readonly padding: true; readonly length: number }

/**
 * Cuts the torrent's bytes [start, start + length) at file boundaries, in order: one span per file touched (the
 * storage's `segments`), with the gaps between them (padding files) as padding spans. The spans' lengths add up to
 * `length`, which must lie inside the torrent.
 */
export const splitAtFiles = (files: ReadonlyArray<TorrentFile>, start: number, length: number): Array<FileSpan> => {
  const last = files[files.length - 1]
  if (start < 0 || last === undefined || start + length > last.offset + last.length) throw new Error("range outside the torrent")
  const out: Array<FileSpan> = []
  let at = 0
  for (const segment of segments(files, start, length)) {
    if (segment.bufferOffset > at) out.push({ padding: true, length: segment.bufferOffset - at })
    out.push({ padding: false, file: segment.fileIndex, offset: segment.fileOffset, length: segment.length })
    at = segment.bufferOffset + segment.length
  }
  if (at < length) out.push({ padding: true, length: length - at })
  return out
}

/** Blocks that follow each other in the torrent's byte space, fetched as one range. */
export interface BlockRun {
  /** Torrent offset of the first byte. */
  readonly start: number
  readonly length: number
  readonly blocks: ReadonlyArray<BlockRequest>
}

/**
 * Groups block requests into runs of adjacent blocks, in torrent order, each at most `maxBytes` long (a run is cut
 * there, so a range request never grows past it).
 */
export const blockRuns = (requests: ReadonlyArray<BlockRequest>, pieceLength: number, maxBytes: number): Array<BlockRun> => {
  const at = (request: BlockRequest) => request.index * pieceLength + request.begin
  const sorted = [...requests].sort((a, b) => at(a) - at(b))
  const runs: Array<BlockRun> = []
  let current: { start: number; length: number; blocks: Array<BlockRequest> } | undefined
  for (const request of sorted) {
    const offset = at(request)
    if (current !== undefined && current.start + current.length === offset && current.length + request.length <= maxBytes) {
      current.length += request.length
      current.blocks.push(request)
    } else {
      current = { start: offset, length: request.length, blocks: [request] }
      runs.push(current)
    }
  }
  return runs
}
