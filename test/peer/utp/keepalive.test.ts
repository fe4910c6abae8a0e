import { describe, expect, it } from "@effect/vitest"
import { IDLE_TIMEOUT_MS, KEEPALIVE_INTERVAL_MS, MAX_TIMEOUTS, UtpSocket } from "../../../src/peer/utp/socket.js"
import { bytesOf, Pair } from "./link.js"

const connectedPair = () => {
  const pair = new Pair({ loss: 0, delayMs: 20, jitterMs: 0, seed: 1 })
  pair.connect()
  pair.runUntil(() => pair.a.socket?.state === "connected" && pair.b.socket?.state === "connected", 1000)
  return pair
}

/** Runs `run` ms and answers when each side sent a packet; all must be ST_STATEs. */
const timesOf = (pair: Pair, run: number) => {
  const times: { a: Array<number>; b: Array<number> } = { a: [], b: [] }
  let seen = { a: pair.a.sent.length, b: pair.b.sent.length }
  pair.runUntil(() => false, run, () => {
    for (const name of ["a", "b"] as const) {
      const sent = pair.side(name).sent
      for (let i = seen[name]; i < sent.length; i++) {
        expect(sent[i]!.type).toBe("state")
        times[name].push(pair.now)
      }
    }
    seen = { a: pair.a.sent.length, b: pair.b.sent.length }
  })
  return times
}

describe("uTP keep-alive and idle timeout", () => {
  it("an idle connection sends an ST_STATE every KEEPALIVE_INTERVAL_MS each way, and stays up", () => {
    const pair = connectedPair()
    const { a, b } = pair
    expect(a.socket!.nextTimeout()).toBeLessThanOrEqual(pair.now + KEEPALIVE_INTERVAL_MS)
    const times = timesOf(pair, 10 * 60_000)
    for (const name of ["a", "b"] as const) {
      const gaps = times[name].slice(1).map((t, i) => t - times[name][i]!)
      expect(times[name].length).toBeGreaterThanOrEqual(20)
      // The tick runs every millisecond here, so the gap is the interval to the millisecond or two.
      expect(gaps.every((gap) => gap >= KEEPALIVE_INTERVAL_MS && gap <= KEEPALIVE_INTERVAL_MS + 2)).toBe(true)
    }
    expect([a.socket!.state, b.socket!.state]).toEqual(["connected", "connected"])
    expect([...a.events, ...b.events]).toEqual(["connected", "connected"])
  }, 30_000)

  it("a peer that vanishes while the connection is idle: timedOut after IDLE_TIMEOUT_MS of silence", () => {
    const pair = connectedPair()
    const { a } = pair
    pair.drop = () => true
    pair.runUntil(() => a.socket!.state === "closed", 10 * IDLE_TIMEOUT_MS)
    expect(a.events).toEqual(["connected", "timedOut"])
    expect(pair.now - a.heardAt).toBe(IDLE_TIMEOUT_MS)
  }, 30_000)

  it("a peer that vanishes with data outstanding: resends with the RTO doubling, then timedOut within IDLE_TIMEOUT_MS", () => {
    const pair = connectedPair()
    const { a } = pair
    pair.drop = () => true
    const start = pair.now
    pair.apply("a", a.socket!.write(bytesOf(100_000, 1), pair.now))
    const sentAtStart = a.sent.length
    pair.runUntil(() => a.socket!.state === "closed", 10 * IDLE_TIMEOUT_MS)
    expect(a.events).toEqual(["connected", "timedOut"])
    expect(pair.now - start).toBeLessThanOrEqual(IDLE_TIMEOUT_MS + 100)
    // One packet resent per timeout: 0.5 + 1 + 2 + 4 + 8 + 16 + 32 s (RTO from a 40 ms round trip, floored at 500
    // ms) before the silence limit; no flood.
    const resends = a.sent.length - sentAtStart - 2 // the first window: 2 packets
    expect(resends).toBeGreaterThanOrEqual(6)
    expect(resends).toBeLessThanOrEqual(9)
  }, 30_000)

  it("a connection whose data never gets through gives up after MAX_TIMEOUTS, though the peer keeps talking", () => {
    // a's DATA is lost, every time (a path that drops its full-size packets, say); everything else passes, and b
    // sends a little every 10 s. Those packets acknowledge nothing of a's: before, each one restarted a's count of
    // timeouts in a row and its RTO back-off, and a resent for ever (703 timeouts in 30 simulated minutes).
    const pair = connectedPair()
    const { a, b } = pair
    pair.drop = (to, packet) => to === "b" && packet.type === "data"
    const start = pair.now
    pair.apply("a", a.socket!.write(bytesOf(100_000, 1), pair.now))
    pair.runUntil(() => a.socket!.state === "closed", 30 * 60_000, () => {
      if ((pair.now - start) % 10_000 === 0 && b.socket!.state === "connected") {
        pair.apply("b", b.socket!.write(bytesOf(100, 2), pair.now))
      }
    })
    expect(a.events.filter((e) => e !== "data")).toEqual(["connected", "timedOut"])
    expect(a.socket!.stats.timeouts).toBe(MAX_TIMEOUTS + 1)
    expect(a.receivedBytes).toBeGreaterThan(0)
    // The RTO doubling from 500 ms to its 60 s cap: 0.5 + 1 + 2 + 4 + 8 + 16 + 32 + 60 + 60 s.
    expect(pair.now - start).toBeLessThanOrEqual(184_000)
    expect(b.receivedBytes).toBe(0)
  }, 30_000)

  it("a SYN answered and never followed up: the half-open connection ends after IDLE_TIMEOUT_MS", () => {
    const [, syn] = UtpSocket.connect({ connectionId: 77 }, 0)
    const [b] = UtpSocket.accept(syn.packets[0]!, { seqNr: 9 }, 0)
    expect(b.nextTimeout()).toBe(IDLE_TIMEOUT_MS)
    expect(b.tick(IDLE_TIMEOUT_MS - 1)).toEqual({ packets: [], events: [] })
    expect(b.tick(IDLE_TIMEOUT_MS).events).toEqual([{ type: "timedOut" }])
    expect(b.state).toBe("closed")
  })
})
