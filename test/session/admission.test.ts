import { describe, expect, it } from "@effect/vitest"
import { Admission } from "../../src/session/admission.js"

const bytes = (fill: number, length = 20) => new Uint8Array(length).fill(fill)
const handshake = (infoHash: number, peerId: number) => ({ reserved: bytes(0, 8), infoHash: bytes(infoHash), peerId: bytes(peerId) })

describe("Admission: the checks every handshake passes", () => {
  it("refuses another torrent, ourselves, a banned address, a second connection of one peer id; then the extra check", () => {
    const banned = new Set(["10.0.0.9"])
    const admission = new Admission(bytes(1), bytes(7), (host) => banned.has(host))
    expect(admission.admit("10.0.0.2", handshake(2, 3))).toBe("handshake for another torrent")
    expect(admission.admit("10.0.0.2", handshake(1, 7))).toBe("connected to ourselves")
    expect(admission.admit("10.0.0.9", handshake(1, 3))).toBe("banned")
    expect(admission.admit("10.0.0.2", handshake(1, 3), () => "no BEP 10")).toBe("no BEP 10")
    expect(admission.admit("10.0.0.2", handshake(1, 3))).toBeUndefined()
    expect(admission.admit("10.0.0.3", handshake(1, 3))).toBe("already connected to this peer")
    // Released, its id may come back.
    admission.release(bytes(3))
    expect(admission.admit("10.0.0.3", handshake(1, 3))).toBeUndefined()
  })
})
