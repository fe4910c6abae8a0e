/**
 * A cached piece, lent out block by block: each block written to a socket is a view of `data`, and the transport
 * says when it holds the view no longer (`Connection.write`'s `sent`). The buffer is reused only once it has left
 * the cache and no view of it is still being sent.
 */
export class CachedPiece {
  private lent = 0
  private cached = true

  constructor(readonly data: Uint8Array, private readonly recycle: (data: Uint8Array) => void) {}

  /** Counts one view of `data` handed to a transport; the callback returned must be called once it is sent. */
  lend(): () => void {
    this.lent++
    return this.returned
  }

  private readonly returned = (): void => {
    if (--this.lent === 0 && !this.cached) this.recycle(this.data)
  }

  /** Left the cache: recycled now if nothing is being sent, otherwise when the last view is. */
  dropped(): void {
    this.cached = false
    if (this.lent === 0) this.recycle(this.data)
  }
}

/**
 * The pieces we serve, kept in memory so that a piece requested by several peers (or block by block by one) is
 * read from disk once. Least recently used pieces are dropped past `maxBytes`. Plain code: looked up per request.
 *
 * A dropped piece goes to `recycle`, so its buffer can hold the next piece read or downloaded, once no socket is
 * still sending a block of it (see `CachedPiece`). A view the transport never reports sent (its connection closed
 * with it still queued) keeps its piece from being recycled: the garbage collector takes it.
 */
export class PieceCache {
  private readonly pieces = new Map<number, CachedPiece>()
  private bytes = 0

  constructor(private readonly maxBytes: number, private readonly recycle: (data: Uint8Array) => void = () => {}) {}

  get(index: number): CachedPiece | undefined {
    const piece = this.pieces.get(index)
    if (piece !== undefined) {
      // Re-insert: a Map iterates in insertion order, so the first entry is the least recently used.
      this.pieces.delete(index)
      this.pieces.set(index, piece)
    }
    return piece
  }

  /** Whether piece `index` is cached, without making it the most recently used. */
  has(index: number): boolean {
    return this.pieces.has(index)
  }

  set(index: number, data: Uint8Array): void {
    const old = this.pieces.get(index)
    if (old !== undefined) {
      this.pieces.delete(index)
      if (old.data === data) {
        this.pieces.set(index, old)
        return
      }
      this.bytes -= old.data.length
      old.dropped()
    }
    this.pieces.set(index, new CachedPiece(data, this.recycle))
    this.bytes += data.length
    for (const [oldest, piece] of this.pieces) {
      if (this.bytes <= this.maxBytes || this.pieces.size <= 1) break
      this.pieces.delete(oldest)
      this.bytes -= piece.data.length
      piece.dropped()
    }
  }

  get size(): number {
    return this.bytes
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
