import { describe, expect, it } from "@effect/vitest"
import { RateWindow } from "../../src/cli/RateWindow.js"

describe("RateWindow", () => {
  it("is 0 before two samples, then the bytes over the time they took", () => {
    const meter = new RateWindow(5_000)
    expect(meter.rate).toBe(0)
    meter.add(0, 0)
    expect(meter.rate).toBe(0)
    meter.add(1_000, 40 * 2 ** 20)
    // The first report after a second of transfer tells it, rather than 0.
    expect(meter.rate).toBe(40 * 2 ** 20)
  })

  it("follows a change of speed within one window, not a smoothed average of the past", () => {
    const meter = new RateWindow(2_000)
    let total = 0
    for (let t = 0; t <= 10_000; t += 500) {
      meter.add(t, total)
      total += t < 5_000 ? 50_000 : 500_000 // 100 KB/s, then 1 MB/s
    }
    expect(meter.rate).toBe(1_000_000)
  })

  it("falls to 0 once a whole window passes with nothing, and not before", () => {
    const meter = new RateWindow(5_000)
    meter.add(0, 0)
    meter.add(1_000, 1_000_000)
    meter.add(3_000, 1_000_000)
    expect(meter.rate).toBeGreaterThan(0)
    meter.add(6_500, 1_000_000)
    expect(meter.rate).toBe(0)
  })

  it("counts only the part of an old interval inside the window", () => {
    const meter = new RateWindow(1_000)
    meter.add(0, 0)
    meter.add(2_000, 2_000) // 1 byte/ms over two seconds
    expect(meter.rate).toBe(1_000)
    meter.add(2_500, 2_000)
    // The window (1.5 s to 2.5 s) holds 0.5 s at 1 byte/ms and 0.5 s of nothing.
    expect(meter.rate).toBe(500)
  })

  it("gives the ETA from the window's rate; Infinity when nothing moves", () => {
    const meter = new RateWindow(5_000)
    meter.add(0, 0)
    expect(meter.eta(1_000)).toBe(Infinity)
    meter.add(2_000, 2_000_000)
    expect(meter.eta(3_000_000)).toBe(3)
    expect(meter.eta(0)).toBe(0)
  })
})
