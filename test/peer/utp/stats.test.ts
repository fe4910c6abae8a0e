import { describe, expect, it } from "@effect/vitest"
import { RECEIVE_WINDOW } from "../../../src/peer/utp/socket.js"
import { bytesOf, Pair, transfer } from "./link.js"

describe("uTP socket stats", () => {
  it("on a clean link: every packet counted, nothing resent or lost, the round trip measured", () => {
    const { a, b } = transfer(bytesOf(500_000, 1), { loss: 0, delayMs: 20, jitterMs: 0, seed: 1 })
    const stats = a.socket!.stats
    expect(stats.packetsSent).toBe(a.sent.length)
    expect(stats.packetsReceived).toBe(b.sent.length)
    expect(b.socket!.stats.packetsReceived).toBe(a.sent.length)
    expect([stats.retransmits, stats.lost, stats.timeouts]).toEqual([0, 0, 0])
    expect(stats.rttMs).toBeCloseTo(40, 0)
    expect(stats.rttVarMs).toBeLessThan(5)
    expect(stats.cwnd).toBeGreaterThan(3000)
    expect(stats.peerWindow).toBe(RECEIVE_WINDOW)
  })

  it("under 10 % loss: losses found, packets resent, the round trip still measured", () => {
    const { a, b } = transfer(bytesOf(1024 * 1024, 2), { loss: 0.1, delayMs: 20, jitterMs: 10, seed: 3 })
    const stats = a.socket!.stats
    expect(stats.packetsSent).toBe(a.sent.length)
    // About 10 % of what b sent was lost on the way.
    expect(stats.packetsReceived).toBeLessThan(b.sent.length * 0.95)
    expect(stats.packetsReceived).toBeGreaterThan(b.sent.length * 0.85)
    // About 10 % of the data packets were lost and so resent (and some resends lost in turn).
    const numbered = a.sent.filter((p) => p.type !== "state") // SYN, DATA, FIN: what takes a sequence number
    expect(stats.retransmits).toBeGreaterThan(numbered.length * 0.05)
    expect(stats.retransmits).toBe(numbered.length - new Set(numbered.map((p) => p.seqNr)).size)
    // (A packet taken as lost may still be acknowledged before its resend goes: reordering. So no order between
    // `lost` and `retransmits`.)
    expect(stats.lost).toBeGreaterThan(numbered.length * 0.05)
    expect(stats.rttMs).toBeGreaterThan(40)
    expect(stats.rttMs).toBeLessThan(80)
  }, 30_000)

  it("a peer that answers nothing: timeouts counted", () => {
    const pair = new Pair({ loss: 0, delayMs: 20, jitterMs: 0, seed: 1 })
    pair.connect()
    pair.runUntil(() => pair.a.socket!.state === "connected", 1000)
    pair.drop = () => true
    pair.apply("a", pair.a.socket!.write(bytesOf(10_000, 1), pair.now))
    pair.runUntil(() => false, 10_000)
    // RTO 0.5, then 1, 2, 4 s: 4 timeouts by 7.5 s, the fifth due at 15.5 s.
    expect(pair.a.socket!.stats.timeouts).toBe(4)
    expect(pair.a.socket!.stats.retransmits).toBe(4)
  })
})
