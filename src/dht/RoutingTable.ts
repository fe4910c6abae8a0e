/**
 * The DHT routing table (BEP 5): buckets of at most k nodes covering the id space, finer near our own id. Pure
 * bookkeeping: times come in as numbers (ms), and where the BEP says "ping that node" the table says so in its
 * answer and the caller sends the ping, then reports the outcome with `responded` or `failed`.
 *
 * Layout: bucket i (i < last) holds the nodes sharing exactly i leading bits with our id; the last bucket holds
 * those sharing at least `last` bits, our own id's range. Only that bucket splits (when full), so bucket indexes
 * never move and `bucketIndex(own, id)` (capped at the last index) finds a node's bucket.
 *
 * Invariants:
 * - no bucket holds more than k nodes; the table holds at most `maxNodes`, and each bucket's replacement cache at
 *   most `replacements`;
 * - every node, in a bucket or a replacement cache, is in the bucket its id belongs to, and appears once;
 * - no two nodes (table and caches together) share an id or an IP:port; our own id is never held;
 * - with `onePerIp`, no two share a public IP address; with `onePerSubnet`, no two in one bucket (its cache
 *   included) share a public /24 (IPv4) or /64 (IPv6).
 */
import { isExemptAddress, isSecureNodeId, subnetOf } from "./bep42.js"
import { addressKey, type DhtNode, encodeCompactNode } from "./DhtNode.js"
import {
  bucketIndex,
  compareDistance,
  equalIds,
  isNodeId,
  NODE_ID_BITS,
  type NodeId,
  nodeIdHex,
  type RandomBytes,
  randomIdSharing,
  randomIdWithPrefix
} from "./NodeId.js"

/** Kademlia's bucket size; BEP 5: "currently eight". */
export const K = 8
/** A node that answered us this recently is good (BEP 5). */
export const GOOD_FOR_MS = 15 * 60_000
/** A bucket unchanged this long wants a refresh (BEP 5). */
export const REFRESH_AFTER_MS = 15 * 60_000
/** A ping we asked for and heard nothing of (neither `responded` nor `failed`) may be asked for again after this. */
const PING_PATIENCE_MS = 60_000

export interface RoutingTableOptions {
  /** Nodes per bucket. Default `K` (8). */
  readonly k?: number
  /** Waiting newcomers kept per bucket for when a node goes bad. Default 8. */
  readonly replacements?: number
  /** Nodes in all buckets together. Default 1000 (160 full buckets hold 1280; only a table under attack nears that). */
  readonly maxNodes?: number
  /** Failed queries in a row that make a node bad. Default 2: BEP 5 suggests trying once more before discarding. */
  readonly maxFailures?: number
  /** For refresh targets. Default: node:crypto. */
  readonly random?: RandomBytes
  /**
   * At most one node per IP address (ports aside), so one host cannot pose as many nodes. Loopback, private and
   * link-local addresses are exempt (a LAN or a test may run many nodes on one). Default true.
   */
  readonly onePerIp?: boolean
  /**
   * At most one node per public /24 (IPv4) or /64 (IPv6) in each bucket and its replacement cache: one who holds a
   * block of addresses gets one place per bucket, not the bucket (ids near one target all fall in one bucket).
   * Exempt addresses as for `onePerIp`. Default true.
   */
  readonly onePerSubnet?: boolean
  /**
   * Refuse nodes whose id does not match their address under BEP 42 (exempt addresses aside). Default false: many
   * nodes on the DHT do not conform yet, and libtorrent does not enforce it by default either.
   */
  readonly enforceSecureIds?: boolean
}

/**
 * BEP 5: good = answered us in the last 15 minutes, or answered us ever and queried us in the last 15 minutes;
 * bad = failed `maxFailures` queries in a row; questionable = neither.
 */
export type NodeState = "good" | "questionable" | "bad"

