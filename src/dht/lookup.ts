/**
 * An iterative Kademlia lookup (BEP 5's `find_node` and `get_peers` searches) as a pure state machine: the caller
 * sends the queries `next` hands out, and reports each outcome with `answered` or `failed` (a timeout is the
 * caller's to decide). Time comes in as numbers (ms).
 *
 * The shortlist holds the nodes heard of, closest to the target first. At most `alpha` queries are in flight at
 * once (a query older than `slowAfterMs` stops counting, so one slow node does not stall the search, and its late
 * answer is still taken), and only the `k` closest nodes that have not failed are queried: a farther node is asked
 * only once a closer one fails. The lookup is done when those `k` closest have all answered (nothing closer can
 * turn up), or when `maxQueries` have been sent and none is in flight.
 *
 * Invariants: the shortlist is sorted by distance and holds at most `maxCandidates` nodes; no node (by id or by
 * IP:port) is queued twice, even after it fell off the list; each node is queried at most once; at most one node per
 * public IP address is ever queued (`onePerIp`), and at most one per public /24 or /64 (`onePerSubnet`).
 */
import type { PeerAddress } from "../wire/compactPeer.js"
import { isExemptAddress, subnetOf } from "./bep42.js"
import { addressKey, type DhtNode } from "./DhtNode.js"
import { compareDistance, equalIds, isNodeId, type NodeId, nodeIdHex } from "./NodeId.js"
import { K } from "./RoutingTable.js"

export interface LookupOptions {
  /** How many closest nodes the search converges on. Default `K` (8). */
  readonly k?: number
  /** Queries in flight at once. Default 3. */
  readonly alpha?: number
  /** Shortlist length; the farthest nodes fall off past it. Default 64. */
  readonly maxCandidates?: number
  /** Peers (`values`) collected; more are ignored. Default 500. */
  readonly maxPeers?: number
  /** Queries sent in all, so that a stream of ever-closer nodes that never answer cannot keep a search alive. */
  readonly maxQueries?: number
  /** A query in flight this long no longer holds one of the `alpha` places. Default 2000 ms. */
  readonly slowAfterMs?: number
  /** Our own id, never queried. */
  readonly ownId?: NodeId
  /**
   * At most one node per IP address (ports aside; loopback, private and link-local addresses exempt), the first
   * heard of: one host answering with many of its own ports cannot fill the shortlist. Default true.
   */
  readonly onePerIp?: boolean
  /**
   * At most one node per public /24 (IPv4) or /64 (IPv6), the first heard of: one who holds a block of addresses
   * cannot fill the shortlist either (two honest nodes in one /24 among the closest to a target are rare). Default
   * true.
   */
  readonly onePerSubnet?: boolean
}

export interface LookupResult {
  /** The `k` closest nodes that answered, closest first, with the token each gave (for `announce_peer`). */
  readonly closest: ReadonlyArray<{ readonly node: DhtNode; readonly token?: Uint8Array }>
  /** The peers found (`values`), without repeats, at most `maxPeers`. */
  readonly peers: ReadonlyArray<PeerAddress>
}

interface Candidate {
  readonly node: DhtNode
  readonly address: string
  state: "fresh" | "pending" | "answered" | "failed"
  token?: Uint8Array
}

export class Lookup {
  private readonly k: number
  private readonly alpha: number
  private readonly maxCandidates: number
  private readonly maxPeers: number
  private readonly maxQueries: number
  private readonly slowAfterMs: number
  private readonly ownId: NodeId | undefined
  /** Closest to the target first. */
  private readonly shortlist: Array<Candidate> = []
  /** Address keys and id hex of every node ever queued. */
  private readonly seen = new Set<string>()
  /** Hosts with a node queued, for `onePerIp`. */
  private readonly hosts = new Set<string>()
  private readonly onePerIp: boolean
  /** Public /24s and /64s with a node queued, for `onePerSubnet`. */
  private readonly subnets = new Set<string>()
  private readonly onePerSubnet: boolean
  /** Queries in flight by address, with when they were sent (kept for nodes that fell off the shortlist). */
  private readonly pending = new Map<string, { readonly candidate: Candidate; readonly sentAt: number }>()
  private readonly peers: Array<PeerAddress> = []
  private readonly peerKeys = new Set<string>()
  private sent = 0

  constructor(readonly target: NodeId, seeds: ReadonlyArray<DhtNode>, options: LookupOptions = {}) {
    this.k = options.k ?? K
    this.alpha = options.alpha ?? 3
    this.maxCandidates = Math.max(options.maxCandidates ?? 64, this.k)
    this.maxPeers = options.maxPeers ?? 500
    this.maxQueries = options.maxQueries ?? 128
    this.slowAfterMs = options.slowAfterMs ?? 2000
    this.ownId = options.ownId
    this.onePerIp = options.onePerIp ?? true
    this.onePerSubnet = options.onePerSubnet ?? true
    for (const node of seeds) this.add(node)
  }

