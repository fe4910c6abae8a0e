/**
 * BEP 6 choke semantics on one link driven by hand (see `linkHarness`): with the Fast extension a choke releases
 * none of our requests (they stay until rejected or served), allowed-fast pieces are asked for while choked, and a
 * block that comes after a plain BEP 3 choke released its request is kept while still needed, not wasted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Bitfield, BLOCK_SIZE } from "../../src/piece/index.js"
import { CHOKE, encodeAllowedFast, encodeBitfield, encodeReject, HAVE_ALL, UNCHOKE } from "../../src/wire/index.js"
import { makeSwarmTorrent } from "./fixtures.js"
import { makeLinkHarness } from "./linkHarness.js"

/** 40 pieces of 32 KiB (two blocks each). */
const fixture = makeSwarmTorrent({ pieceLength: 32768, seed: 11, files: [{ path: ["a.bin"], length: 40 * 32768 }] })

const pieceOf = (key: string) => Number(key.split("/")[0])

describe("choke with the Fast extension (BEP 6)", () => {
  it("keeps requests outstanding through a choke until each is served or rejected; serves allowed-fast while choked", () => {
    const h = makeLinkHarness(fixture, { capabilities: ["fast", "extensions"] })
    h.receive(HAVE_ALL, UNCHOKE)
    const before = h.requested()
    expect(before.length).toBeGreaterThanOrEqual(16)
    const outstanding = h.swarm.picker.outstanding(h.link)
    expect(outstanding).toBe(before.length)

    h.receive(CHOKE)
    // Nothing released, nothing asked anew while choked without allowed-fast pieces.
    expect(h.swarm.picker.outstanding(h.link)).toBe(outstanding)
    expect(h.requested()).toEqual(before)

    // One comes after the choke: it was still asked for, so kept, not wasted.
    const [first, second] = before.map((key) => key.split("/").map(Number) as [number, number])
    h.block(first![0], first![1])
    expect(h.swarm.downloaded).toBe(BLOCK_SIZE)
    expect(h.swarm.wasted).toBe(0)
    // One is rejected: released for anyone.
    h.receive(encodeReject(second![0], second![1], BLOCK_SIZE))
    expect(h.swarm.picker.outstanding(h.link)).toBe(outstanding - 2)

    // An allowed-fast piece we had not asked for: requested while still choked.
    const asked = new Set(before.map(pieceOf))
    const fresh = Array.from({ length: fixture.torrent.pieceCount }, (_, i) => i).find((i) => !asked.has(i))!
    const sentBefore = h.sent.length
    h.receive(encodeAllowedFast(fresh))
    const newRequests = h.sent.slice(sentBefore).filter((m) => m.type === "request")
    expect(newRequests.length).toBeGreaterThan(0)
    expect(newRequests.every((m) => m.type === "request" && m.index === fresh)).toBe(true)
    expect(h.link.peerChoking).toBe(true)
    h.swarm.picker.checkInvariants()
  })
})

describe("choke without the Fast extension (BEP 3)", () => {
  it("releases every request at a choke, and keeps a block that was in flight and is still needed", () => {
    const h = makeLinkHarness(fixture, { capabilities: [] })
    h.receive(encodeBitfield(Bitfield.full(fixture.torrent.pieceCount).toBytes()), UNCHOKE)
    const before = h.requested()
    expect(before.length).toBeGreaterThanOrEqual(16)
    h.receive(CHOKE)
    expect(h.swarm.picker.outstanding(h.link)).toBe(0)
    const [index, begin] = before[0]!.split("/").map(Number) as [number, number]
    h.block(index, begin)
    expect(h.swarm.downloaded).toBe(BLOCK_SIZE)
    expect(h.swarm.wasted).toBe(0)
    // A second copy is of no use: wasted.
    h.block(index, begin)
    expect(h.swarm.wasted).toBe(BLOCK_SIZE)
    h.swarm.picker.checkInvariants()
  })
})
