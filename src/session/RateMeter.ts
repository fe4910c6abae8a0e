/** Bytes per second over recent ticks: counts bytes as they come, folds them into a smoothed rate on `tick`. */
export class RateMeter {
  /** Bytes per second, smoothed. */
  rate = 0
  private bytes = 0

  constructor(private since: number) {}

  add(bytes: number): void {
    this.bytes += bytes
  }

  /**
   * The rate to show at `now`: the smoothed rate once a tick has counted bytes; before that, the bytes counted so
   * far over the time since the last tick (or the start), so a peer that is sending does not show 0 until the next
   * tick. Reads only.
   */
  current(now: number): number {
    if (this.rate !== 0 || this.bytes === 0) return this.rate
    const elapsed = now - this.since
    return elapsed > 0 ? (this.bytes * 1000) / elapsed : 0
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
