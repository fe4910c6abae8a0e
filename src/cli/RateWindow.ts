/**
 * A rate over a sliding window of time, from samples of a running total (bytes downloaded so far): the bytes that
 * came in the last `windowMs`, divided by the time they took. Pure: the caller gives the time. Unlike the
 * session's per-peer RateMeter (a smoothed rate ticked by the session), it needs no tick of its own, so what it
 * says is what the totals did, however busy the process was, and it falls to 0 only once a whole window passes with
 * nothing.
 */
export class RateWindow {
  private readonly samples: Array<{ readonly at: number; readonly total: number }> = []

  constructor(readonly windowMs = 5_000) {}

  /** Records the running total at time `at` (milliseconds; samples come in time order). */
  add(at: number, total: number): void {
    const last = this.samples[this.samples.length - 1]
    if (last !== undefined && at <= last.at) return
    this.samples.push({ at, total })
    // Keep the newest sample at or before the window's start, so the window is covered from edge to edge.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - this.windowMs) this.samples.shift()
  }

  /** Per second, over the window (or the time sampled so far, if shorter); 0 before two samples. */
  get rate(): number {
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    if (first === undefined || last === undefined || last.at === first.at) return 0
    const from = Math.max(first.at, last.at - this.windowMs)
    // The part of the oldest interval that lies outside the window counts in proportion to its share.
    const second = this.samples[1]!
    const before = first.at < from
      ? ((second.total - first.total) * (from - first.at)) / (second.at - first.at)
      : 0
    return Math.max(0, ((last.total - first.total - before) * 1000) / (last.at - from))
  }

  /** Seconds to go for `left` more at the current rate; Infinity when nothing moves. */
  eta(left: number): number {
    const rate = this.rate
    return left <= 0 ? 0 : rate > 0 ? left / rate : Infinity
  }
}
