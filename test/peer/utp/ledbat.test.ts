import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  BaseDelay,
  INITIAL_RTO_MS,
  INITIAL_WINDOW,
  Ledbat,
  MAX_CWND_INCREASE_PER_RTT,
  MAX_RTO_MS,
  MIN_RTO_MS,
  MIN_WINDOW,
  RttEstimator,
  TARGET_DELAY_US
} from "../../../src/peer/utp/ledbat.js"

const PACKET = 1400
/** A clock offset between the peers: samples are only meaningful relative to each other. */
const OFFSET_US = 3_000_000_000

/**
 * Drives a controller through a delay curve: every 10 ms an ACK of one packet arrives, carrying the one-way delay
 * `curve(t)` (microseconds) on top of a fixed 20 ms path delay and the clock offset. Returns the window after each.
 */
const run = (ledbat: Ledbat, fromMs: number, toMs: number, curve: (tMs: number) => number): Array<number> => {
  const windows: Array<number> = []
  for (let t = fromMs; t < toMs; t += 10) {
    ledbat.onAck({ ackedBytes: PACKET, delayUs: (OFFSET_US + 20_000 + curve(t)) >>> 0, nowMs: t })
    windows.push(ledbat.cwnd)
  }
  return windows
}

const increasing = (values: ReadonlyArray<number>) => values.every((v, i) => i === 0 || v > values[i - 1]!)
const decreasing = (values: ReadonlyArray<number>) => values.every((v, i) => i === 0 || v <= values[i - 1]!)

describe("LEDBAT window", () => {
  it("grows while the queuing delay stays under the target", () => {
    const ledbat = new Ledbat()
    const windows = run(ledbat, 0, 2000, () => 10_000)
    expect(increasing(windows)).toBe(true)
    expect(ledbat.cwnd).toBeGreaterThan(INITIAL_WINDOW * 2)
  })

  it("shrinks while the queuing delay is above the target", () => {
    const ledbat = new Ledbat(60_000)
    run(ledbat, 0, 100, () => 0) // the base delay: the path alone
    const windows = run(ledbat, 100, 2000, () => 250_000)
    expect(decreasing(windows)).toBe(true)
    expect(windows.at(-1)).toBeLessThan(60_000)
  })

  it("holds still at the target", () => {
    const ledbat = new Ledbat(20_000)
    run(ledbat, 0, 100, () => 0)
    const before = ledbat.cwnd
    run(ledbat, 100, 2000, () => TARGET_DELAY_US)
    expect(ledbat.cwnd).toBeCloseTo(before, 6)
    expect(ledbat.ourDelay).toBe(TARGET_DELAY_US)
  })

  it("grows by at most MAX_CWND_INCREASE_PER_RTT for a window's worth of ACKs", () => {
    fc.assert(fc.property(fc.integer({ min: MIN_WINDOW, max: 1_000_000 }), fc.integer({ min: 1, max: PACKET }), (
      cwnd,
      packet
    ) => {
      const ledbat = new Ledbat(cwnd)
      let acked = 0
      while (acked < cwnd) {
        ledbat.onAck({ ackedBytes: packet, delayUs: 5_000, nowMs: 0 })
        acked += packet
      }
      // Each ACK adds at most its share of the window; a window plus one packet adds at most the increase and a bit.
      expect(ledbat.cwnd - cwnd).toBeLessThanOrEqual(MAX_CWND_INCREASE_PER_RTT * (1 + packet / cwnd) + 1e-6)
      expect(ledbat.cwnd).toBeGreaterThan(cwnd)
    }))
  })

  it("never falls below one smallest packet, however late the packets", () => {
    const ledbat = new Ledbat()
    run(ledbat, 0, 100, () => 0)
    run(ledbat, 100, 5000, () => 5_000_000)
    expect(ledbat.cwnd).toBe(MIN_WINDOW)
  })

  it("ignores a zero delay (the peer has no sample yet) but still counts the ACK", () => {
    const ledbat = new Ledbat()
    ledbat.onAck({ ackedBytes: PACKET, delayUs: 0, nowMs: 0 })
    expect(ledbat.baseDelay.value).toBeUndefined()
    expect(ledbat.cwnd).toBeGreaterThan(INITIAL_WINDOW)
  })

  it("halves on a loss and drops to one smallest packet on a timeout", () => {
    const ledbat = new Ledbat(40_000)
    ledbat.onLoss()
    expect(ledbat.cwnd).toBe(20_000)
    ledbat.onLoss()
    expect(ledbat.cwnd).toBe(10_000)
    ledbat.onTimeout()
    expect(ledbat.cwnd).toBe(MIN_WINDOW)
    ledbat.onLoss()
    expect(ledbat.cwnd).toBe(MIN_WINDOW)
  })

  it("recovers after a loss at the target-delay growth rate", () => {
    const ledbat = new Ledbat(40_000)
    run(ledbat, 0, 1000, () => 0)
    const high = ledbat.cwnd
    ledbat.onLoss()
    expect(ledbat.cwnd).toBeCloseTo(high / 2, 6)
    run(ledbat, 1000, 2000, () => 0)
    expect(ledbat.cwnd).toBeGreaterThan(high / 2)
  })
})

