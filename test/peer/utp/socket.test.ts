import { describe, expect, it } from "@effect/vitest"
import { decodePacket, encodePacket, type Packet } from "../../../src/peer/utp/packet.js"
import { MAX_PAYLOAD, UtpSocket, type UtpEvent, type UtpOutput } from "../../../src/peer/utp/socket.js"

/** A small seeded PRNG (mulberry32), so a failing run repeats. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

interface LinkOptions {
  readonly loss: number
  /** One-way delay: base plus up to `jitter`, drawn per packet, so packets overtake each other. */
  readonly delayMs: number
  readonly jitterMs: number
  readonly seed: number
}

interface Side {
  socket: UtpSocket | undefined
  received: Array<Uint8Array>
  events: Array<UtpEvent["type"]>
}

/**
 * Two state machines over a simulated link: packets go through the codec, some are dropped, each is delayed by a
 * random amount. Time moves in 1 ms steps, driven here.
 */
const simulate = (payload: Uint8Array, link: LinkOptions, limitMs = 600_000) => {
  const random = prng(link.seed)
  let now = 0
  const inTransit: Array<{ at: number; to: "a" | "b"; bytes: Uint8Array }> = []
  const a: Side = { socket: undefined, received: [], events: [] }
  const b: Side = { socket: undefined, received: [], events: [] }
  let sent = 0
  const send = (to: "a" | "b", packets: ReadonlyArray<Packet>) => {
    for (const packet of packets) {
      sent++
      if (random() < link.loss) continue
      inTransit.push({ at: now + link.delayMs + random() * link.jitterMs, to, bytes: encodePacket(packet) })
    }
  }
  const handle = (side: Side, to: "a" | "b", out: UtpOutput) => {
    for (const event of out.events) {
      side.events.push(event.type)
      if (event.type === "data") side.received.push(event.bytes)
    }
    send(to, out.packets)
  }

  const [initiator, first] = UtpSocket.connect({ connectionId: 0x4242 }, now)
  a.socket = initiator
  handle(a, "b", first)
  let written = false
  for (; now < limitMs; now++) {
    const due = inTransit.filter((p) => p.at <= now)
    for (const packet of due) inTransit.splice(inTransit.indexOf(packet), 1)
    for (const { to, bytes } of due) {
      const decoded = decodePacket(bytes)
      if (typeof decoded === "string") throw new Error(decoded)
      if (to === "b" && b.socket === undefined) {
        if (decoded.type !== "syn") continue
        const [acceptor, out] = UtpSocket.accept(decoded, { seqNr: 0xfff0 }, now) // wraps soon
        b.socket = acceptor
        handle(b, "a", out)
        continue
      }
      const side = to === "a" ? a : b
      handle(side, to === "a" ? "b" : "a", side.socket!.receive(decoded, now))
    }
    if (!written && a.socket.state === "connected") {
      written = true
      handle(a, "b", a.socket.write(payload, now))
      handle(a, "b", a.socket.close(now))
    }
    if (b.events.includes("eof") && !b.events.includes("closed") && b.socket?.state === "connected") {
      handle(b, "a", b.socket.close(now))
    }
    handle(a, "b", a.socket.tick(now))
    if (b.socket !== undefined) handle(b, "a", b.socket.tick(now))
    if (a.events.includes("closed") && b.events.includes("closed")) break
  }
  return { a, b, now, sent, received: Buffer.concat(b.received) }
}

const bytesOf = (length: number, seed: number) => {
  const random = prng(seed)
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (random() * 256) | 0
  return bytes
}

describe("uTP socket", () => {
  it("connects, carries a message and closes both ways on a clean link", () => {
    const payload = bytesOf(10_000, 1)
    const { a, b, received } = simulate(payload, { loss: 0, delayMs: 10, jitterMs: 0, seed: 1 })
    expect(Buffer.compare(received, payload)).toBe(0)
    expect(a.events).toEqual(["connected", "eof", "closed"])
    expect(b.events).toEqual(["connected", ...b.received.map(() => "data"), "eof", "closed"])
    expect(b.received.every((chunk) => chunk.length <= MAX_PAYLOAD)).toBe(true)
  })

  it("moves 4 MiB byte-exact over a link with 5 % loss and reordering", () => {
    const payload = bytesOf(4 * 1024 * 1024, 2)
    const { a, b, received, now } = simulate(payload, { loss: 0.05, delayMs: 20, jitterMs: 15, seed: 7 })
    expect(received.length).toBe(payload.length)
    expect(Buffer.compare(received, payload)).toBe(0)
    expect(b.events.filter((e) => e !== "data")).toEqual(["connected", "eof", "closed"])
    expect(a.events).toContain("closed")
    expect(now).toBeLessThan(600_000)
  }, 60_000)

  it("a RESET ends the connection, and an unanswered SYN times out after MAX_TIMEOUTS", () => {
    const [a, [syn]] = [UtpSocket.connect({ connectionId: 7 }, 0)].map(([s, out]) => [s, out.packets] as const)[0]!
    const [b, synAck] = UtpSocket.accept(syn!, { seqNr: 100 }, 5)
    expect(a.receive(synAck.packets[0]!, 10).events).toEqual([{ type: "connected" }])
    const reset: Packet = { ...synAck.packets[0]!, type: "reset" }
    expect(a.receive(reset, 20).events).toEqual([{ type: "reset" }])
    expect(a.state).toBe("reset")
    expect(a.write(new Uint8Array(10), 30).packets).toEqual([])
    expect(b.state).toBe("synRecv")

    const [lonely] = UtpSocket.connect({ connectionId: 9 }, 0)
    const resent: Array<Packet> = []
    const events: Array<UtpEvent> = []
    // Timeouts at 1, 3, 7, 15, 31, 63, 123, 183 s (the RTO doubling to its 60 s cap); the ninth, at 243 s, gives up.
    for (let now = 0; now < 400_000 && lonely.state !== "closed"; now += 100) {
      const out = lonely.tick(now)
      resent.push(...out.packets)
      events.push(...out.events)
    }
    expect(events).toEqual([{ type: "timedOut" }])
    expect(resent.length).toBe(8)
    expect(resent.every((p) => p.type === "syn" && p.seqNr === 1 && p.connectionId === 9)).toBe(true)
  })
})
