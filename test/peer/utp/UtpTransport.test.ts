import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import { Datagram } from "../../../src/net/Datagram.js"
import * as MemoryDatagram from "../../../src/net/MemoryDatagram.js"
import { encodePacket } from "../../../src/peer/utp/packet.js"
import * as UtpTransport from "../../../src/peer/utp/UtpTransport.js"
import { exchange, sha1 } from "./exchange.js"

describe("uTP as a Transport, over an in-memory UDP network", () => {
  it.live("carries 2 MiB each way byte-exact between a dialled and an accepted connection", () =>
    Effect.gen(function*() {
      const up = new Uint8Array(randomBytes(2 * 1024 * 1024))
      const down = new Uint8Array(randomBytes(2 * 1024 * 1024))
      const { gotDown, gotUp } = yield* exchange(up, down, Duration.seconds(20))
      expect(sha1(gotUp)).toBe(sha1(up))
      expect(sha1(gotDown)).toBe(sha1(down))
    }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory)), 30_000)
})

describe("uTP transport: hostile input", () => {
  it.live("a flood of SYNs opens at most MAX_HALF_OPEN connections, which expire; garbage is dropped", () =>
    Effect.gen(function*() {
      const datagram = yield* Datagram
      const transport = yield* UtpTransport.make({ halfOpenTimeout: Duration.millis(300) })
      let accepted = 0
      const closed: Array<string | undefined> = []
      const listener = yield* transport.listen({ host: "10.8.0.1", port: 6881 }, (connection) => {
        accepted++
        connection.start({ onData: () => {}, onDrain: () => {}, onClose: (error) => closed.push(error?.message) })
      })
      const attacker = yield* datagram.bind({ family: "ipv4", host: "10.8.0.2", port: 1 }, () => {})
      const syn = (id: number) => ({
        type: "syn" as const,
        connectionId: id,
        timestamp: 0,
        timestampDifference: 0,
        windowSize: 65536,
        seqNr: 1,
        ackNr: 0,
        payload: new Uint8Array(0)
      })
      for (let id = 0; id < 500; id++) {
        yield* attacker.send(encodePacket(syn(id * 2)), listener.local)
        // Garbage, and a packet of an unknown version: neither is a connection.
        yield* attacker.send(Uint8Array.of(0x41, 1, 2, 3), listener.local)
        yield* attacker.send(Uint8Array.from({ length: 20 }, (_, i) => (i === 0 ? 0x42 : 0)), listener.local)
      }
      yield* Effect.sleep("50 millis")
      expect(accepted).toBe(UtpTransport.MAX_HALF_OPEN)
      // Half-open connections expire, which makes room again.
      yield* Effect.sleep("400 millis")
      expect(closed).toHaveLength(UtpTransport.MAX_HALF_OPEN)
      expect(closed[0]).toContain("no packet after the SYN in time")
      yield* attacker.send(encodePacket(syn(10_000)), listener.local)
      yield* Effect.sleep("50 millis")
      expect(accepted).toBe(UtpTransport.MAX_HALF_OPEN + 1)
    }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory)))
})

describe("uTP transport: timers", () => {
  /** Lets the in-memory network deliver (it does so on a later turn of the event loop), bounded. */
  const until = (done: () => boolean) =>
    Effect.gen(function*() {
      for (let turn = 0; turn < 200 && !done(); turn++) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(done()).toBe(true)
    })
  const pendingSleeps = Effect.map(TestClock.sleeps(), (sleeps) => Chunk.size(sleeps))

  it.scoped("the retransmission tick sleeps without connections, runs while there is one, and sleeps again once it is gone", () =>
    Effect.gen(function*() {
      const datagram = yield* Datagram
      const transport = yield* UtpTransport.make({ halfOpenTimeout: Duration.seconds(1) })
      let accepted = 0
      const closed: Array<string | undefined> = []
      const listener = yield* transport.listen({ host: "10.9.0.1", port: 6881 }, (connection) => {
        accepted++
        connection.start({ onData: () => {}, onDrain: () => {}, onClose: (error) => closed.push(error?.message) })
      })
      yield* until(() => true)
      // No connection: no timer at all (it used to wake every 20 ms regardless).
      expect(yield* pendingSleeps).toBe(0)
      const peer = yield* datagram.bind({ family: "ipv4", host: "10.9.0.2", port: 1 }, () => {})
      const syn = { type: "syn" as const, connectionId: 7, timestamp: 0, timestampDifference: 0, windowSize: 65536, seqNr: 1, ackNr: 0, payload: new Uint8Array(0) }
      yield* peer.send(encodePacket(syn), listener.local)
      yield* until(() => accepted === 1)
      yield* Effect.yieldNow()
      expect(yield* pendingSleeps).toBe(1)
      // The half-open connection expires (the tick sees to it), lingers, then is forgotten: the tick sleeps again.
      for (let step = 0; step < 100 && closed.length === 0; step++) yield* TestClock.adjust("20 millis")
      expect(closed[0]).toContain("no packet after the SYN in time")
      // (~10 s of wall time: TestClock runs each of the 1,500 ticks of the 30-s linger one by one.)
      for (let step = 0; step < 40 && (yield* pendingSleeps) > 0; step++) yield* TestClock.adjust("1 second")
      expect(yield* pendingSleeps).toBe(0)
      // A new connection wakes it again.
      yield* peer.send(encodePacket({ ...syn, connectionId: 9 }), listener.local)
      yield* until(() => accepted === 2)
      yield* Effect.yieldNow()
      expect(yield* pendingSleeps).toBe(1)
    }).pipe(Effect.provide(MemoryDatagram.layerMemory)), 60_000)
})