export interface NodeStatus {
  readonly node: DhtNode
  readonly state: NodeState
  readonly lastResponse: number | undefined
  readonly lastQuery: number | undefined
  readonly failures: number
  /** In a replacement cache rather than a bucket. */
  readonly cached: boolean
}

export type RefusalReason =
  /** The id is not 20 bytes, the host not an IP literal, or the port not in 1..65535. */
  | "invalid"
  | "own-id"
  /** Another id holds this IP:port (and is not bad). */
  | "address-taken"
  /** This id is held at another IP:port (and is not bad). */
  | "id-taken"
  /** Another node at this IP address (another port) is in the table and not bad (`onePerIp`). */
  | "ip-taken"
  /** Another node of this /24 or /64 is in the bucket or its cache and not bad (`onePerSubnet`). */
  | "subnet-taken"
  /** The id does not match the address under BEP 42 (`enforceSecureIds`). */
  | "insecure-id"

/** What `responded` did with a node; `ping` asks the caller to ping that (questionable) node. */
export type Insertion =
  | { readonly outcome: "added"; readonly replaced?: DhtNode }
  | { readonly outcome: "updated"; readonly ping?: DhtNode }
  | { readonly outcome: "cached"; readonly ping?: DhtNode }
  | { readonly outcome: "refused"; readonly reason: RefusalReason }

/** What `failed` or `remove` did: a node dropped, a waiting one promoted in its place, a node to ping again. */
export interface Eviction {
  readonly removed?: DhtNode
  readonly promoted?: DhtNode
  readonly ping?: DhtNode
}

export interface BucketView {
  /** Leading bits its ids share with ours: exactly this many, or at least this many in the last bucket. */
  readonly shared: number
  readonly nodes: ReadonlyArray<DhtNode>
  readonly replacements: ReadonlyArray<DhtNode>
  readonly lastChanged: number
}

interface Entry {
  readonly node: DhtNode
  readonly address: string
  readonly hex: string
  /** Its public /24 or /64, for `onePerSubnet`; undefined for exempt addresses. */
  readonly subnet: string | undefined
  lastResponse: number | undefined
  lastQuery: number | undefined
  /** The last time we heard from it, or when it was added. */
  seen: number
  failures: number
  /** When we last asked the caller to ping it, until it answers or fails. */
  pingedAt: number | undefined
  cached: boolean
}

interface Bucket {
  readonly nodes: Array<Entry>
  /** Oldest first. */
  readonly replacements: Array<Entry>
  lastChanged: number
}

export class RoutingTable {
  private readonly k: number
  private readonly maxReplacements: number
  private readonly maxNodes: number
  private readonly maxFailures: number
  private readonly random: RandomBytes | undefined
  private readonly table: Array<Bucket>
  private readonly byId = new Map<string, Entry>()
  private readonly byAddress = new Map<string, Entry>()
  /** Entries by IP address alone, for `onePerIp` (exempt addresses are not kept here). */
  private readonly byHost = new Map<string, Entry>()
  private readonly onePerIp: boolean
  private readonly onePerSubnet: boolean
  private readonly enforceSecureIds: boolean
  private count = 0
  /** Nodes refused by `responded`, `queried` and `addUnverified`, by reason (a flood shows here). */
  readonly refused: Record<RefusalReason, number> = {
    "invalid": 0,
    "own-id": 0,
    "address-taken": 0,
    "id-taken": 0,
    "ip-taken": 0,
    "subnet-taken": 0,
    "insecure-id": 0
  }

  constructor(readonly ownId: NodeId, now: number, options: RoutingTableOptions = {}) {
    if (!isNodeId(ownId)) throw new RangeError(`a node id is 20 bytes, got ${ownId.length}`)
    this.k = options.k ?? K
    this.maxReplacements = options.replacements ?? 8
    this.maxNodes = options.maxNodes ?? 1000
    this.maxFailures = options.maxFailures ?? 2
    this.random = options.random
    this.onePerIp = options.onePerIp ?? true
    this.onePerSubnet = options.onePerSubnet ?? true
    this.enforceSecureIds = options.enforceSecureIds ?? false
    this.table = [{ nodes: [], replacements: [], lastChanged: now }]
  }

