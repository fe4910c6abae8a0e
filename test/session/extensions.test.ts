import { describe, expect, it } from "@effect/vitest"
import { PEX_INTERVAL_MS, PEX_MAX_PEERS, PEX_MIN_GAP_MS, PeerExtensions, PexSender } from "../../src/session/extensions.js"
import { decodePexMessage, encodePexMessage, type PexPeer, WireError } from "../../src/wire/index.js"

const peer = (i: number): PexPeer => ({ host: `10.0.${i >> 8}.${i & 255}`, port: 6881, flags: 0 })
const swarmOf = (count: number, from = 0) =>
  new Map(Array.from({ length: count }, (_, i) => peer(from + i)).map((p) => [`${p.host}:${p.port}`, p]))
const decoded = (payload: Uint8Array | undefined) => {
  expect(payload).toBeDefined()
  const message = decodePexMessage(payload!, 1000)
  if (message instanceof WireError) throw message
  return message
}

describe("PexSender", () => {
  it("sends at once, then at most once a minute, never more than 50 added, never the peer itself", () => {
    const sender = new PexSender()
    const swarm = swarmOf(60)
    const first = decoded(sender.next(0, swarm, "10.0.0.0:6881"))
    expect(first.added).toHaveLength(PEX_MAX_PEERS)
    expect(first.added.map((p) => p.host)).not.toContain("10.0.0.0")
    expect(sender.next(PEX_INTERVAL_MS - 1, swarm, "10.0.0.0:6881")).toBeUndefined()
    const second = decoded(sender.next(PEX_INTERVAL_MS, swarm, "10.0.0.0:6881"))
    expect(second.added).toHaveLength(9)
    expect(second.dropped).toEqual([])
  })

  it("tells of peers gone, and sends nothing when nothing changed", () => {
    const sender = new PexSender()
    sender.next(0, swarmOf(3), "")
    expect(sender.next(PEX_INTERVAL_MS, swarmOf(3), "")).toBeUndefined()
    const later = decoded(sender.next(PEX_INTERVAL_MS * 2, swarmOf(2, 1), ""))
    expect(later.added).toEqual([])
    expect(later.dropped).toEqual([{ host: "10.0.0.0", port: 6881 }])
  })
})

describe("PeerExtensions", () => {
  const pex = (count: number) =>
    encodePexMessage({ added: [...swarmOf(count).values()], dropped: [] })

  it("takes one PEX message per interval and at most 50 peers of it; a flood is dropped and counted", () => {
    const extensions = new PeerExtensions()
    const first = extensions.gotPex(pex(80), 1000)
    expect(first).toHaveLength(PEX_MAX_PEERS)
    expect(extensions.gotPex(pex(3), 1000 + PEX_MIN_GAP_MS - 1)).toEqual([])
    expect(extensions.gotPex(pex(3), 1000 + PEX_MIN_GAP_MS - 1)).toEqual([])
    expect(extensions.pexDropped).toBe(2)
    expect(extensions.gotPex(pex(3), 1000 + PEX_MIN_GAP_MS)).toHaveLength(3)
  })

  it("drops and counts a malformed PEX message, which does not use up the interval", () => {
    const extensions = new PeerExtensions()
    expect(extensions.gotPex(new TextEncoder().encode("d5:added5:abcdee"), 0)).toEqual([])
    expect(extensions.gotPex(new TextEncoder().encode("garbage"), 0)).toEqual([])
    expect(extensions.pexDropped).toBe(2)
    expect(extensions.gotPex(pex(1), 0)).toHaveLength(1)
  })
})
