/**
 * A per-IP rate limit for incoming queries: a token bucket per source IP, refilled at `perSecond` and holding at
 * most `perSecond` (so a burst of one second's worth passes). Pure: time comes in as numbers (ms).
 *
 * Memory is bounded: at most `maxSources` IPs are tracked. Past that, a new IP first prunes the buckets that have
 * refilled (an IP that is no longer sending), then, if none has, makes the longest-tracked IP give way.
 */
export class RateLimit {
  private readonly sources = new Map<string, { tokens: number; at: number }>()

  constructor(private readonly perSecond: number, private readonly maxSources = 4096) {}

  /** IPs tracked now. */
  get size(): number {
    return this.sources.size
  }

  /** Whether one more query from `ip` passes now (and if so, it is counted). */
  allow(ip: string, now: number): boolean {
    let bucket = this.sources.get(ip)
    if (bucket === undefined) {
      if (this.sources.size >= this.maxSources) this.prune(now)
      if (this.sources.size >= this.maxSources) this.sources.delete(this.sources.keys().next().value!)
      bucket = { tokens: this.perSecond, at: now }
      this.sources.set(ip, bucket)
    }
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond)
    bucket.at = now
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Forgets the IPs whose bucket has refilled: they behave as new ones would. */
  prune(now: number): void {
    for (const [ip, bucket] of this.sources) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.perSecond) this.sources.delete(ip)
    }
  }
}