  /** Nodes in buckets (replacement caches not counted). */
  get size(): number {
    return this.count
  }

  /**
   * A node answered one of our queries (so it is good now). Known: refreshed. New: added to its bucket, splitting
   * our own bucket while it is full; else it replaces a bad node; else it waits in the bucket's replacement cache,
   * and the least recently seen questionable node there is to be pinged (the caller reports the outcome; after
   * `maxFailures` failures it is replaced). When a node we asked to ping answers, the next questionable one is
   * asked for, as long as a newcomer waits.
   */
  responded(node: DhtNode, now: number): Insertion {
    const refusal = this.admit(node)
    if (refusal !== undefined) return { outcome: "refused", reason: this.tally(refusal) }
    const known = this.byId.get(nodeIdHex(node.id))
    if (known !== undefined) {
      const wasPinged = known.pingedAt !== undefined
      known.lastResponse = now
      known.seen = now
      known.failures = 0
      known.pingedAt = undefined
      const bucket = this.bucketOf(known.node.id)
      if (known.cached) {
        // Its bucket may have room since it was cached (a split, a removal).
        this.uncache(bucket, known)
        known.cached = false
        if (this.place(known, now) !== undefined) return { outcome: "added" }
        this.cache(this.bucketOf(known.node.id), known)
        return { outcome: "cached" }
      }
      bucket.lastChanged = now
      return { outcome: "updated", ...(wasPinged ? this.nextPing(bucket, now) : {}) }
    }
    const entry = this.entry(node, now, now)
    const placed = this.place(entry, now)
    if (placed !== undefined) return placed
    const bucket = this.bucketOf(node.id)
    const bad = bucket.nodes.find((e) => this.isBad(e))
    if (bad !== undefined) {
      this.swap(bucket, bad, entry, now)
      return { outcome: "added", replaced: bad.node }
    }
    this.cache(bucket, entry)
    return { outcome: "cached", ...this.nextPing(bucket, now) }
  }

  /**
   * A node we have not heard from (read back from disk): it takes a free place, never displaces one, and stays
   * questionable until it answers. Whether it was added.
   */
  addUnverified(node: DhtNode, now: number): boolean {
    const refusal = this.admit(node)
    if (refusal !== undefined) this.tally(refusal)
    if (refusal !== undefined || this.byId.has(nodeIdHex(node.id))) return false
    return this.place(this.entry(node, undefined, now), now) !== undefined
  }

  /**
   * A node sent us a query (call only for queries without BEP 43's `ro`). Known: noted (a node that ever answered
   * and queries us stays good). Unknown: "ping" when the table has room for it, so that it can be verified and
   * added when it answers; "ignored" when its bucket is full of nodes that are not bad.
   */
  queried(node: DhtNode, now: number): "updated" | "ping" | "ignored" | "refused" {
    const refusal = this.admit(node)
    if (refusal !== undefined) {
      this.tally(refusal)
      return "refused"
    }
    const known = this.byId.get(nodeIdHex(node.id))
    if (known !== undefined) {
      known.lastQuery = now
      known.seen = now
      return "updated"
    }
    return this.hasRoom(node.id) ? "ping" : "ignored"
  }

  /**
   * A node heard of through another (BEP 32: the node of the other family beside us): whether it is worth a ping,
   * being unknown, admissible and with room in its bucket (or a bad node there to replace). Changes nothing.
   */
  worthPinging(node: DhtNode): boolean {
    return this.admit(node) === undefined && !this.byId.has(nodeIdHex(node.id)) && this.hasRoom(node.id)
  }

