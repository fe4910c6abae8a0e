/** Incremental reading for the MSE handshakes: fixed-size fields and a bounded search for a marker. */

/** Collects a fixed number of bytes from successive chunks. */
export class Field {
  readonly bytes: Uint8Array
  private filled = 0

  constructor(length: number) {
    this.bytes = new Uint8Array(length)
  }

  get complete(): boolean {
    return this.filled === this.bytes.length
  }

  /** Bytes held so far. */
  get held(): number {
    return this.filled
  }

  /** Takes what the field still lacks from `chunk` at `at`; returns the position after what it took. */
  fill(chunk: Uint8Array, at: number): number {
    const take = Math.min(this.bytes.length - this.filled, chunk.length - at)
    this.bytes.set(chunk.subarray(at, at + take), this.filled)
    this.filled += take
    return at + take
  }
}

/**
 * Looks for `marker` in a stream, whose last byte must come within `limit` bytes. Holds at most `limit` bytes.
 * After a match, the bytes that followed it in the chunk are left for the caller: `scan` tells where they start.
 */
export class MarkerScanner {
  private readonly window: Uint8Array
  private filled = 0
  /** The first start position not yet ruled out. */
  private next = 0

  constructor(private readonly marker: Uint8Array, limit: number) {
    this.window = new Uint8Array(limit)
  }

  get held(): number {
    return this.filled
  }

  /**
   * Reads `chunk` from `at`: the position in `chunk` just past the marker if it ends there, `"more"` when every
   * byte was taken without finding it, `"missing"` when `limit` bytes went by without it.
   */
  scan(chunk: Uint8Array, at: number): number | "more" | "missing" {
    const before = this.filled
    const take = Math.min(this.window.length - before, chunk.length - at)
    this.window.set(chunk.subarray(at, at + take), before)
    this.filled += take
    const m = this.marker.length
    for (let start = this.next; start + m <= this.filled; start++) {
      if (this.matchesAt(start)) return at + (start + m - before)
    }
    this.next = Math.max(this.next, this.filled - m + 1)
    return this.filled === this.window.length ? "missing" : "more"
  }

  private matchesAt(start: number): boolean {
    for (let k = 0; k < this.marker.length; k++) {
      if (this.window[start + k] !== this.marker[k]) return false
    }
    return true
  }
}
