import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { RECEIVE_WINDOW } from "../../../src/peer/utp/socket.js"
import { bytesOf, Pair, transfer } from "./link.js"

/**
 * One turn of the event loop, between the cases of a property: each case is up to a second or so of synchronous
 * simulation, and a failing property runs a hundred while it shrinks; without a turn between them the worker cannot
 * answer vitest (its RPC times out after 60 s, and the run then skipped the interop project's files).
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

const byteExact = (received: Uint8Array, payload: Uint8Array) => {
  expect(received.length).toBe(payload.length)
  expect(Buffer.compare(received, payload)).toBe(0)
}

describe("uTP socket over a lossy link", () => {
  // Simulated seconds for 4 MiB here (40-100 ms round trips, 1 % of packets twice): about 24, 29 and 35.
  for (const loss of [0.01, 0.05, 0.1]) {
    it(`moves 4 MiB byte-exact with ${loss * 100} % loss each way, reordering and duplicates`, () => {
      const payload = bytesOf(4 * 1024 * 1024, 3)
      const { a, b, received, now } = transfer(payload, { loss, delayMs: 20, jitterMs: 30, duplicate: 0.01, seed: 11 })
      byteExact(received, payload)
      expect(b.events.filter((e) => e !== "data")).toEqual(["connected", "eof", "closed"])
      expect(a.events).toEqual(["connected", "eof", "closed"])
      expect(now).toBeLessThan(90_000)
    }, 60_000)
  }

  it("reordering alone costs little: the window is not halved for packets merely overtaken", () => {
    // Each packet delayed 20-50 ms at random: packets overtake dozens of others. Before halvings were undone for
    // packets acknowledged without a resend (and the reorder threshold adapted), this took 22 s simulated, ten
    // times the clean link, and resent 92 packets that were never lost.
    const payload = bytesOf(4 * 1024 * 1024, 4)
    const clean = transfer(payload, { loss: 0, delayMs: 20, jitterMs: 0, seed: 5 })
    const jittery = transfer(payload, { loss: 0, delayMs: 20, jitterMs: 30, seed: 5 })
    byteExact(jittery.received, payload)
    const data = jittery.a.sent.filter((p) => p.type === "data").length
    expect(jittery.a.socket!.stats.retransmits).toBeLessThan(data * 0.02)
    expect(jittery.now).toBeLessThan(clean.now * 2.5)
  }, 30_000)

  it("keeps moving at 20 % loss each way: 1 MiB within 2 simulated minutes, whatever the seed", () => {
    // Before round-trip samples were taken only from the newest packet an ACK covers, the RTO grew to tens of
    // seconds here after a timeout, and some seeds took over 10 minutes.
    const payload = bytesOf(1024 * 1024, 5)
    for (const seed of [2, 4, 20, 22, 24]) {
      const { a, b, received, now } = transfer(payload, { loss: 0.2, delayMs: 20, jitterMs: 30, duplicate: 0.02, seed }, 120_000)
      byteExact(received, payload)
      expect([a.socket!.state, b.socket!.state]).toEqual(["closed", "closed"])
      expect(now).toBeLessThan(120_000)
    }
  }, 60_000)

  it("any link up to 15 % loss, any sizes one way or both, ids and first sequence numbers: byte-exact, both closed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          size: fc.integer({ min: 0, max: 200_000 }),
          backSize: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
          loss: fc.double({ min: 0, max: 0.15, noNaN: true }),
          delayMs: fc.integer({ min: 1, max: 60 }),
          jitterMs: fc.integer({ min: 0, max: 60 }),
          duplicate: fc.double({ min: 0, max: 0.05, noNaN: true }),
          seed: fc.integer(),
          delayedAcks: fc.boolean(),
          connectionId: fc.integer({ min: 0, max: 0xffff }),
          seqA: fc.integer({ min: 0, max: 0xffff }),
          seqB: fc.integer({ min: 0, max: 0xffff })
        }),
        async ({ size, backSize, delayedAcks, connectionId, seqA, seqB, ...link }) => {
          await turn()
          const payload = bytesOf(size, link.seed)
          const back = backSize === undefined ? undefined : bytesOf(backSize, link.seed + 1)
          const options = { delayedAcks, connectionId, seqA, seqB, ...(back === undefined ? {} : { back }) }
          const { a, b, received, receivedBack } = transfer(payload, link, 600_000, options)
          byteExact(received, payload)
          byteExact(receivedBack, back ?? new Uint8Array(0))
          expect(a.events.filter((e) => e !== "data")).toEqual(["connected", "eof", "closed"])
          expect(b.events.filter((e) => e !== "data")).toEqual(["connected", "eof", "closed"])
        }
      ),
      { numRuns: 40 }
    )
  }, 300_000) // passing, a second or two; failing, shrinking runs each case to the limit (a minute or two)

  it("any link up to 50 % loss: what arrives is a prefix of what was sent, and both sides end (closed or timedOut)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          size: fc.integer({ min: 0, max: 100_000 }),
          backSize: fc.integer({ min: 0, max: 100_000 }),
          loss: fc.double({ min: 0.15, max: 0.5, noNaN: true }),
          delayMs: fc.integer({ min: 1, max: 100 }),
          jitterMs: fc.integer({ min: 0, max: 100 }),
          duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }),
          seed: fc.integer(),
          delayedAcks: fc.boolean()
        }),
        async ({ size, backSize, delayedAcks, ...link }) => {
          await turn()
          const payload = bytesOf(size, 1)
          const back = bytesOf(backSize, 2)
          // No limit of the socket's bounds a connection that keeps making progress (MAX_TIMEOUTS counts timeouts
          // in a row, IDLE_TIMEOUT_MS silence); the bound here is what progress at this loss allows. Over 1,400
          // sampled links, each side had closed or given up within 12 simulated minutes (half within 10 s); 20
          // leaves a margin. Before RTT samples left out the time the peer held its ACK, the RTO could sit at 60 s
          // and a connection crawl on past 20 minutes (see the counterexample below).
          const { a, b, received, receivedBack } = transfer(payload, link, 20 * 60_000, { delayedAcks, back })
          byteExact(received, payload.subarray(0, received.length))
          byteExact(receivedBack, back.subarray(0, receivedBack.length))
          expect(a.socket!.state).toBe("closed")
          expect(b.socket === undefined || b.socket.state === "closed").toBe(true)
        }
      ),
      { numRuns: 30 }
    )
  }, 300_000) // passing, a few seconds; failing, shrinking runs each case to the limit (CI's: 86 cases, 100 s)

  it("the counterexample of 47 % loss each way: both close within 3 simulated minutes, the RTT estimate sane", () => {
    // Found by the property above (fast-check seed 1201707526). `b`'s round-trip estimate took a 58 s sample (a
    // packet timed out, not yet resent, then acknowledged by a keep-alive of `a`'s) and then one of ~29 s at every
    // keep-alive that acknowledged a packet whose own ACK was lost: the RTO sat at its 60 s cap, one packet left per
    // minute, and after 20 simulated minutes `b`'s FIN was still on its way, both sides `connected`. Now the ACK's
    // timestamps leave out the time the peer held it, and the same link closes in 171 s.
    const { size, backSize, ...link } = { size: 1508, backSize: 38964, loss: 0.4709019358269871, delayMs: 7, jitterMs: 85, duplicate: 0, seed: 0 }
    const payload = bytesOf(size, 1)
    const back = bytesOf(backSize, 2)
    const { a, b, received, receivedBack, now } = transfer(payload, link, 20 * 60_000, { delayedAcks: false, back })
    byteExact(received, payload)
    byteExact(receivedBack, back)
    expect([a.socket!.state, b.socket!.state]).toEqual(["closed", "closed"])
    expect(now).toBeLessThan(3 * 60_000)
    // Round trips on this link are 14 to 184 ms.
    expect(a.socket!.ledbat.rtt.rtt).toBeLessThan(200)
    expect(b.socket!.ledbat.rtt.rtt).toBeLessThan(200)
  })

  it("does not take the wait for a keep-alive as a round trip", () => {
    // Three packets; the first is lost, every time, and the ACKs of the other two are lost: they time out and wait
    // behind the first (the window after a timeout holds one packet), sent once. The peer's next keep-alive, 29 s
    // later, acknowledges them selectively: that is no round trip of 29 s.
    const pair = new Pair({ loss: 0, delayMs: 20, jitterMs: 0, seed: 1 })
    pair.connect()
    const { a, b } = pair
    pair.runUntil(() => a.socket!.state === "connected" && b.socket?.state === "connected", 1000)
    pair.runUntil(() => false, 100)
    const rtt = a.socket!.ledbat.rtt.rtt!
    expect(rtt).toBeCloseTo(40, 0)
    let first: number | undefined
    let ackLoss = true
    pair.drop = (to, packet) => {
      if (to === "a") return ackLoss
      first ??= packet.type === "data" ? packet.seqNr : undefined
      return packet.seqNr === first
    }
    const sentBefore = a.sent.length
    pair.apply("a", a.socket!.write(bytesOf(2000, 1), pair.now))
    expect(a.sent.slice(sentBefore).map((p) => p.type)).toEqual(["data", "data", "data"])
    pair.runUntil(() => false, 20_000)
    ackLoss = false
    const timeouts = a.socket!.stats.timeouts
    expect(timeouts).toBeGreaterThan(0)
    const heard = a.heardAt
    pair.runUntil(() => a.heardAt > heard, 20_000)
    // A keep-alive from b, with its selective ACK.
    expect(b.sent.at(-1)!.type).toBe("state")
    expect(b.sent.at(-1)!.selectiveAck).toBeDefined()
    expect(a.socket!.stats.timeouts).toBe(timeouts)
    expect(a.socket!.ledbat.rtt.rtt).toBeLessThan(rtt * 1.5)
  })

  it("does not take the wait for a resend as a round trip", () => {
    const pair = new Pair({ loss: 0, delayMs: 20, jitterMs: 0, seed: 1 })
    pair.connect()
    const { a, b } = pair
    pair.runUntil(() => a.socket!.state === "connected", 1000)
    // Grow the window with 200 kB on a clean link: round trips of 40 ms.
    pair.apply("a", a.socket!.write(bytesOf(200_000, 1), pair.now))
    pair.runUntil(() => b.receivedBytes === 200_000, 10_000)
    pair.runUntil(() => false, 100)
    const rtt = a.socket!.ledbat.rtt.rtt!
    expect(rtt).toBeCloseTo(40, 0)
    // A window of data whose ACKs are all lost: it times out, is marked for resending, and the ACK of the first
    // resend acknowledges all of it at once, a second or so after it was sent.
    let dropping = true
    pair.drop = (to, packet) => dropping && to === "a" && packet.type === "state"
    pair.apply("a", a.socket!.write(bytesOf(100_000, 2), pair.now))
    const before = b.receivedBytes
    pair.runUntil(() => b.receivedBytes === before + 100_000, 10_000)
    const resent = a.sent.length
    pair.runUntil(() => a.sent.length > resent, 10_000)
    dropping = false
    pair.runUntil(() => false, 2000)
    expect(a.socket!.ledbat.rtt.rtt).toBeLessThan(rtt * 1.5)
  })
})

/** The socket's send-side counts, read for the invariant check below (they are private to the socket). */
interface SendCounts {
  readonly outstanding: ReadonlyArray<{ readonly acked: boolean; readonly resend: boolean; readonly payload: Uint8Array }>
  readonly inFlightBytes: number
  readonly unackedCount: number
  readonly resendCount: number
}