  private hasRoom(id: NodeId): boolean {
    const index = this.indexOf(id)
    const bucket = this.table[index]!
    const room = this.count < this.maxNodes && (bucket.nodes.length < this.k || this.canSplit(index))
    return room || bucket.nodes.some((e) => this.isBad(e))
  }

  /**
   * A query to `node` went unanswered. Once it has failed `maxFailures` times in a row it is bad: a waiting
   * replacement takes its place (`removed` and `promoted`), or, with none waiting, it stays until a newcomer does.
   * Short of bad, while a newcomer waits, it is to be pinged once more (`ping`). Unknown nodes are ignored.
   */
  failed(node: DhtNode, now: number): Eviction {
    const known = this.byId.get(nodeIdHex(node.id))
    if (known === undefined || known.address !== addressKey(node)) return {}
    known.failures++
    known.pingedAt = undefined
    const bucket = this.bucketOf(known.node.id)
    if (known.cached) {
      if (this.isBad(known)) this.uncache(bucket, known)
      return {}
    }
    if (!this.isBad(known)) {
      if (bucket.replacements.length === 0) return {}
      known.pingedAt = now
      return { ping: known.node }
    }
    const replacement = this.takeReplacement(bucket)
    if (replacement === undefined) return {}
    this.swap(bucket, known, replacement, now)
    return { removed: known.node, promoted: replacement.node }
  }

  /** Drops a node (from a bucket or a replacement cache); a waiting replacement takes a bucket place it frees. */
  remove(id: NodeId, now: number): Eviction {
    const known = this.byId.get(nodeIdHex(id))
    if (known === undefined) return {}
    const bucket = this.bucketOf(id)
    const replacement = known.cached ? undefined : this.takeReplacement(bucket)
    if (replacement === undefined) this.drop(known)
    else this.swap(bucket, known, replacement, now)
    return { removed: known.node, ...(replacement === undefined ? {} : { promoted: replacement.node }) }
  }

  /**
   * The `n` nodes closest to `target`, closest first, from the buckets (not the caches). Bad nodes are left out;
   * with `goodAt`, so is every node not good at that time (BEP 5 answers `find_node` with "the K closest good
   * nodes").
   */
  closest(target: NodeId, n: number, options: { readonly goodAt?: number } = {}): Array<DhtNode> {
    const { goodAt } = options
    const candidates: Array<Entry> = []
    for (const bucket of this.table) {
      for (const entry of bucket.nodes) {
        if (goodAt === undefined ? !this.isBad(entry) : this.stateOf(entry, goodAt) === "good") candidates.push(entry)
      }
    }
    candidates.sort((a, b) => compareDistance(target, a.node.id, b.node.id))
    return candidates.slice(0, Math.max(0, n)).map((entry) => entry.node)
  }

  /**
   * A random target in each bucket not changed for `REFRESH_AFTER_MS`, for a `find_node` lookup (BEP 5's refresh).
   * Starting a refresh counts as a change, so each bucket is handed out at most once per period.
   */
  refreshTargets(now: number): Array<NodeId> {
    const last = this.table.length - 1
    const targets: Array<NodeId> = []
    this.table.forEach((bucket, index) => {
      if (now - bucket.lastChanged < REFRESH_AFTER_MS) return
      bucket.lastChanged = now
      targets.push(
        index < last
          ? randomIdSharing(this.ownId, index, this.random)
          : randomIdWithPrefix(this.ownId, index, this.random)
      )
    })
    return targets
  }

  /** What the table knows of a node, if it holds it. */
  status(id: NodeId, now: number): NodeStatus | undefined {
    const entry = this.byId.get(nodeIdHex(id))
    if (entry === undefined) return undefined
    const { node, lastResponse, lastQuery, failures, cached } = entry
    return { node, state: this.stateOf(entry, now), lastResponse, lastQuery, failures, cached }
  }

  /** Every node in the buckets, bucket by bucket. */
  nodes(): Array<DhtNode> {
    return this.table.flatMap((bucket) => bucket.nodes.map((entry) => entry.node))
  }

