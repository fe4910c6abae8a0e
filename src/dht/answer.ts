/**
 * How a DHT node answers the queries it receives (BEP 5). Synchronous bookkeeping over the node's state: the rate
 * limit, the routing table, tokens and announced peers; sending the answer (and the ping) is the caller's.
 */
import type { Endpoint } from "../net/Datagram.js"
import type { AddressFamily, DhtNode } from "./DhtNode.js"
import { KrpcErrorCode, type KrpcMessage, type KrpcQuery, type KrpcResponse, type Want } from "./krpc.js"
import { equalIds, type NodeId } from "./NodeId.js"
import type { PeerStore } from "./peerStore.js"
import type { RateLimit } from "./rateLimit.js"
import type { Counters, Incoming } from "./rpc.js"
import { K, type RoutingTable } from "./RoutingTable.js"
import type { Tokens } from "./tokens.js"

/** Peers in one `get_peers` answer: 50 compact IPv4 peers are 400 bytes, well within BEP 32's 1024. */
export const MAX_ANSWER_VALUES = 50

export interface NodeState {
  readonly ownId: NodeId
  /** The node's family: its table's nodes go out as `nodes` (IPv4) or `nodes6` (IPv6), unless `want` says more. */
  readonly family: AddressFamily
  readonly table: RoutingTable
  /**
   * The other family's closest good nodes (the node beside us, in a dual-stack client), for a querier whose BEP 32
   * `want` asks for them; none: such a `want` gets our own family only.
   */
  readonly otherFamily?: (target: NodeId, count: number, now: number) => ReadonlyArray<DhtNode>
  readonly tokens: Tokens
  readonly peers: PeerStore
  readonly limit: RateLimit
  readonly counters: Counters
}

export interface Answer {
  /** What to send back to the querier; none for a query over the rate limit. */
  readonly reply?: KrpcMessage
  /** A querier the table has room for: ping it, and it is added if it answers. */
  readonly ping?: DhtNode
}

const error = (transactionId: Uint8Array, code: number, message: string): KrpcMessage => ({
  kind: "error",
  transactionId,
  code,
  message
})

/** The answer to an incoming query (or to one we could not read), at `now`. */
export const answer = (state: NodeState, item: Incoming, now: number): Answer => {
  const { from } = item
  if (!state.limit.allow(from.host, now)) {
    state.counters.dropped++
    return {}
  }
  if (item.kind === "malformed") {
    const code = item.error.reason === "UnknownMethod" ? KrpcErrorCode.methodUnknown : KrpcErrorCode.protocol
    return { reply: error(item.transactionId, code, item.error.detail) }
  }
  const { query } = item
  state.counters.queriesReceived++
  const node: DhtNode = { id: query.id, host: from.host, port: from.port }
  // BEP 43: a read-only querier does not answer queries, so it is no candidate for the table.
  const ping = query.readOnly !== true && state.table.queried(node, now) === "ping" ? { ping: node } : {}
  return { reply: reply(state, query, from, now), ...ping }
}

const reply = (state: NodeState, query: KrpcQuery, from: Endpoint, now: number): KrpcMessage => {
  const { table, tokens, peers } = state
  const response = (values: Omit<KrpcResponse, "kind" | "transactionId" | "id" | "ip">): KrpcResponse => ({
    kind: "response",
    transactionId: query.transactionId,
    id: state.ownId,
    // BEP 42: the querier's address as we see it, so that it can learn its external IP.
    ip: { host: from.host, port: from.port },
    ...values
  })
  // The K closest good nodes of a family, less the querier itself (it knows where it is).
  const notQuerier = (nodes: ReadonlyArray<DhtNode>) => nodes.filter((node) => !equalIds(node.id, query.id)).slice(0, K)
  const own: Want = state.family === "ipv4" ? "n4" : "n6"
  const closest = (target: NodeId, want: ReadonlyArray<Want> | undefined) => {
    // BEP 32: without `want`, the family of the socket the query came in on.
    const wanted = want === undefined || want.length === 0 ? [own] : want
    const lists: { nodes?: ReadonlyArray<DhtNode>; nodes6?: ReadonlyArray<DhtNode> } = {}
    for (const family of new Set(wanted)) {
      const key = family === "n4" ? "nodes" : "nodes6"
      if (family === own) lists[key] = notQuerier(table.closest(target, K + 1, { goodAt: now }))
      else if (state.otherFamily !== undefined) lists[key] = notQuerier(state.otherFamily(target, K + 1, now))
    }
    // A want naming only the family we do not run still gets ours: an answer must carry a node list.
    return lists.nodes === undefined && lists.nodes6 === undefined
      ? { [own === "n4" ? "nodes" : "nodes6"]: notQuerier(table.closest(target, K + 1, { goodAt: now })) }
      : lists
  }
  switch (query.method) {
    case "ping":
      return response({})
    case "find_node":
      return response(closest(query.target, query.want))
    case "get_peers": {
      const token = tokens.issue(from.host, now)
      const values = peers.get(query.infoHash, MAX_ANSWER_VALUES, now, state.family)
      // The closest nodes beside any values, so a lookup goes on closing in while it collects peers.
      const nodes = closest(query.infoHash, query.want)
      return response(values.length > 0 ? { values, ...nodes, token } : { ...nodes, token })
    }
    case "announce_peer": {
      if (!tokens.check(from.host, query.token, now)) {
        return error(query.transactionId, KrpcErrorCode.protocol, "bad token")
      }
      const port = query.impliedPort === true ? from.port : query.port
      if (!peers.announce(query.infoHash, { host: from.host, port }, now)) {
        return error(query.transactionId, KrpcErrorCode.server, "too many torrents announced here")
      }
      return response({})
    }
  }
}
