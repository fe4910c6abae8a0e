import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { addressKey, PEER_TTL_MS, PeerStore } from "../../src/dht/index.js"
import { nodeId, peer } from "./arbitraries.js"

const HASH = new Uint8Array(20).fill(0xab)
const OTHER = new Uint8Array(20).fill(0xcd)
const at = (i: number) => ({ host: `10.0.${i >> 8}.${i & 255}`, port: 6881 })
const keys = (peers: ReadonlyArray<{ host: string; port: number }>) => peers.map(addressKey).sort()

describe("PeerStore", () => {
  it("gives back a sample without repeats of the peers announced, at most n", () => {
    fc.assert(
      fc.property(fc.array(peer, { maxLength: 40 }), fc.nat({ max: 50 }), (peers, n) => {
        const store = new PeerStore()
        for (const p of peers) store.announce(HASH, p, 0)
        const distinct = new Set(peers.map(addressKey))
        const sample = store.get(HASH, n, 1)
        expect(sample).toHaveLength(Math.min(n, distinct.size))
        expect(new Set(sample.map(addressKey)).size).toBe(sample.length)
        for (const p of sample) expect(distinct.has(addressKey(p))).toBe(true)
        expect(store.count(HASH, 1)).toBe(distinct.size)
      })
    )
  })

  it("samples every peer sometimes", () => {
    const store = new PeerStore()
    for (let i = 0; i < 10; i++) store.announce(HASH, at(i), 0)
    const picked = new Set<string>()
    for (let i = 0; i < 500; i++) picked.add(addressKey(store.get(HASH, 1, 0)[0]!))
    expect(picked.size).toBe(10)
  })

  it("keeps info-hashes apart and answers nothing for an unknown one", () => {
    const store = new PeerStore()
    store.announce(HASH, at(1), 0)
    store.announce(OTHER, at(2), 0)
    expect(keys(store.get(HASH, 10, 0))).toEqual(keys([at(1)]))
    expect(store.get(new Uint8Array(20), 10, 0)).toEqual([])
    expect(store.infoHashes).toBe(2)
  })

  it("forgets an announce after 30 minutes unless it is renewed", () => {
    const store = new PeerStore()
    store.announce(HASH, at(1), 0)
    store.announce(HASH, at(2), 0)
    store.announce(HASH, at(1), 20 * 60_000)
    expect(store.count(HASH, PEER_TTL_MS - 1)).toBe(2)
    expect(keys(store.get(HASH, 10, PEER_TTL_MS))).toEqual(keys([at(1)]))
    expect(store.count(HASH, 20 * 60_000 + PEER_TTL_MS)).toBe(0)
    expect(store.infoHashes).toBe(0)
  })

  it("keeps at most maxPeersPerHash, the oldest announce making way", () => {
    const store = new PeerStore({ maxPeersPerHash: 3 })
    for (let i = 0; i < 5; i++) store.announce(HASH, at(i), i)
    expect(keys(store.get(HASH, 10, 5))).toEqual(keys([at(2), at(3), at(4)]))
    // A renewed announce counts as new.
    store.announce(HASH, at(2), 6)
    store.announce(HASH, at(9), 7)
    expect(keys(store.get(HASH, 10, 8))).toEqual(keys([at(2), at(4), at(9)]))
  })

  it("refuses new info-hashes while it holds maxInfoHashes, until some expire", () => {
    const store = new PeerStore({ maxInfoHashes: 2 })
    expect(store.announce(HASH, at(1), 0)).toBe(true)
    expect(store.announce(OTHER, at(1), 10)).toBe(true)
    expect(store.announce(new Uint8Array(20), at(1), 20)).toBe(false)
    expect(store.announce(HASH, at(2), 30)).toBe(true)
    // HASH was renewed at 30, OTHER expires first.
    expect(store.announce(new Uint8Array(20), at(1), PEER_TTL_MS + 10)).toBe(true)
    expect(store.count(OTHER, PEER_TTL_MS + 10)).toBe(0)
    expect(store.count(HASH, PEER_TTL_MS + 10)).toBe(1)
  })

  it("answers peers of one address family when asked (BEP 32)", () => {
    const store = new PeerStore()
    store.announce(HASH, at(1), 0)
    store.announce(HASH, { host: "2001:db8::1", port: 1 }, 0)
    expect(store.get(HASH, 10, 0, "ipv6")).toEqual([{ host: "2001:db8::1", port: 1 }])
    expect(store.get(HASH, 10, 0, "ipv4")).toEqual([at(1)])
    expect(store.get(HASH, -1, 0)).toEqual([])
  })

  it("prunes expired announces everywhere", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(nodeId, peer, fc.nat({ max: PEER_TTL_MS * 3 })), { maxLength: 30 }), (events) => {
        const store = new PeerStore()
        const sorted = [...events].sort((a, b) => a[2] - b[2])
        for (const [hash, p, time] of sorted) store.announce(hash, p, time)
        const end = (sorted.at(-1)?.[2] ?? 0) + 1
        store.prune(end)
        const live = new Set(sorted.filter(([, , time]) => end - time < PEER_TTL_MS).map(([hash]) => hash.join()))
        expect(store.infoHashes).toBe(live.size)
      })
    )
  })
})