  /** The buckets, far end first. */
  buckets(): Array<BucketView> {
    return this.table.map((bucket, shared) => ({
      shared,
      nodes: bucket.nodes.map((entry) => entry.node),
      replacements: bucket.replacements.map((entry) => entry.node),
      lastChanged: bucket.lastChanged
    }))
  }

  // -------------------------------------------------------------------------------------------------------------

  private stateOf(entry: Entry, now: number): NodeState {
    if (this.isBad(entry)) return "bad"
    const { lastResponse, lastQuery } = entry
    if (lastResponse === undefined) return "questionable"
    const recent = (time: number | undefined) => time !== undefined && now - time < GOOD_FOR_MS
    return recent(lastResponse) || recent(lastQuery) ? "good" : "questionable"
  }

  private isBad(entry: Entry): boolean {
    return entry.failures >= this.maxFailures
  }

  private indexOf(id: NodeId): number {
    return Math.min(bucketIndex(this.ownId, id), this.table.length - 1)
  }

  private bucketOf(id: NodeId): Bucket {
    return this.table[this.indexOf(id)]!
  }

  private canSplit(index: number): boolean {
    return index === this.table.length - 1 && this.table.length < NODE_ID_BITS
  }

  private tally(reason: RefusalReason): RefusalReason {
    this.refused[reason]++
    return reason
  }

  /** Why `node` may not enter; a bad node in the way of it is dropped. */
  private admit(node: DhtNode): RefusalReason | undefined {
    if (!isNodeId(node.id) || encodeCompactNode(node) === undefined) return "invalid"
    if (equalIds(node.id, this.ownId)) return "own-id"
    const hex = nodeIdHex(node.id)
    const address = addressKey(node)
    const atAddress = this.byAddress.get(address)
    if (atAddress !== undefined && atAddress.hex !== hex) {
      if (!this.isBad(atAddress)) return "address-taken"
      this.drop(atAddress)
    }
    const withId = this.byId.get(hex)
    if (withId !== undefined && withId.address !== address) {
      if (!this.isBad(withId)) return "id-taken"
      this.drop(withId)
    }
    if (this.enforceSecureIds && !isSecureNodeId(node.id, node.host)) return "insecure-id"
    const atHost = this.onePerIp ? this.byHost.get(node.host) : undefined
    if (atHost !== undefined && atHost.hex !== hex) {
      if (!this.isBad(atHost)) return "ip-taken"
      this.drop(atHost)
    }
    const subnet = this.onePerSubnet ? subnetOf(node.host) : undefined
    if (subnet !== undefined) {
      const bucket = this.bucketOf(node.id)
      const inSubnet = (e: Entry) => e.subnet === subnet && e.hex !== hex
      const neighbour = bucket.nodes.find(inSubnet) ?? bucket.replacements.find(inSubnet)
      if (neighbour !== undefined) {
        if (!this.isBad(neighbour)) return "subnet-taken"
        this.drop(neighbour)
      }
    }
    return undefined
  }

  private entry(node: DhtNode, lastResponse: number | undefined, now: number): Entry {
    const copy = { id: Uint8Array.from(node.id), host: node.host, port: node.port }
    return {
      node: copy,
      address: addressKey(copy),
      hex: nodeIdHex(copy.id),
      subnet: subnetOf(copy.host),
      lastResponse,
      lastQuery: undefined,
      seen: now,
      failures: 0,
      pingedAt: undefined,
      cached: false
    }
  }

  /** Adds `entry` to a free place in its bucket, splitting our own bucket while that is full; else `undefined`. */
  private place(entry: Entry, now: number): Insertion | undefined {
    for (;;) {
      const index = this.indexOf(entry.node.id)
      const bucket = this.table[index]!
      if (this.count >= this.maxNodes) return undefined
      if (bucket.nodes.length < this.k) {
        bucket.nodes.push(entry)
        bucket.lastChanged = now
        this.remember(entry)
        this.count++
        return { outcome: "added" }
      }
      if (!this.canSplit(index)) return undefined
      this.split()
    }
  }

