/**
 * The pieces we serve, kept in memory so that a piece requested by several peers (or block by block by one) is
 * read from disk once. Least recently used pieces are dropped past `maxBytes`. Plain code: looked up per request.
 */
export class PieceCache {
  private readonly pieces = new Map<number, Uint8Array>()
  private bytes = 0

  constructor(private readonly maxBytes: number) {}

  get(index: number): Uint8Array | undefined {
    const data = this.pieces.get(index)
    if (data !== undefined) {
      // Re-insert: a Map iterates in insertion order, so the first entry is the least recently used.
      this.pieces.delete(index)
      this.pieces.set(index, data)
    }
    return data
  }

  set(index: number, data: Uint8Array): void {
    const old = this.pieces.get(index)
    if (old !== undefined) {
      this.bytes -= old.length
      this.pieces.delete(index)
    }
    this.pieces.set(index, data)
    this.bytes += data.length
    for (const [oldest, piece] of this.pieces) {
      if (this.bytes <= this.maxBytes || this.pieces.size <= 1) break
      this.pieces.delete(oldest)
      this.bytes -= piece.length
    }
  }

  get size(): number {
    return this.bytes
  }
}