describe("uTP socket send-side bookkeeping", () => {
  it("bytes in flight, unacknowledged and to-resend counts always match the packets held", () => {
    // 10 % loss, heavy reordering, duplicates, and a receiver that shuts and reopens its window every 3 s.
    const pair = new Pair({ loss: 0.1, delayMs: 20, jitterMs: 30, duplicate: 0.02, seed: 8 })
    pair.connect()
    const { a, b } = pair
    const payload = bytesOf(1024 * 1024, 1)
    let written = false
    let checks = 0
    pair.runUntil(() => b.receivedBytes === payload.length, 300_000, () => {
      if (!written && a.socket!.state === "connected") {
        written = true
        pair.apply("a", a.socket!.write(payload, pair.now))
      }
      if (b.socket?.state === "connected") {
        pair.apply("b", b.socket.setUnread(pair.now % 3000 < 1000 ? RECEIVE_WINDOW : 0, pair.now))
      }
      const counts = a.socket as unknown as SendCounts
      let inFlight = 0
      let unacked = 0
      let resend = 0
      for (const p of counts.outstanding) {
        if (p.acked) continue
        unacked++
        if (p.resend) resend++
        else inFlight += 20 + p.payload.length
      }
      expect([counts.inFlightBytes, counts.unackedCount, counts.resendCount]).toEqual([inFlight, unacked, resend])
      checks++
    })
    byteExact(Buffer.concat(b.received), payload)
    expect(checks).toBeGreaterThan(1000)
  }, 30_000)
})
