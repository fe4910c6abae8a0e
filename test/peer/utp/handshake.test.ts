import { describe, expect, it } from "@effect/vitest"
import { UtpSocket } from "../../../src/peer/utp/socket.js"

/**
 * The sequence numbers of the connection handshake as libutp and libtorrent number them (BEP 29 leaves it
 * implicit): the acceptor's ST_STATE answering the SYN takes no sequence number, so its first DATA carries the
 * same one; the initiator's first DATA follows its SYN.
 */
describe("uTP handshake numbering (interoperable with libutp and libtorrent)", () => {
  it("an acceptor's first DATA carries its ST_STATE's sequence number", () => {
    const [initiator, syn] = UtpSocket.connect({ connectionId: 1000, seqNr: 1 }, 0)
    const [acceptor, state] = UtpSocket.accept(syn.packets[0]!, { seqNr: 9790 }, 0)
    expect(state.packets[0]).toMatchObject({ type: "state", seqNr: 9790, ackNr: 1, connectionId: 1000 })
    expect(initiator.receive(state.packets[0]!, 1).events).toEqual([{ type: "connected" }])
    // The initiator speaks first (BitTorrent's handshake); that connects the acceptor.
    const hello = initiator.write(Uint8Array.of(0), 1)
    expect(acceptor.receive(hello.packets[0]!, 2).events).toContainEqual({ type: "connected" })

    const reply = acceptor.write(Uint8Array.of(1, 2, 3), 2)
    expect(reply.packets[0]).toMatchObject({ type: "data", seqNr: 9790 })
    const received = initiator.receive(reply.packets[0]!, 3)
    expect(received.events).toEqual([{ type: "data", bytes: Uint8Array.of(1, 2, 3) }])
    expect(received.packets.at(-1)).toMatchObject({ type: "state", ackNr: 9790, connectionId: 1001 })
  })

  it("the initiator's first DATA follows its SYN, and acknowledges the ST_STATE's number less one", () => {
    const [initiator, syn] = UtpSocket.connect({ connectionId: 7, seqNr: 1 }, 0)
    const [, state] = UtpSocket.accept(syn.packets[0]!, { seqNr: 500 }, 0)
    initiator.receive(state.packets[0]!, 1)
    expect(initiator.write(Uint8Array.of(9), 2).packets[0]).toMatchObject({ type: "data", seqNr: 2, ackNr: 499 })
  })
})
