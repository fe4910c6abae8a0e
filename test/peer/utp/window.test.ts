import { describe, expect, it } from "@effect/vitest"
import type { Packet } from "../../../src/peer/utp/packet.js"
import { MAX_PAYLOAD, RECEIVE_WINDOW, UtpSocket, ZERO_WINDOW_LIMIT_MS } from "../../../src/peer/utp/socket.js"
import { bytesOf, Pair } from "./link.js"

/** `a` connected to `b` over a clean 20 ms link, `a` writing `length` bytes; `b`'s reader consumes nothing yet. */
const paused = (length: number) => {
  const pair = new Pair({ loss: 0, delayMs: 20, jitterMs: 0, seed: 1 })
  pair.connect()
  const { a, b } = pair
  pair.runUntil(() => a.socket?.state === "connected", 1000)
  const payload = bytesOf(length, 9)
  pair.apply("a", a.socket!.write(payload, pair.now))
  let consumed = 0
  /** The application reports what it holds, every millisecond. */
  const report = () => pair.apply("b", b.socket!.setUnread(b.receivedBytes - consumed, pair.now))
  const consumeAll = () => {
    consumed = b.receivedBytes
    report()
  }
  return { pair, a, b, payload, report, consumeAll }
}

describe("uTP receive window", () => {
  it("a reader that stops consuming stops the sender; consuming again restarts it at once", () => {
    const { pair, a, b, payload, report, consumeAll } = paused(3 * 1024 * 1024)
    // The sender fills the window and stops: only probes, one packet per RTO, get through after that.
    pair.runUntil(() => b.receivedBytes >= RECEIVE_WINDOW, 20_000, report)
    pair.runUntil(() => false, 2000, report)
    const stalledAt = b.receivedBytes
    const sentBefore = a.sent.length
    pair.runUntil(() => false, 10_000, report)
    expect(b.sent.at(-1)!.windowSize).toBe(0)
    // At most one probe per RTO (at least 500 ms): 20 in 10 s.
    expect(a.sent.length - sentBefore).toBeLessThanOrEqual(20)
    expect(b.receivedBytes - stalledAt).toBeLessThanOrEqual(20 * MAX_PAYLOAD)
    expect(a.socket!.queued).toBeGreaterThan(0)

    // The window reopens: an ST_STATE says so straight away, and the rest follows.
    const statesBefore = b.sent.length
    consumeAll()
    expect(b.sent.slice(statesBefore).map((p) => [p.type, p.windowSize])).toEqual([["state", RECEIVE_WINDOW]])
    // Within a round trip (40 ms), not at the next probe: a whole window's worth goes out.
    const sentAtResume = a.sent.length
    pair.runUntil(() => false, 45, consumeAll)
    expect(a.sent.length - sentAtResume).toBeGreaterThan(10)
    pair.runUntil(() => b.receivedBytes === payload.length, 60_000, consumeAll)
    expect(Buffer.compare(Buffer.concat(b.received), payload)).toBe(0)
    expect(a.events).not.toContain("timedOut")
  }, 30_000)

  it("restarts on the next probe when the window update is lost", () => {
    const { pair, a, b, payload, report, consumeAll } = paused(2 * 1024 * 1024)
    pair.runUntil(() => b.receivedBytes >= RECEIVE_WINDOW, 20_000, report)
    pair.runUntil(() => false, 2000, report)
    pair.drop = (to, packet) => to === "a" && packet.type === "state" && packet.windowSize === RECEIVE_WINDOW
    consumeAll()
    pair.drop = () => false
    pair.runUntil(() => b.receivedBytes === payload.length, 60_000, consumeAll)
    expect(Buffer.compare(Buffer.concat(b.received), payload)).toBe(0)
    expect(a.events).not.toContain("timedOut")
  }, 30_000)

  it("a window held shut gives the connection up after ZERO_WINDOW_LIMIT_MS, though every probe is answered", () => {
    const { pair, a, b, report } = paused(2 * 1024 * 1024)
    pair.runUntil(() => b.receivedBytes >= RECEIVE_WINDOW, 20_000, report)
    const shutAt = pair.now
    pair.runUntil(() => false, 2000, report)
    const held = b.receivedBytes
    pair.runUntil(() => a.socket!.state === "closed", 5 * ZERO_WINDOW_LIMIT_MS, report)
    expect(a.events).toEqual(["connected", "timedOut"])
    // Not before the limit (no timeout counted while the peer answered), and not long after it.
    expect(pair.now - shutAt).toBeGreaterThanOrEqual(ZERO_WINDOW_LIMIT_MS)
    expect(pair.now - shutAt).toBeLessThan(ZERO_WINDOW_LIMIT_MS + 5000)
    // Meanwhile the probes delivered at most one packet each per RTO.
    expect(b.receivedBytes - held).toBeLessThanOrEqual((ZERO_WINDOW_LIMIT_MS / 500) * MAX_PAYLOAD)
  }, 30_000)
})

describe("uTP peer window", () => {
  it("a reordered packet acknowledging less than an earlier one does not reopen a shut window", () => {
    const [a, syn] = UtpSocket.connect({ connectionId: 100 }, 0)
    const [, synAck] = UtpSocket.accept(syn.packets[0]!, { seqNr: 500 }, 1)
    a.receive(synAck.packets[0]!, 2)
    const sent = a.write(bytesOf(20_000, 1), 10).packets
    // The initial window in packets of a quarter of it (`payloadSize`).
    expect(sent.map((p) => p.seqNr)).toEqual([2, 3, 4, 5])
    const state = (ackNr: number, windowSize: number): Packet => ({ ...synAck.packets[0]!, seqNr: 501, ackNr, windowSize })
    // All acknowledged, window shut: nothing more goes.
    expect(a.receive(state(5, 0), 50).packets).toEqual([])
    // An older ACK, overtaken on the way, with the window it had then.
    expect(a.receive(state(3, RECEIVE_WINDOW), 51).packets).toEqual([])
    expect(a.stats.peerWindow).toBe(0)
    // The window truly reopens.
    expect(a.receive(state(5, RECEIVE_WINDOW), 52).packets.length).toBeGreaterThan(0)
  })
})
