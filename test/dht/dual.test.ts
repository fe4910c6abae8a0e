/**
 * The dual-stack DHT (BEP 32) on the memory network: an IPv4 and an IPv6 node per client, bootstrapped over IPv4
 * alone, the IPv6 tables filled through `want`/`nodes6`; lookups and announces on both families.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Logger, LogLevel } from "effect"
import type * as Dht from "../../src/dht/Dht.js"
import { makeDual } from "../../src/dht/dual.js"
import * as MemoryDatagram from "../../src/net/MemoryDatagram.js"
import { asResponse, rawSocket, settled, sha1 } from "./harness.js"

const v4 = (i: number) => `10.2.${i >> 8}.${i & 255}`
const v6 = (i: number) => `fd00::2:${i.toString(16)}`
const at4 = (i: number) => ({ host: v4(i), port: 6881 })
const at6 = (i: number) => ({ host: v6(i), port: 6881 })

const timing = { queryTimeout: Duration.seconds(5), lookupTimeout: Duration.seconds(10) }

/** Client `i`: its IPv4 node bootstrapped from the IPv4 addresses given, its IPv6 node from the IPv6 ones. */
const client = (i: number, bootstrap: ReadonlyArray<{ host: string; port: number }>) =>
  makeDual(
    { ...timing, host: v4(i), port: 6881, bootstrap: bootstrap.filter((b) => !b.host.includes(":")) },
    { ...timing, host: v6(i), port: 6881, bootstrap: bootstrap.filter((b) => b.host.includes(":")) }
  )

describe("dual-stack DHT (BEP 32)", () => {
  it.live("100 clients (200 nodes), IPv6 bootstrapped from one node: IPv6 tables fill; peers of both families are found", () =>
    Effect.gen(function*() {
      const SIZE = 100
      const clients: Array<Dht.Dht["Type"]> = []
      // IPv4 from node 0 and the one before, as in Dht.test.ts; IPv6 from node 0 alone: the rest comes from `nodes6`
      // (answers to our `want`) and IPv6 lookups.
      for (let i = 0; i < SIZE; i++) clients.push(yield* client(i, i === 0 ? [] : [at4(0), at4(i - 1), at6(0)]))
      // Every bootstrap over, and one lookup each on both families to spread the word.
      yield* Effect.forEach(clients, (dht, i) => dht.getPeers(sha1(`warm-up ${i}`), {}), { concurrency: 16 })

      const infoHash = sha1("a dual-stack torrent")
      const A = 23
      const Z = 77
      const announced = yield* clients[A]!.getPeers(infoHash, { announcePort: 51413 })
      const families = announced.closest.map(({ node }) => (node.host.includes(":") ? "ipv6" : "ipv4"))
      expect(families.filter((f) => f === "ipv4")).toHaveLength(8)
      expect(families.filter((f) => f === "ipv6")).toHaveLength(8)
      const found = yield* clients[Z]!.getPeers(infoHash, {})
      expect(found.peers).toContainEqual({ host: v4(A), port: 51413 })
      expect(found.peers).toContainEqual({ host: v6(A), port: 51413 })

      const stats = yield* Effect.forEach(clients, (dht) => dht.stats)
      const sizes6 = stats.map((s) => s.ipv6!.nodes).sort((a, b) => a - b)
      const sizes4 = stats.map((s) => s.nodes - s.ipv6!.nodes).sort((a, b) => a - b)
      // Every IPv6 table holds at least one full bucket, and the median a good part of the network.
      expect(sizes6[0]).toBeGreaterThanOrEqual(8)
      expect(sizes6[SIZE >> 1]).toBeGreaterThanOrEqual(12)
      expect(sizes4[0]).toBeGreaterThanOrEqual(8)
      console.log(`${SIZE} dual clients: IPv4 tables ${sizes4[0]}..${sizes4.at(-1)}, IPv6 ${sizes6[0]}..${sizes6.at(-1)}`)
    }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory), Logger.withMinimumLogLevel(LogLevel.Warning)), 60_000)

  it.effect("want: n4 and n6 in one answer when asked, the socket's own family when not", () =>
    Effect.gen(function*() {
      const first = yield* client(0, [])
      const others = yield* Effect.forEach([1, 2, 3], (i) => client(i, [at4(0), at6(0)]))
      yield* Effect.forEach(others, (dht) => dht.getPeers(sha1("warm"), {}))
      yield* settled(Effect.map(first.stats, (s) => s.ipv6!.nodes), 3)
      const raw = yield* rawSocket
      const target = sha1("anything")
      const both = asResponse(yield* raw.ask(at4(0), { method: "find_node", target, want: ["n4", "n6"] }))
      expect((both.nodes ?? []).map((n) => n.host).sort()).toEqual([1, 2, 3].map(v4))
      expect((both.nodes6 ?? []).map((n) => n.host).sort()).toEqual([1, 2, 3].map(v6))
      const plain = asResponse(yield* raw.ask(at4(0), { method: "get_peers", infoHash: target }))
      expect(plain.nodes).toHaveLength(3)
      expect(plain.nodes6).toBeUndefined()
      const only6 = asResponse(yield* raw.ask(at4(0), { method: "find_node", target, want: ["n6"] }))
      expect(only6.nodes).toBeUndefined()
      expect(only6.nodes6).toHaveLength(3)
    }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory)))

  it.effect("addNode goes to the node of the address's family; without an IPv6 socket the IPv4 node runs alone", () =>
    Effect.gen(function*() {
      const a = yield* client(0, [])
      yield* client(1, [])
      yield* a.addNode({ host: v6(1), port: 6881 })
      expect(yield* settled(Effect.map(a.stats, (s) => s.ipv6!.nodes), 1)).toBe(1)
      expect((yield* a.stats).nodes).toBe(1)
      yield* a.addNode(at4(1))
      expect(yield* settled(Effect.map(a.stats, (s) => s.nodes), 2)).toBe(2)
      // An "IPv6" address that is not one: the IPv6 socket cannot open, and the IPv4 node runs alone.
      const alone = yield* makeDual({ host: v4(5), port: 6881 }, { host: v4(6), port: 6881 })
      expect((yield* alone.stats).ipv6).toBeUndefined()
    }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory)))
})
