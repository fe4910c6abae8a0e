/**
 * What a hostile or broken peer can send a uTP socket (issue #11): unknown versions and types, sequence numbers out
 * of the window, ACKs of data never sent, RESETs with the wrong connection id, a flood of packets ahead of a gap,
 * data past the window. Each is dropped or bounded, never a throw or memory without bound. (A zero window held
 * forever is in window.test.ts: the connection ends after ZERO_WINDOW_LIMIT_MS.)
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { decodePacket, encodePacket, type Packet, VERSION } from "../../../src/peer/utp/packet.js"
import { MAX_OUTSTANDING, MAX_PAYLOAD, MAX_UNREAD, RECEIVE_WINDOW, UtpSocket } from "../../../src/peer/utp/socket.js"
import { seqAdd } from "../../../src/peer/utp/seq.js"
import { packetArb } from "./arbitraries.js"

/** `a` (receive id 100) connected to `b` (receive id 101) by hand, no link: `b`'s first sequence number is 500. */
const connected = () => {
  const [a, syn] = UtpSocket.connect({ connectionId: 100 }, 0)
  const [b, synAck] = UtpSocket.accept(syn.packets[0]!, { seqNr: 500 }, 1)
  a.receive(synAck.packets[0]!, 2)
  return { a, b, synAck: synAck.packets[0]! }
}

/**
 * A packet from `a` to `b` as `a` would send it after the handshake: b's ST_STATE was 500 and took no sequence
 * number (so `a` acknowledges 499), a's SYN was 1.
 */
const toB = (fields: Partial<Packet>): Packet => ({
  type: "data",
  connectionId: 101,
  timestamp: 0,
  timestampDifference: 0,
  windowSize: RECEIVE_WINDOW,
  seqNr: 2,
  ackNr: 499,
  payload: new Uint8Array(0),
  ...fields
})

const dataEvents = (out: { readonly events: ReadonlyArray<{ readonly type: string }> }) =>
  out.events.filter((e) => e.type === "data").length

