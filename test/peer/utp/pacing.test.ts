import { describe, expect, it } from "@effect/vitest"
import { MAX_BURST, MAX_PAYLOAD, MIN_PAYLOAD, UtpSocket } from "../../../src/peer/utp/socket.js"

/** `a` connected to `b` by hand; `a`'s window opened wide, as after a long clean transfer. */
const connectedWide = () => {
  const [a, syn] = UtpSocket.connect({ connectionId: 100 }, 0)
  const [b, synAck] = UtpSocket.accept(syn.packets[0]!, { seqNr: 500 }, 1)
  a.receive(synAck.packets[0]!, 2)
  a.ledbat.cwnd = 4 * 1024 * 1024
  return { a, b }
}

describe("uTP pacing", () => {
  it("a write far larger than MAX_BURST packets leaves MAX_BURST at once; the rest follow ACKs and ticks", () => {
    const { a, b } = connectedWide()
    const first = a.write(new Uint8Array(200 * MAX_PAYLOAD), 10)
    expect(first.packets.filter((p) => p.type === "data")).toHaveLength(MAX_BURST)
    // An ACK of the burst releases the next one.
    let ack
    for (const p of first.packets) ack = b.receive(p, 11).packets.at(-1) ?? ack
    ack ??= b.flushAck(11).packets.at(-1)
    const second = a.receive(ack!, 12)
    expect(second.packets.filter((p) => p.type === "data")).toHaveLength(MAX_BURST)
    // Without an ACK, the next tick sends what is held back.
    expect(a.tick(13).packets.filter((p) => p.type === "data")).toHaveLength(MAX_BURST)
  })
})

describe("uTP packet sizes (BEP 29: adapted to the link)", () => {
  it("a small window is cut into four packets; an open one sends full MAX_PAYLOAD packets", () => {
    const [a, syn] = UtpSocket.connect({ connectionId: 100 }, 0)
    const [, synAck] = UtpSocket.accept(syn.packets[0]!, { seqNr: 500 }, 1)
    a.receive(synAck.packets[0]!, 2)
    const small = a.write(new Uint8Array(100_000), 10).packets.filter((p) => p.type === "data")
    expect(small).toHaveLength(4)
    for (const p of small) expect(p.payload.length).toBeLessThan(MAX_PAYLOAD)
    const { a: wide } = connectedWide()
    const full = wide.write(new Uint8Array(100_000), 10).packets.filter((p) => p.type === "data")
    for (const p of full) expect(p.payload.length).toBe(MAX_PAYLOAD)
  })

  it("never below MIN_PAYLOAD, however small the window", () => {
    const { a } = connectedWide()
    a.ledbat.cwnd = 150
    const packets = a.write(new Uint8Array(10_000), 10).packets.filter((p) => p.type === "data")
    expect(packets[0]!.payload.length).toBe(MIN_PAYLOAD)
  })
})
