/**
 * Iterative lookups on the network: drives the pure `Lookup` with real queries, each in a fiber of its own
 * (supervised by the lookup's scope, so none outlives it), until the lookup is done or its time is up.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import type { Endpoint } from "../net/Datagram.js"
import { type AddressFamily, addressKey, type DhtNode } from "./DhtNode.js"
import type { Want } from "./krpc.js"
import type { DhtError } from "./DhtError.js"
import { Lookup, type LookupResult } from "./lookup.js"
import { type NodeId, nodeIdHex } from "./NodeId.js"
import type { QueryBody, Reply } from "./rpc.js"
import { K, type RoutingTable } from "./RoutingTable.js"

export interface SearchContext {
  readonly ownId: NodeId
  /** Which node list of an answer the lookup follows: `nodes` (IPv4) or `nodes6` (IPv6). */
  readonly family: AddressFamily
  readonly table: RoutingTable
  /** A query to a node, its outcome already reported to the routing table. */
  readonly ask: (node: DhtNode, body: QueryBody) => Effect.Effect<Reply, DhtError>
  readonly queryTimeout: Duration.Duration
  /** How long one lookup may run. */
  readonly lookupTimeout: Duration.Duration
}

export interface SearchOptions {
  /** Nodes to start from besides the closest in the table (what the bootstrap nodes answered). */
  readonly seeds?: ReadonlyArray<DhtNode>
  /** Peers known before asking anyone (announced to us): the first batch, and part of the result. */
  readonly known?: ReadonlyArray<Endpoint>
  /** Called with each batch of new peers, in order, as they come. */
  readonly onPeers?: (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void>
  /** BEP 32 `want` sent with each query: ask for the other family's nodes too. */
  readonly want?: ReadonlyArray<Want>
  /** Called with the other family's nodes that answers carry (for the node of that family beside us). */
  readonly onOtherNodes?: (nodes: ReadonlyArray<DhtNode>) => Effect.Effect<void>
}

/** A query that holds one of the α places for this long at most, so one slow node does not stall a lookup. */
const SLOW_AFTER_MS = 2000

/** A `find_node` or `get_peers` lookup for `target`, started from the closest nodes in the table. */
export const search = (
  context: SearchContext,
  method: "find_node" | "get_peers",
  target: NodeId,
  options: SearchOptions = {}
): Effect.Effect<LookupResult> =>
  Effect.scoped(Effect.gen(function*() {
    const { ask, table } = context
    const queries = yield* FiberSet.make()
    const wake = yield* Queue.sliding<void>(1)
    const slowAfterMs = Math.min(SLOW_AFTER_MS, Duration.toMillis(context.queryTimeout))
    const seeds = [...table.closest(target, 2 * K), ...(options.seeds ?? [])]
    const lookup = new Lookup(target, seeds, { ownId: context.ownId, slowAfterMs })
    const want = options.want === undefined ? {} : { want: options.want }
    const body: QueryBody = method === "find_node" ? { method, target, ...want } : { method, infoHash: target, ...want }
    const [ours, theirs] = context.family === "ipv4" ? (["nodes", "nodes6"] as const) : (["nodes6", "nodes"] as const)
    const onOther = options.onOtherNodes

    const queryOne = (node: DhtNode) =>
      ask(node, body).pipe(
        Effect.match({
          onFailure: () => lookup.failed(node),
          onSuccess: ({ response }) => {
            lookup.answered(
              { id: response.id, host: node.host, port: node.port },
              response[ours] ?? [],
              response.values ?? [],
              response.token
            )
            return response[theirs]
          }
        }),
        Effect.flatMap((other) => (onOther !== undefined && other !== undefined && other.length > 0 ? onOther(other) : Effect.void)),
        Effect.zipRight(Queue.offer(wake, undefined))
      )

    const start = yield* Clock.currentTimeMillis
    const deadline = start + Duration.toMillis(context.lookupTimeout)
    const known = options.known ?? []
    const seen = new Set(known.map(addressKey))
    if (options.onPeers !== undefined && known.length > 0) yield* options.onPeers(known)
    let delivered = 0
    // Each turn waits for an answer or for a query to turn slow; the deadline ends it in any case.
    for (;;) {
      const peers = lookup.result().peers
      if (options.onPeers !== undefined && peers.length > delivered) {
        const fresh = peers.slice(delivered).filter((peer) => !seen.has(addressKey(peer)))
        delivered = peers.length
        if (fresh.length > 0) yield* options.onPeers(fresh)
      }
      const now = yield* Clock.currentTimeMillis
      if (lookup.done || now >= deadline) break
      for (const node of lookup.next(now)) yield* FiberSet.run(queries, queryOne(node))
      if (lookup.inFlight === 0) break // nothing to wait for (cannot happen while the lookup is not done)
      yield* Queue.take(wake).pipe(Effect.timeout(Math.min(slowAfterMs, deadline - now)), Effect.option)
    }
    const found = lookup.result()
    const result = { ...found, peers: [...known, ...found.peers.filter((peer) => !seen.has(addressKey(peer)))] }
    const took = (yield* Clock.currentTimeMillis) - start
    yield* Effect.logDebug(
      `${method} ${nodeIdHex(target)}: ${result.closest.length} nodes, ${result.peers.length} peers, ` +
        `${lookup.queried} queries, ${took} ms${lookup.done ? "" : " (out of time)"}`
    )
    return result
  }))
