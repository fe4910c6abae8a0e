import { describe, expect, it } from "@effect/vitest"
import type { Packet } from "../../../src/peer/utp/packet.js"
import { DELAYED_ACK_PACKETS, RECEIVE_WINDOW, UtpSocket } from "../../../src/peer/utp/socket.js"
import { bytesOf, transfer } from "./link.js"

/** An acceptor (receive id 101) after a SYN from an initiator with id 100 whose SYN was sequence number 1. */
const acceptor = (delayedAcks: boolean) => {
  const [, syn] = UtpSocket.connect({ connectionId: 100 }, 0)
  const [b] = UtpSocket.accept(syn.packets[0]!, { seqNr: 500, delayedAcks }, 1)
  return b
}

const data = (seqNr: number, type: Packet["type"] = "data"): Packet => ({
  type,
  connectionId: 101,
  timestamp: 0,
  timestampDifference: 0,
  windowSize: RECEIVE_WINDOW,
  seqNr,
  ackNr: 499,
  payload: new Uint8Array(type === "data" ? 100 : 0)
})

const acks = (out: { readonly packets: ReadonlyArray<Packet> }) => out.packets.map((p) => [p.type, p.ackNr])

describe("uTP delayed ACKs", () => {
  it("off (the default): every DATA gets its own ST_STATE", () => {
    const b = acceptor(false)
    expect(acks(b.receive(data(2), 10))).toEqual([["state", 2]])
    expect(acks(b.receive(data(3), 10))).toEqual([["state", 3]])
    expect(acks(b.flushAck(10))).toEqual([])
  })

  it("on: one ACK per DELAYED_ACK_PACKETS in-order packets, the rest at flushAck", () => {
    const b = acceptor(true)
    for (let seq = 2; seq < 2 + DELAYED_ACK_PACKETS - 1; seq++) expect(acks(b.receive(data(seq), 10))).toEqual([])
    const last = 2 + DELAYED_ACK_PACKETS - 1
    expect(acks(b.receive(data(last), 10))).toEqual([["state", last]])
    expect(acks(b.receive(data(last + 1), 10))).toEqual([])
    expect(b.nextTimeout()).toBeLessThanOrEqual(10)
    expect(acks(b.flushAck(11))).toEqual([["state", last + 1]])
    expect(acks(b.flushAck(11))).toEqual([])
    // A caller that forgets flushAck: the next tick sends it.
    expect(acks(b.receive(data(last + 2), 20))).toEqual([])
    expect(acks(b.tick(40))).toEqual([["state", last + 2]])
  })

  it("on: a gap, a packet that fills it, a duplicate and a FIN are acknowledged at once", () => {
    const b = acceptor(true)
    // 2 lost: 3 is past a gap.
    const gap = b.receive(data(3), 10)
    expect(acks(gap)).toEqual([["state", 1]])
    expect(gap.packets[0]!.selectiveAck).toBeDefined()
    // 2 fills it.
    expect(acks(b.receive(data(2), 11))).toEqual([["state", 3]])
    // 3 again.
    expect(acks(b.receive(data(3), 12))).toEqual([["state", 3]])
    expect(acks(b.receive(data(4, "fin"), 13))).toEqual([["state", 4]])
  })

  for (const loss of [0, 0.05, 0.1]) {
    it(`on: 2 MiB byte-exact at ${loss * 100} % loss, with far fewer ACKs on a clean link`, () => {
      const payload = bytesOf(2 * 1024 * 1024, 4)
      const link = { loss, delayMs: 20, jitterMs: loss === 0 ? 0 : 20, duplicate: loss === 0 ? 0 : 0.01, seed: 5 }
      const delayed = transfer(payload, link, 300_000, { delayedAcks: true })
      expect(Buffer.compare(delayed.received, payload)).toBe(0)
      expect(delayed.a.events).toEqual(["connected", "eof", "closed"])
      expect(delayed.b.events.filter((e) => e !== "data")).toEqual(["connected", "eof", "closed"])
      if (loss === 0) {
        const every = transfer(payload, link, 300_000, { delayedAcks: false })
        const states = (side: typeof delayed.b) => side.sent.filter((p) => p.type === "state").length
        const dataPackets = delayed.a.sent.filter((p) => p.type === "data").length
        expect(states(every.b)).toBeGreaterThanOrEqual(dataPackets)
        expect(states(delayed.b)).toBeLessThan(dataPackets * 0.6)
        // And no slower for it.
        expect(delayed.now).toBeLessThanOrEqual(every.now * 1.1)
      }
    }, 30_000)
  }
})
