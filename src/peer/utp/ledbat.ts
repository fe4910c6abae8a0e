/**
 * uTP congestion control (BEP 29): LEDBAT's delay-based window, TCP-like loss back-off, and the RTT / timeout
 * estimate. Plain synchronous objects with time passed in (milliseconds for clocks and RTTs, microseconds for the
 * one-way delay samples the packets carry): no timers, no I/O.
 *
 * The window (`cwnd`, BEP 29's max_window) moves on every ACK by
 *
 *   off_target    = TARGET - our_delay            our_delay = delay sample - base_delay
 *   delay_factor  = off_target / TARGET           (at most 1: our_delay is never negative)
 *   window_factor = min(acked, cwnd) / cwnd
 *   cwnd         += MAX_CWND_INCREASE_PER_RTT * delay_factor * window_factor
 *
 * so that a window's worth of ACKs (about one RTT) adds at most MAX_CWND_INCREASE_PER_RTT: delay under the target
 * grows the window, over it shrinks it. (BEP 29's prose has the sign the other way round; its formula, and LEDBAT,
 * grow the window while off_target is positive.) The base delay is the least sample of the last two minutes, kept
 * in per-minute buckets.
 *
 * Where BEP 29 lets the window fall to 0 and waits for a timeout to send again, the window here never drops below
 * MIN_WINDOW, one smallest packet: the same state a timeout would put it in, without the stall.
 */

/** The queuing delay uTP aims for, in microseconds. */
export const TARGET_DELAY_US = 100_000
/** The most the window grows in one RTT, in bytes (two full packets, a little more). */
export const MAX_CWND_INCREASE_PER_RTT = 3000
/** The smallest window: one smallest packet. A timeout resets the window to it. */
export const MIN_WINDOW = 150
/** The window a connection starts with. */
export const INITIAL_WINDOW = 3000
/** The loss factor (BEP 29, since 2012: 0.5, as TCP). */
export const LOSS_FACTOR = 0.5

export const INITIAL_RTO_MS = 1000
export const MIN_RTO_MS = 500
/** Doubling stops here. */
export const MAX_RTO_MS = 60_000

/** How long a base delay bucket spans, and how many are kept. */
export const BASE_DELAY_BUCKET_MS = 60_000
export const BASE_DELAY_BUCKETS = 2

/** Whether 32-bit timestamp `a` is before `b`, allowing for the wrap (the peer's clock is anywhere). */
const before32 = (a: number, b: number): boolean => ((a - b) | 0) < 0

/** The least delay sample over the last BASE_DELAY_BUCKETS minutes. */
export class BaseDelay {
  /** Oldest first: the minute each bucket covers (now / BASE_DELAY_BUCKET_MS, rounded down) and its least sample. */
  private buckets: Array<{ readonly minute: number; min: number }> = []

  /** Adds a one-way delay sample (32-bit microseconds) taken at `nowMs`. */
  add(sampleUs: number, nowMs: number): void {
    const minute = Math.floor(nowMs / BASE_DELAY_BUCKET_MS)
    this.buckets = this.buckets.filter((bucket) => bucket.minute > minute - BASE_DELAY_BUCKETS)
    const last = this.buckets.at(-1)
    if (last?.minute === minute) {
      if (before32(sampleUs, last.min)) last.min = sampleUs >>> 0
    } else {
      this.buckets.push({ minute, min: sampleUs >>> 0 })
    }
  }

  /** The base delay, or undefined before the first sample. */
  get value(): number | undefined {
    let least: number | undefined
    for (const { min } of this.buckets) if (least === undefined || before32(min, least)) least = min
    return least
  }

  /** How far `sampleUs` lies above the base delay, in microseconds (0 when there is no base yet). */
  queuingDelay(sampleUs: number): number {
    const base = this.value
    if (base === undefined || before32(sampleUs, base)) return 0
    return (sampleUs - base) >>> 0
  }
}

/**
 * Round-trip time and retransmission timeout (BEP 29; the first sample seeds the estimate as in RFC 6298):
 *
 *   delta = rtt - sample; rtt_var += (|delta| - rtt_var) / 4; rtt += (sample - rtt) / 8
 *   rto = max(rtt + 4 * rtt_var, MIN_RTO_MS), doubled for each timeout in a row, at most MAX_RTO_MS
 */
export class RttEstimator {
  rtt: number | undefined = undefined
  rttVar = 0
  private backoffs = 0

  /** A round trip of `sampleMs`, from a packet sent only once. Ends any timeout back-off. */
  sample(sampleMs: number): void {
    if (this.rtt === undefined) {
      this.rtt = sampleMs
      this.rttVar = sampleMs / 2
    } else {
      const delta = this.rtt - sampleMs
      this.rttVar += (Math.abs(delta) - this.rttVar) / 4
      this.rtt += (sampleMs - this.rtt) / 8
    }
    this.backoffs = 0
  }

  /** A timeout fired: the next one waits twice as long. */
  backOff(): void {
    this.backoffs++
  }

  /** Something new was acknowledged: the timeout no longer doubles (the estimate itself is only moved by `sample`). */
  resetBackOff(): void {
    this.backoffs = 0
  }

  get rto(): number {
    const base = this.rtt === undefined ? INITIAL_RTO_MS : Math.max(this.rtt + 4 * this.rttVar, MIN_RTO_MS)
    return Math.min(base * 2 ** this.backoffs, MAX_RTO_MS)
  }
}

export interface AckSample {
  /** Bytes newly acknowledged by this ACK (payload and header of the packets it covers). */
  readonly ackedBytes: number
  /**
   * The peer's timestamp_difference_microseconds: the one-way delay of our packets to it. 0 means it has no
   * sample yet, and is skipped.
   */
  readonly delayUs: number
  readonly nowMs: number
}

/** The send window of one uTP connection. */
export class Ledbat {
  /** Bytes we may have in flight. */
  cwnd: number
  readonly baseDelay = new BaseDelay()
  readonly rtt = new RttEstimator()
  /** The last queuing delay seen, in microseconds. */
  ourDelay = 0

  constructor(initialWindow: number = INITIAL_WINDOW) {
    this.cwnd = initialWindow
  }

  /** An ACK that acknowledged `ackedBytes` new bytes. */
  onAck({ ackedBytes, delayUs, nowMs }: AckSample): void {
    if (delayUs !== 0) {
      this.baseDelay.add(delayUs, nowMs)
      this.ourDelay = this.baseDelay.queuingDelay(delayUs)
    }
    if (ackedBytes <= 0) return
    const delayFactor = (TARGET_DELAY_US - this.ourDelay) / TARGET_DELAY_US
    const windowFactor = Math.min(ackedBytes, this.cwnd) / this.cwnd
    this.cwnd = Math.max(MIN_WINDOW, this.cwnd + MAX_CWND_INCREASE_PER_RTT * delayFactor * windowFactor)
  }

  /** A packet was lost (3 duplicate ACKs, or 3 selectively acknowledged past it): the window halves. */
  onLoss(): void {
    this.cwnd = Math.max(MIN_WINDOW, this.cwnd * LOSS_FACTOR)
  }

  /** Nothing arrived within the timeout: the window drops to one smallest packet and the timeout doubles. */
  onTimeout(): void {
    this.cwnd = MIN_WINDOW
    this.rtt.backOff()
  }
}
