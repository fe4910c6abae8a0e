/**
 * A dual-stack DHT (BEP 32): an IPv4 node and an IPv6 node side by side, each with its own socket, routing table
 * and saved table, seen by the session as one `Dht`. Each answers a querier's `want` for the other family from the
 * other's table, and each bootstraps with `want: n4 n6` and hands the other family's nodes it hears of to the other
 * node (pinged where its table has room). Lookups and announces run on both at once.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Datagram, Endpoint } from "../net/Datagram.js"
import { addressKey, familyOf } from "./DhtNode.js"
import { Dht, type DhtConfig, type DhtError, type DhtStats, type FamilyLink, makeNode } from "./Dht.js"
import type { LookupResult } from "./lookup.js"

/** The two nodes' results as one: each family's closest nodes, and the peers of both without repeats. */
const merge = (a: LookupResult, b: LookupResult): LookupResult => {
  const seen = new Set(a.peers.map(addressKey))
  return { closest: [...a.closest, ...b.closest], peers: [...a.peers, ...b.peers.filter((p) => !seen.has(addressKey(p)))] }
}

const combine = (v4: DhtStats, v6: DhtStats): DhtStats => ({
  ...v4,
  nodes: v4.nodes + v6.nodes,
  pendingQueries: v4.pendingQueries + v6.pendingQueries,
  lookups: v4.lookups + v6.lookups,
  peersFound: v4.peersFound + v6.peersFound,
  queriesReceived: v4.queriesReceived + v6.queriesReceived,
  dropped: v4.dropped + v6.dropped,
  nodesRefused: v4.nodesRefused + v6.nodesRefused,
  ipv6: {
    nodes: v6.nodes,
    port: v6.port,
    nodeId: v6.nodeId,
    ...(v6.externalAddress === undefined ? {} : { externalAddress: v6.externalAddress })
  }
})

/**
 * The two nodes as one Dht. Should the IPv6 socket not open (a host without IPv6), the IPv4 node runs alone and a
 * debug line says why; a failure of the IPv4 node fails the whole.
 */
export const makeDual = (
  ipv4: Partial<DhtConfig>,
  ipv6: Partial<DhtConfig>
): Effect.Effect<Dht["Type"], DhtError, Datagram | Scope.Scope> =>
  Effect.gen(function*() {
    const link: FamilyLink = {}
    const v4 = yield* makeNode({ ...ipv4, family: "ipv4" }, link)
    const started = yield* makeNode({ ...ipv6, family: "ipv6" }, link).pipe(Effect.either)
    if (started._tag === "Left") {
      yield* Effect.logDebug(`no IPv6 DHT node: ${started.left.message}`)
      return v4
    }
    const v6 = started.right
    const nodeOf = (address: Endpoint) => (familyOf(address.host) === "ipv6" ? v6 : v4)
    return Dht.of({
      nodeId: v4.nodeId,
      port: v4.port,
      getPeers: (infoHash, options) =>
        Effect.map(
          Effect.all([v4.getPeers(infoHash, options), v6.getPeers(infoHash, options)], { concurrency: 2 }),
          ([a, b]) => merge(a, b)
        ),
      addNode: (address) => nodeOf(address).addNode(address),
      stats: Effect.map(Effect.all([v4.stats, v6.stats]), ([a, b]) => combine(a, b)),
      externalAddressKnown: (address) => nodeOf({ host: address, port: 0 }).externalAddressKnown(address)
    })
  })

/** The dual-stack node as a layer: `ipv4` and `ipv6` settings each (port, host, bootstrap, saved table). */
export const layerDual = (ipv4: Partial<DhtConfig>, ipv6: Partial<DhtConfig>): Layer.Layer<Dht, DhtError, Datagram> =>
  Layer.scoped(Dht, makeDual(ipv4, ipv6))
