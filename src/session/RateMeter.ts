/** Bytes per second over recent ticks: counts bytes as they come, folds them into a smoothed rate on `tick`. */
export class RateMeter {
  /** Bytes per second, smoothed. */
  rate = 0
  private bytes = 0

  constructor(private since: number) {}

  add(bytes: number): void {
    this.bytes += bytes
  }

  tick(now: number): void {
    const elapsed = now - this.since
    if (elapsed <= 0) return
    const sample = (this.bytes * 1000) / elapsed
    this.rate = this.rate === 0 ? sample : 0.6 * this.rate + 0.4 * sample
    this.bytes = 0
    this.since = now
  }
}
