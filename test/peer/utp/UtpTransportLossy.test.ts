import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { Datagram, type Endpoint } from "../../../src/net/Datagram.js"
import * as MemoryDatagram from "../../../src/net/MemoryDatagram.js"
import { exchange, sha1 } from "./exchange.js"
import { bytesOf, prng } from "./link.js"

describe("the lossy in-memory UDP network these tests use", () => {
  // So that the transfers below cannot pass for want of the trouble they claim to survive.
  it.live("loses, delays, reorders and duplicates datagrams as asked", () =>
    Effect.gen(function*() {
      const datagram = yield* Datagram
      const arrivals: Array<{ readonly n: number; readonly at: number }> = []
      const receiver = yield* datagram.bind({ family: "ipv4" }, (bytes) => arrivals.push({ n: bytes[0]! | (bytes[1]! << 8), at: Date.now() }))
      const sender = yield* datagram.bind({ family: "ipv4" }, () => {})
      const to: Endpoint = receiver.local
      const sentAt = Date.now()
      for (let n = 0; n < 1000; n++) yield* sender.send(Uint8Array.of(n & 255, n >> 8), to)
      yield* Effect.sleep(Duration.millis(100))
      const unique = new Set(arrivals.map((a) => a.n))
      expect(unique.size).toBeGreaterThan(850) // 10 % lost
      expect(unique.size).toBeLessThan(950)
      expect(arrivals.length - unique.size).toBeGreaterThan(20) // 5 % twice
      expect(arrivals.some((a, i) => i > 0 && a.n < arrivals[i - 1]!.n)).toBe(true)
      expect(arrivals.every((a) => a.at - sentAt >= 4)).toBe(true) // timers may fire a millisecond early
    }).pipe(
      Effect.scoped,
      Effect.provide(MemoryDatagram.layerMemoryWith({ loss: 0.1, delayMs: 5, jitterMs: 10, duplicate: 0.05, random: prng(1) }))
    ))
})

describe("uTP as a Transport over a lossy in-memory UDP network", () => {
  // Real timers: 2-6 ms one way, so datagrams overtake each other; 1 % delivered twice. The uTP timers run on the
  // wall clock here (the transport's tick), so each run is bounded by a timeout rather than by a fake clock.
  for (const loss of [0.01, 0.05, 0.1]) {
    it.live(`carries 2 MiB each way byte-exact with ${loss * 100} % loss, reordering and duplicates`, () =>
      Effect.gen(function*() {
        const up = bytesOf(2 * 1024 * 1024, 1)
        const down = bytesOf(2 * 1024 * 1024, 2)
        const { gotDown, gotUp } = yield* exchange(up, down, Duration.seconds(40))
        expect(sha1(gotUp)).toBe(sha1(up))
        expect(sha1(gotDown)).toBe(sha1(down))
      }).pipe(
        Effect.scoped,
        Effect.provide(MemoryDatagram.layerMemoryWith({ loss, delayMs: 2, jitterMs: 4, duplicate: 0.01, random: prng(loss * 1000) }))
      ), 60_000)
  }
})
