/**
 * Rate limits as token buckets, and a Connection wrapper that keeps to them. Pure plain code: time comes from
 * `now()`, waits go through `later(ms, f)`, both supplied by the owner (an Effect Clock, so TestClock drives tests).
 *
 * A bucket fills at `rate` bytes per second up to `burst` bytes. Traffic takes what it uses and may leave the bucket
 * in debt (a chunk already read cannot be refused); nothing more moves until the debt is paid back. Over any window
 * the bytes moved are at most `rate × window + burst + one chunk`.
 */

export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    /** Bytes per second; `Infinity` for no limit. */
    public rate: number,
    private readonly now: () => number,
    /** Seconds of `rate` the bucket may hold. */
    private readonly burstSeconds = 0.25
  ) {
    this.last = now()
    this.tokens = this.burst()
  }

  get limited(): boolean {
    return Number.isFinite(this.rate)
  }

  private burst(): number {
    return Math.max(16384, this.rate * this.burstSeconds)
  }

  private refill(): void {
    const at = this.now()
    if (this.limited) this.tokens = Math.min(this.burst(), this.tokens + ((at - this.last) / 1000) * this.rate)
    this.last = at
  }

  setRate(rate: number): void {
    this.refill()
    this.rate = rate
    if (!this.limited) this.tokens = 0
    else this.tokens = Math.min(this.tokens, this.burst())
  }

  take(bytes: number): void {
    if (!this.limited) return
    this.refill()
    this.tokens -= bytes
  }

  /** Milliseconds until the bucket holds tokens again; 0 if it does now. */
  waitMs(): number {
    if (!this.limited) return 0
    this.refill()
    return this.tokens > 0 ? 0 : Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000))
  }
}

/** One direction of a connection's traffic: every bucket it must respect (the torrent's, the session's). */
export class Direction {
  private current: ReadonlyArray<TokenBucket>
  /** Some bucket limits: checked once per chunk, so an unlimited connection costs one boolean test. */
  limited = false

  constructor(buckets: ReadonlyArray<TokenBucket> = []) {
    this.current = buckets
    this.update()
  }

  set buckets(buckets: ReadonlyArray<TokenBucket>) {
    this.current = buckets
    this.update()
  }

  /** Call after changing a bucket's rate. */
  update(): void {
    this.limited = this.current.some((bucket) => bucket.limited)
  }

  take(bytes: number): void {
    for (const bucket of this.current) bucket.take(bytes)
  }

  /** The tightest rate in force, bytes per second; `Infinity` when none limits. */
  get rate(): number {
    let rate = Number.POSITIVE_INFINITY
    for (const bucket of this.current) rate = Math.min(rate, bucket.rate)
    return rate
  }

  waitMs(): number {
    let wait = 0
    for (const bucket of this.current) wait = Math.max(wait, bucket.waitMs())
    return wait
  }
}