  /** Our own (last) bucket becomes two: those sharing exactly `last` bits stay, the nearer ones move on. */
  private split(): void {
    const last = this.table.length - 1
    const old = this.table[last]!
    const near: Bucket = { nodes: [], replacements: [], lastChanged: old.lastChanged }
    const moves = (entry: Entry) => bucketIndex(this.ownId, entry.node.id) > last
    for (const list of ["nodes", "replacements"] as const) {
      const moving = old[list].filter(moves)
      near[list].push(...moving)
      old[list].splice(0, old[list].length, ...old[list].filter((entry) => !moves(entry)))
    }
    this.table.push(near)
    // The bucket that kept fewer nodes has room for its waiting ones.
    for (const bucket of [old, near]) {
      while (bucket.nodes.length < this.k && this.count < this.maxNodes) {
        const waiting = this.takeReplacement(bucket)
        if (waiting === undefined) break
        waiting.cached = false
        bucket.nodes.push(waiting)
        this.count++
      }
    }
  }

  /** `entry` takes `old`'s place in `bucket` (it may come from the bucket's own cache); `old` is forgotten. */
  private swap(bucket: Bucket, old: Entry, entry: Entry, now: number): void {
    bucket.nodes[bucket.nodes.indexOf(old)] = entry
    entry.cached = false
    this.forget(old)
    this.remember(entry)
    bucket.lastChanged = now
  }

  private cache(bucket: Bucket, entry: Entry): void {
    entry.cached = true
    bucket.replacements.push(entry)
    this.remember(entry)
    if (bucket.replacements.length > this.maxReplacements) this.uncache(bucket, bucket.replacements[0]!)
  }

  private uncache(bucket: Bucket, entry: Entry): void {
    bucket.replacements.splice(bucket.replacements.indexOf(entry), 1)
    this.forget(entry)
  }

  /** The replacement heard from most recently, out of the cache. */
  private takeReplacement(bucket: Bucket): Entry | undefined {
    let best: Entry | undefined
    for (const entry of bucket.replacements) if (best === undefined || entry.seen >= best.seen) best = entry
    if (best !== undefined) bucket.replacements.splice(bucket.replacements.indexOf(best), 1)
    return best
  }

  /** The least recently seen questionable node not already being pinged, when a newcomer waits for a place. */
  private nextPing(bucket: Bucket, now: number): { readonly ping?: DhtNode } {
    if (bucket.replacements.length === 0) return {}
    let oldest: Entry | undefined
    for (const entry of bucket.nodes) {
      if (this.stateOf(entry, now) !== "questionable") continue
      if (entry.pingedAt !== undefined && now - entry.pingedAt < PING_PATIENCE_MS) continue
      if (oldest === undefined || entry.seen < oldest.seen) oldest = entry
    }
    if (oldest === undefined) return {}
    oldest.pingedAt = now
    return { ping: oldest.node }
  }

  /** Removes an entry wherever it is. */
  private drop(entry: Entry): void {
    if (entry.cached) return this.uncache(this.bucketOf(entry.node.id), entry)
    const bucket = this.bucketOf(entry.node.id)
    bucket.nodes.splice(bucket.nodes.indexOf(entry), 1)
    this.forget(entry)
    this.count--
  }

  private remember(entry: Entry): void {
    this.byId.set(entry.hex, entry)
    this.byAddress.set(entry.address, entry)
    if (this.onePerIp && !isExemptAddress(entry.node.host)) this.byHost.set(entry.node.host, entry)
  }

  private forget(entry: Entry): void {
    this.byId.delete(entry.hex)
    this.byAddress.delete(entry.address)
    if (this.byHost.get(entry.node.host) === entry) this.byHost.delete(entry.node.host)
  }
}
