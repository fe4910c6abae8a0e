import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "../../src/dht/rateLimit.js"

describe("RateLimit", () => {
  it("passes a burst of one second's worth per IP, then refills at the rate", () => {
    const limit = new RateLimit(20)
    const passed = (ip: string, now: number, tries: number) =>
      Array.from({ length: tries }, () => limit.allow(ip, now)).filter(Boolean).length
    expect(passed("10.0.0.1", 0, 100)).toBe(20)
    expect(passed("10.0.0.2", 0, 100)).toBe(20) // each IP its own bucket
    expect(passed("10.0.0.1", 500, 100)).toBe(10)
    expect(passed("10.0.0.1", 10_000, 100)).toBe(20) // never more than a burst
  })

  it("tracks at most maxSources IPs: refilled ones are pruned first, else the oldest gives way", () => {
    const limit = new RateLimit(5, 100)
    for (let i = 0; i < 1000; i++) limit.allow(`10.0.${i >> 8}.${i & 255}`, 0)
    expect(limit.size).toBe(100)
    // A second later every bucket has refilled: a new IP prunes them all.
    limit.allow("10.9.9.9", 1000)
    expect(limit.size).toBe(1)
    limit.prune(2000)
    expect(limit.size).toBe(0)
  })
})