  /** Queries sent so far. */
  get queried(): number {
    return this.sent
  }

  /** Queries sent and not yet answered or failed. */
  get inFlight(): number {
    return this.pending.size
  }

  /** The nodes to query now (possibly none); each is marked in flight. */
  next(now: number): Array<DhtNode> {
    const slow = (sentAt: number) => now - sentAt >= this.slowAfterMs
    let active = 0
    for (const { sentAt } of this.pending.values()) if (!slow(sentAt)) active++
    const out: Array<DhtNode> = []
    let window = 0
    for (const candidate of this.shortlist) {
      if (window >= this.k || active >= this.alpha || this.sent >= this.maxQueries) break
      if (candidate.state === "failed") continue
      // A slow query gives up its place in the window too, so a farther node may be asked meanwhile.
      if (candidate.state === "pending" && slow(this.pending.get(candidate.address)!.sentAt)) continue
      window++
      if (candidate.state !== "fresh") continue
      candidate.state = "pending"
      this.pending.set(candidate.address, { candidate, sentAt: now })
      this.sent++
      active++
      out.push(candidate.node)
    }
    return out
  }

  /**
   * `node` (its id as it gave it in the response) answered with closer `nodes`, peers in `values` and a `token`.
   * Ignored unless a query to its address is in flight. A node that answers under another id than the one we
   * queued it with counts as failed (its place in the shortlist was wrong), though what it sent is still used.
   */
  answered(
    node: DhtNode,
    nodes: ReadonlyArray<DhtNode>,
    values: ReadonlyArray<PeerAddress> = [],
    token?: Uint8Array
  ): void {
    const query = this.settle(node)
    if (query === undefined) return
    if (equalIds(query.node.id, node.id)) {
      query.state = "answered"
      if (token !== undefined) query.token = Uint8Array.from(token)
    } else {
      query.state = "failed"
    }
    for (const found of nodes) this.add(found)
    for (const peer of values) {
      const key = addressKey(peer)
      if (this.peers.length >= this.maxPeers || this.peerKeys.has(key)) continue
      this.peerKeys.add(key)
      this.peers.push({ host: peer.host, port: peer.port })
    }
  }

  /** The query to `node` went unanswered (or was answered with an error). */
  failed(node: DhtNode): void {
    const query = this.settle(node)
    if (query !== undefined) query.state = "failed"
  }

  /** Whether the search has converged (see the module comment). */
  get done(): boolean {
    if (this.sent >= this.maxQueries) return this.pending.size === 0
    let window = 0
    for (const candidate of this.shortlist) {
      if (window >= this.k) break
      if (candidate.state === "failed") continue
      if (candidate.state !== "answered") return false
      window++
    }
    return true
  }

  /** What the search found so far (final once `done`). */
  result(): LookupResult {
    const closest = this.shortlist
      .filter((candidate) => candidate.state === "answered")
      .slice(0, this.k)
      .map(({ node, token }) => (token === undefined ? { node } : { node, token }))
    return { closest, peers: [...this.peers] }
  }

  private settle(node: DhtNode): Candidate | undefined {
    const address = addressKey(node)
    const query = this.pending.get(address)
    if (query === undefined) return undefined
    this.pending.delete(address)
    return query.candidate
  }

  /** Queues a node heard of, in distance order, unless seen before, ours, or beyond a full shortlist. */
  private add(node: DhtNode): void {
    if (!isNodeId(node.id) || !Number.isInteger(node.port) || node.port < 1 || node.port > 0xffff) return
    if (this.ownId !== undefined && equalIds(node.id, this.ownId)) return
    const address = addressKey(node)
    const hex = nodeIdHex(node.id)
    if (this.seen.has(address) || this.seen.has(hex)) return
    const oneOfHost = this.onePerIp && !isExemptAddress(node.host)
    if (oneOfHost && this.hosts.has(node.host)) return
    const subnet = this.onePerSubnet ? subnetOf(node.host) : undefined
    if (subnet !== undefined && this.subnets.has(subnet)) return
    this.seen.add(address)
    this.seen.add(hex)
    if (oneOfHost) this.hosts.add(node.host)
    if (subnet !== undefined) this.subnets.add(subnet)
    // Binary search for the first candidate farther than `node`.
    let low = 0
    let high = this.shortlist.length
    while (low < high) {
      const middle = (low + high) >> 1
      if (compareDistance(this.target, this.shortlist[middle]!.node.id, node.id) < 0) low = middle + 1
      else high = middle
    }
    if (low >= this.maxCandidates) return
    const copy = { id: Uint8Array.from(node.id), host: node.host, port: node.port }
    this.shortlist.splice(low, 0, { node: copy, address, state: "fresh" })
    if (this.shortlist.length > this.maxCandidates) this.shortlist.pop()
  }
}
