/**
 * The pieces we serve, kept in memory so that a piece requested by several peers (or block by block by one) is
 * read from disk once. Least recently used pieces are dropped past `maxBytes`. Plain code: looked up per request.
 *
 * A dropped piece that was never handed out by `get` is referenced by no one else: it goes to `recycle`, so its
 * buffer can hold the next piece being downloaded. One that was handed out may still be in a socket's send queue,
 * and is left to the garbage collector.
 */
export class PieceCache {
  private readonly pieces = new Map<number, Uint8Array>()
  /** Pieces handed out by `get`: views of them may still be queued for sending. */
  private readonly lent = new WeakSet<Uint8Array>()
  private bytes = 0

  constructor(private readonly maxBytes: number, private readonly recycle: (data: Uint8Array) => void = () => {}) {}

  get(index: number): Uint8Array | undefined {
    const data = this.pieces.get(index)
    if (data !== undefined) {
      // Re-insert: a Map iterates in insertion order, so the first entry is the least recently used.
      this.pieces.delete(index)
      this.pieces.set(index, data)
      this.lent.add(data)
    }
    return data
  }

  set(index: number, data: Uint8Array): void {
    const old = this.pieces.get(index)
    if (old !== undefined) {
      this.bytes -= old.length
      this.pieces.delete(index)
      if (old !== data) this.drop(old)
    }
    this.pieces.set(index, data)
    this.bytes += data.length
    for (const [oldest, piece] of this.pieces) {
      if (this.bytes <= this.maxBytes || this.pieces.size <= 1) break
      this.pieces.delete(oldest)
      this.bytes -= piece.length
      this.drop(piece)
    }
  }

  get size(): number {
    return this.bytes
  }

  private drop(data: Uint8Array): void {
    if (!this.lent.has(data)) this.recycle(data)
  }
}

/**
 * Buffers for pieces being downloaded, reused rather than allocated per piece. A 1 GiB download otherwise allocates
 * 1 GiB of piece buffers, which only the garbage collector gives back: memory grows by tens of MB between
 * collections, and the collections come often (V8 starts one per 64 MB of such allocations). Plain code.
 */
export class PieceBuffers {
  private readonly free: Array<Uint8Array> = []

  /** `pieceLength`: the size of every piece but the last; `keep`: spare buffers kept at most. */
  constructor(private readonly pieceLength: number, private readonly keep: number) {}

  /** A buffer of `size` bytes, holding old data: the caller overwrites every byte before reading any. */
  take(size: number): Uint8Array {
    return (size === this.pieceLength ? this.free.pop() : undefined) ?? new Uint8Array(size)
  }

  /** A buffer nothing references any more (nor ever will), to be reused. */
  give(data: Uint8Array): void {
    if (data.length === this.pieceLength && this.free.length < this.keep) this.free.push(data)
  }

  get spare(): number {
    return this.free.length
  }
}