describe("LEDBAT base delay", () => {
  it("is the least sample, across the 32-bit wrap", () => {
    const base = new BaseDelay()
    base.add(0xfffffff0, 0)
    base.add(0x10, 1) // 32 µs later than 0xfffffff0, past the wrap
    expect(base.value).toBe(0xfffffff0)
    expect(base.queuingDelay(0x10)).toBe(0x20)
    base.add(0xffffff00, 2)
    expect(base.value).toBe(0xffffff00)
    expect(base.queuingDelay(0xfffffe00)).toBe(0) // under the base: no queue
  })

  it("forgets an old minimum after two minutes", () => {
    const ledbat = new Ledbat()
    run(ledbat, 0, 1000, () => 0) // a quiet path in minute 0
    run(ledbat, 1000, 60_000, () => 80_000)
    expect(ledbat.ourDelay).toBe(80_000) // minute 0's minimum still counts
    run(ledbat, 60_000, 120_000, () => 80_000)
    expect(ledbat.ourDelay).toBe(80_000) // and through minute 1
    run(ledbat, 120_000, 120_010, () => 80_000)
    expect(ledbat.ourDelay).toBe(0) // from minute 2 the base is the new path delay
    expect(ledbat.baseDelay.value).toBe((OFFSET_US + 100_000) >>> 0)
  })

  it("a route that got faster lowers the base at once", () => {
    const ledbat = new Ledbat()
    run(ledbat, 0, 1000, () => 50_000)
    run(ledbat, 1000, 1010, () => 0)
    expect(ledbat.ourDelay).toBe(0)
    run(ledbat, 1010, 1020, () => 50_000)
    expect(ledbat.ourDelay).toBe(50_000)
  })
})

describe("uTP RTT and timeout", () => {
  it("starts at 1 s, then follows rtt + 4 rtt_var with a 500 ms floor", () => {
    const rtt = new RttEstimator()
    expect(rtt.rto).toBe(INITIAL_RTO_MS)
    rtt.sample(100)
    expect(rtt.rtt).toBe(100)
    expect(rtt.rttVar).toBe(50)
    expect(rtt.rto).toBe(MIN_RTO_MS) // 100 + 200 < 500
    rtt.sample(900)
    // delta = 100 - 900; rtt_var = 50 + (800 - 50) / 4; rtt = 100 + 800 / 8
    expect(rtt.rttVar).toBe(237.5)
    expect(rtt.rtt).toBe(200)
    expect(rtt.rto).toBe(200 + 4 * 237.5)
  })

  it("converges on a steady RTT", () => {
    const rtt = new RttEstimator()
    for (let i = 0; i < 200; i++) rtt.sample(i % 2 === 0 ? 300 : 340)
    expect(rtt.rtt).toBeGreaterThan(300)
    expect(rtt.rtt).toBeLessThan(340)
    expect(rtt.rttVar).toBeLessThan(40)
  })

  it("doubles for every timeout in a row, up to a cap, until a sample or a packet arrives", () => {
    const ledbat = new Ledbat()
    ledbat.rtt.sample(100) // rto max(100 + 4 * 50, 500)
    ledbat.onTimeout()
    expect(ledbat.rtt.rto).toBe(1000)
    ledbat.onTimeout()
    expect(ledbat.rtt.rto).toBe(2000)
    ledbat.rtt.resetBackOff()
    expect(ledbat.rtt.rto).toBe(500)
    for (let i = 0; i < 20; i++) ledbat.onTimeout()
    expect(ledbat.rtt.rto).toBe(MAX_RTO_MS)
    ledbat.rtt.sample(100)
    expect(ledbat.rtt.rto).toBe(500)
  })
})
