import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, TestClock } from "effect"
import { Direction, TokenBucket } from "../../src/peer/transport/RateLimit.js"
import { clockTimers, throttle } from "../../src/peer/transport/Throttled.js"
import type { Connection, ConnectionHandlers } from "../../src/peer/transport/Transport.js"

const KiB = 1024
const BLOCK = 16 * KiB

/** A connection that takes every write at once and lets the test push data in and see pauses. */
const fakeConnection = () => {
  const state = { written: 0, paused: false, handlers: undefined as ConnectionHandlers | undefined }
  const connection: Connection = {
    remote: { host: "192.0.2.1", port: 1 },
    write: (bytes) => {
      state.written += bytes.length
      return true
    },
    start: (handlers) => {
      state.handlers = handlers
    },
    cork: () => {},
    uncork: () => {},
    pause: () => {
      state.paused = true
    },
    resume: () => {
      state.paused = false
    },
    destroy: () => {}
  }
  return { state, connection }
}

/** Advances the TestClock by `ms` in 25 ms steps, running `each` before every step. */
const advance = (ms: number, each: () => void) =>
  Effect.gen(function*() {
    for (let t = 0; t < ms; t += 25) {
      each()
      yield* TestClock.adjust(Duration.millis(25))
    }
  })

describe("rate limits", () => {
  it.effect("a token bucket gives its rate after its burst, and nothing limits an unlimited one", () =>
    Effect.gen(function*() {
      let at = 0
      const bucket = new TokenBucket(100 * KiB, () => at)
      expect(bucket.waitMs()).toBe(0)
      bucket.take(25 * KiB + 100 * KiB)
      // 25 KiB of burst spent, then 100 KiB of debt: a second to pay it back.
      expect(bucket.waitMs()).toBeGreaterThanOrEqual(1000)
      expect(bucket.waitMs()).toBeLessThanOrEqual(1001)
      at = 1001
      expect(bucket.waitMs()).toBe(0)
      const free = new TokenBucket(Number.POSITIVE_INFINITY, () => at)
      free.take(1e12)
      expect(free.waitMs()).toBe(0)
      expect(new Direction([free]).limited).toBe(false)
    }))

  it.scoped("holds uploads to the limit over 5 seconds, and lets them run free once lifted", () =>
    Effect.gen(function*() {
      const { later, now } = yield* clockTimers
      const rate = 200 * KiB
      const bucket = new TokenBucket(rate, now)
      const up = new Direction([bucket])
      const { connection, state } = fakeConnection()
      const limited = throttle(connection, new Direction(), up, later)
      let blocked = false
      limited.start({ onData: () => {}, onDrain: () => (blocked = false), onClose: () => {} })
      // A producer that writes up to 64 blocks a step while the connection takes them, and waits for onDrain.
      const produce = () => {
        for (let i = 0; i < 64 && !blocked; i++) blocked = !limited.write(new Uint8Array(BLOCK))
      }
      yield* advance(5000, produce)
      const allowed = rate * 5 + 0.25 * rate + BLOCK
      expect(state.written).toBeLessThanOrEqual(allowed)
      expect(state.written).toBeGreaterThanOrEqual(rate * 5 * 0.9)

      bucket.setRate(Number.POSITIVE_INFINITY)
      up.update()
      const before = state.written
      yield* advance(100, produce)
      expect(state.written - before).toBeGreaterThan(rate * 5)
    }))

  it.scoped("pauses reading while the download limit is in debt, and counts a shared session bucket once per byte", () =>
    Effect.gen(function*() {
      const { later, now } = yield* clockTimers
      const rate = 100 * KiB
      const shared = new TokenBucket(rate, now)
      const a = fakeConnection()
      const b = fakeConnection()
      const downA = new Direction([shared, new TokenBucket(Number.POSITIVE_INFINITY, now)])
      const downB = new Direction([shared])
      const connections = [throttle(a.connection, downA, new Direction(), later), throttle(b.connection, downB, new Direction(), later)]
      let received = 0
      for (const connection of connections) connection.start({ onData: (chunk) => (received += chunk.length), onDrain: () => {}, onClose: () => {} })
      // Peers send whenever their socket is not paused.
      const send = () => {
        for (const fake of [a, b]) if (!fake.state.paused) fake.state.handlers!.onData(new Uint8Array(BLOCK))
      }
      yield* advance(5000, send)
      expect(received).toBeLessThanOrEqual(rate * 5 + 0.25 * rate + 2 * BLOCK)
      expect(received).toBeGreaterThanOrEqual(rate * 5 * 0.9)
    }))
})
