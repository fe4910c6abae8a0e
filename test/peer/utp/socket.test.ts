import { describe, expect, it } from "@effect/vitest"
import type { Packet } from "../../../src/peer/utp/packet.js"
import { MAX_PAYLOAD, UtpSocket, type UtpEvent } from "../../../src/peer/utp/socket.js"
import { bytesOf, Pair, transfer } from "./link.js"

describe("uTP socket", () => {
  it("connects, carries a message and closes both ways on a clean link", () => {
    const payload = bytesOf(10_000, 1)
    const { a, b, received } = transfer(payload, { loss: 0, delayMs: 10, jitterMs: 0, seed: 1 })
    expect(Buffer.compare(received, payload)).toBe(0)
    expect(a.events).toEqual(["connected", "eof", "closed"])
    expect(b.events).toEqual(["connected", ...b.received.map(() => "data"), "eof", "closed"])
    expect(b.received.every((chunk) => chunk.length <= MAX_PAYLOAD)).toBe(true)
  })

  it("a closed socket acknowledges again the DATA and FIN whose ACK was lost", () => {
    // Found by the property test in lossy.test.ts: with delayed ACKs, one ST_STATE acknowledges the peer's last DATA
    // and its FIN; when it is lost, the peer resends the DATA first, which a closed socket used to ignore.
    const pair = new Pair({ loss: 0, delayMs: 20, jitterMs: 0, seed: 1 }, { seqNr: 300, delayedAcks: true })
    pair.connect({ connectionId: 7, delayedAcks: true })
    const { a, b } = pair
    let acksAfterClose = 0
    pair.drop = (to, packet) => to === "b" && packet.type === "state" && a.socket!.state === "closed" && ++acksAfterClose === 1
    pair.runUntil(() => a.socket!.state === "connected", 1000)
    pair.apply("a", a.socket!.close(pair.now))
    pair.runUntil(() => b.events.includes("eof"), 1000)
    pair.apply("b", b.socket!.write(bytesOf(1000, 1), pair.now))
    pair.apply("b", b.socket!.close(pair.now))
    pair.runUntil(() => b.socket!.state === "closed", 60_000)
    // The first lost; the second answers b's resend.
    expect(acksAfterClose).toBe(2)
    expect(Buffer.concat(a.received)).toEqual(Buffer.from(bytesOf(1000, 1)))
    expect(a.events.filter((e) => e !== "data")).toEqual(["connected", "eof", "closed"])
    expect(b.events).toEqual(["connected", "eof", "closed"])
  })

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

describe("uTP socket: memory of written bytes", () => {
  it("says a write is sent once packets hold copies of it; reusing the buffer then spoils nothing, under loss", () => {
    const pair = new Pair({ loss: 0.1, delayMs: 20, jitterMs: 10, seed: 5 })
    pair.connect()
    pair.runUntil(() => pair.a.socket!.state === "connected", 1000)
    // Blocks of a piece, as a seeder writes them: views of one buffer, each reused (zeroed) once reported sent.
    const piece = bytesOf(256 * 1024, 9)
    const expected = Uint8Array.from(piece)
    const block = 16 * 1024
    const sent: Array<number> = []
    for (let begin = 0; begin < piece.length; begin += block) {
      pair.apply("a", pair.a.socket!.write(piece.subarray(begin, begin + block), pair.now, () => {
        sent.push(begin)
        piece.fill(0, begin, begin + block)
      }))
    }
    // Not all at once: most of it waits for the window.
    expect(sent.length).toBeLessThan(piece.length / block)
    expect(pair.runUntil(() => pair.b.receivedBytes >= piece.length, 60_000)).toBe(true)
    // Each block reported once, in order, and what arrived is the original (resent packets included).
    expect(sent).toEqual(Array.from({ length: piece.length / block }, (_, i) => i * block))
    expect(Buffer.concat(pair.b.received).equals(expected)).toBe(true)
    expect(pair.a.socket!.stats.retransmits).toBeGreaterThan(0)
  })

  it("reports bytes refused by a closing socket as sent at once: it keeps nothing", () => {
    const pair = new Pair({ loss: 0, delayMs: 20, jitterMs: 0, seed: 1 })
    pair.connect()
    pair.runUntil(() => pair.a.socket!.state === "connected", 1000)
    pair.apply("a", pair.a.socket!.close(pair.now))
    let sent = 0
    pair.apply("a", pair.a.socket!.write(bytesOf(1000, 1), pair.now, () => sent++))
    expect(sent).toBe(1)
  })
})
