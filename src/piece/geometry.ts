/** The request size every client uses (BEP 3 recommends 2^14; most peers drop larger requests). */
export const BLOCK_SIZE = 16384

/** The shape of a torrent's data: every piece is `pieceLength` bytes except a possibly shorter last one. */
export interface Geometry {
  readonly pieceCount: number
  readonly pieceLength: number
  readonly totalLength: number
}

/** Throws a RangeError unless `pieceCount` is exactly ceil(totalLength / pieceLength). */
export const validateGeometry = ({ pieceCount, pieceLength, totalLength }: Geometry): void => {
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
    throw new RangeError(`invalid piece length ${pieceLength}`)
  }
  if (!Number.isSafeInteger(totalLength) || totalLength < 0) {
    throw new RangeError(`invalid total length ${totalLength}`)
  }
  if (pieceCount !== Math.ceil(totalLength / pieceLength)) {
    throw new RangeError(`${pieceCount} pieces do not fit ${totalLength} bytes in pieces of ${pieceLength}`)
  }
}

/** Bytes in piece `index` (in range): `pieceLength`, or what is left for the last piece. */
export const pieceSize = (geometry: Geometry, index: number): number =>
  index === geometry.pieceCount - 1
    ? geometry.totalLength - geometry.pieceLength * (geometry.pieceCount - 1)
    : geometry.pieceLength

/** Blocks in piece `index`: ceil(pieceSize / BLOCK_SIZE). */
export const blockCount = (geometry: Geometry, index: number): number =>
  Math.ceil(pieceSize(geometry, index) / BLOCK_SIZE)

/** Bytes in block `block` of piece `index`: BLOCK_SIZE, or less for the last block of a piece. */
export const blockLength = (geometry: Geometry, index: number, block: number): number =>
  Math.min(BLOCK_SIZE, pieceSize(geometry, index) - block * BLOCK_SIZE)