describe("uTP socket, bad input", () => {
  it("unknown versions and types never reach the socket: the codec refuses them", () => {
    const valid = encodePacket(toB({ payload: new Uint8Array(10) }))
    for (let version = 0; version < 16; version++) {
      if (version === VERSION) continue
      const bytes = Uint8Array.from(valid)
      bytes[0] = (bytes[0]! & 0xf0) | version
      expect(decodePacket(bytes)).toMatch(/version/)
    }
    for (let type = 5; type < 16; type++) {
      const bytes = Uint8Array.from(valid)
      bytes[0] = (type << 4) | VERSION
      expect(decodePacket(bytes)).toMatch(/type/)
    }
  })

  it("a packet with another connection id is dropped, a RESET included", () => {
    const { b } = connected()
    for (const connectionId of [100, 102, 0, 0xffff]) {
      for (const type of ["data", "fin", "state", "reset"] as const) {
        expect(b.receive(toB({ type, connectionId, payload: new Uint8Array(5) }), 10)).toEqual({ packets: [], events: [] })
      }
    }
    expect(b.state).toBe("synRecv")
    // The right id: delivered.
    expect(dataEvents(b.receive(toB({ payload: new Uint8Array(5) }), 11))).toBe(1)
  })

  it("an ACK of data never sent is dropped: nothing is taken as acknowledged, and its data is not delivered", () => {
    const { a } = connected()
    const sent = a.write(new Uint8Array(4 * MAX_PAYLOAD), 10).packets
    expect(sent.length).toBeGreaterThan(0)
    const last = sent.at(-1)!.seqNr
    // b acknowledges everything a sent, and one more: a has not sent that one.
    const forged = toB({ type: "state", connectionId: 100, seqNr: 501, ackNr: seqAdd(last, 1) })
    expect(a.receive(forged, 12)).toEqual({ packets: [], events: [] })
    expect(a.receive({ ...forged, type: "data", payload: new Uint8Array(7) }, 13)).toEqual({ packets: [], events: [] })
    expect(a.receive({ ...forged, ackNr: seqAdd(last, 20_000) }, 14)).toEqual({ packets: [], events: [] })
    // Or from long before anything a sent.
    expect(a.receive({ ...forged, ackNr: seqAdd(last, -5000) }, 15)).toEqual({ packets: [], events: [] })
    // Nothing was acknowledged: at the timeout, the first packet is sent again.
    const resent = a.tick(10 + 1000).packets
    expect(resent.map((p) => p.seqNr)).toEqual([sent[0]!.seqNr])
    // The true ACK is taken.
    expect(a.receive({ ...forged, ackNr: last }, 1100).events).toEqual([])
    expect(a.tick(3000).packets.filter((p) => p.type === "data" && p.seqNr <= last)).toEqual([])
  })

  it("a selective ACK past what was sent names nothing", () => {
    const { a } = connected()
    const sent = a.write(new Uint8Array(2 * MAX_PAYLOAD), 10).packets
    const first = sent[0]!.seqNr
    // ack_nr just before our first: bits for everything after it, well past what we sent.
    const sack = new Uint8Array(32).fill(0xff)
    a.receive({ ...toB({ type: "state", connectionId: 100, seqNr: 501, ackNr: seqAdd(first, -1) }), selectiveAck: sack }, 20)
    // first + 1 and on were (truly) selectively acknowledged; first was not, and is what times out.
    expect(a.tick(2000).packets.map((p) => p.seqNr)).toEqual([first])
  })

  it("data out of the window is neither delivered nor buffered", () => {
    const { b } = connected()
    // Far ahead: past what the reorder buffer reaches.
    for (const ahead of [MAX_OUTSTANDING, MAX_OUTSTANDING + 1, 20_000, 32_767]) {
      const out = b.receive(toB({ seqNr: seqAdd(1, ahead), payload: new Uint8Array(100) }), 10)
      expect(dataEvents(out)).toBe(0)
      expect(b.buffered).toBe(0)
    }
    // Behind: a duplicate, acknowledged again (our ACK may have been lost), not delivered.
    expect(dataEvents(b.receive(toB({ seqNr: 2, payload: new Uint8Array(100) }), 11))).toBe(1)
    for (const behind of [0, 1, 1000, 32_000]) {
      const out = b.receive(toB({ seqNr: seqAdd(2, -behind), payload: new Uint8Array(100) }), 12)
      expect(dataEvents(out)).toBe(0)
      expect(out.packets.map((p) => [p.type, p.ackNr])).toEqual([["state", 2]])
    }
  })

  it("nothing past the peer's FIN is delivered, and a FIN out of reach does not end the stream", () => {
    const { b } = connected()
    const types = (out: { readonly events: ReadonlyArray<{ readonly type: string }> }) => out.events.map((e) => e.type)
    // A FIN further ahead than the reorder buffer reaches: ignored.
    expect(types(b.receive(toB({ type: "fin", seqNr: seqAdd(1, MAX_OUTSTANDING + 10) }), 10))).toEqual(["connected"])
    // DATA 4 past the FIN at 3, both ahead of a gap; then 2 fills the gap: 2 and the end, not 4.
    expect(types(b.receive(toB({ seqNr: 4, payload: new Uint8Array(10) }), 11))).toEqual([])
    expect(types(b.receive(toB({ type: "fin", seqNr: 3 }), 12))).toEqual([])
    expect(types(b.receive(toB({ seqNr: 2, payload: new Uint8Array(10) }), 13))).toEqual(["data", "eof"])
    // More after the end: dropped.
    expect(types(b.receive(toB({ seqNr: 5, payload: new Uint8Array(10) }), 14))).toEqual([])
    expect(types(b.receive(toB({ seqNr: 4, payload: new Uint8Array(10) }), 15))).toEqual([])
  })

  it("a flood of packets ahead of a gap holds at most RECEIVE_WINDOW bytes", () => {
    const { b } = connected()
    let largestWindow = 0
    for (let ahead = 2; ahead < 3 * MAX_OUTSTANDING; ahead++) {
      const out = b.receive(toB({ seqNr: seqAdd(1, ahead), payload: new Uint8Array(MAX_PAYLOAD).fill(ahead & 0xff) }), 10)
      expect(dataEvents(out)).toBe(0)
      largestWindow = Math.max(largestWindow, out.packets.at(-1)?.windowSize ?? 0)
    }
    expect(b.buffered).toBeLessThanOrEqual(RECEIVE_WINDOW)
    expect(b.buffered).toBeGreaterThan(RECEIVE_WINDOW - MAX_PAYLOAD)
    // The gap filled: what was held comes out in order, and nothing more.
    const out = b.receive(toB({ seqNr: 2, payload: new Uint8Array(MAX_PAYLOAD) }), 11)
    const delivered = out.events.flatMap((e) => (e.type === "data" ? [e.bytes] : []))
    expect(delivered.length).toBe(1 + Math.floor(RECEIVE_WINDOW / MAX_PAYLOAD))
    expect(delivered.slice(1).every((bytes, i) => bytes[0] === ((i + 2) & 0xff))).toBe(true)
    expect(b.buffered).toBe(0)
  })

  it("in-order data past MAX_UNREAD is dropped: the sender ignores our zero window", () => {
    const { b } = connected()
    b.setUnread(MAX_UNREAD, 10)
    const out = b.receive(toB({ seqNr: 2, payload: new Uint8Array(100) }), 11)
    expect(dataEvents(out)).toBe(0)
    expect(out.packets.map((p) => [p.type, p.ackNr, p.windowSize])).toEqual([["state", 1, 0]])
    // Consumed: taken again.
    b.setUnread(0, 12)
    expect(dataEvents(b.receive(toB({ seqNr: 2, payload: new Uint8Array(100) }), 13))).toBe(1)
  })

  it("any packets at all, right connection id or not, never throw and never grow memory past its bounds", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(packetArb, fc.boolean()), { maxLength: 60 }), (packets) => {
        const { a, b } = connected()
        a.write(new Uint8Array(10 * MAX_PAYLOAD), 10)
        let now = 20
        for (const [packet, ours] of packets) {
          for (const [socket, id] of [[a, 100], [b, 101]] as const) {
            const out = socket.receive(ours ? { ...packet, connectionId: id } : packet, now)
            expect(out.packets.length).toBeLessThanOrEqual(MAX_OUTSTANDING)
            socket.tick((now += 50))
            expect(socket.buffered).toBeLessThanOrEqual(RECEIVE_WINDOW)
          }
        }
      }),
      { numRuns: 300 }
    )
  })
})
