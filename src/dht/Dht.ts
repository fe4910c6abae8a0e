/**
 * The DHT node (BEP 5): a UDP socket speaking KRPC, a routing table kept fresh, answers to other nodes' queries,
 * and iterative `get_peers` lookups for the session. One node speaks one family, IPv4 or IPv6 (BEP 32); `makeDual`
 * (dual.ts) runs one of each, each answering BEP 32's `want` from the other's table and bootstrapping it.
 *
 * Every fiber belongs to the service's scope: the loop answering queries, the bootstrap and refresh loop, the table
 * saves, pings (one per address at most, in a FiberMap) and lookups (in a FiberSet, each query of a lookup in a
 * FiberSet of its own). Memory is bounded by the caps of the parts: queries waiting for answers
 * (`maxPendingQueries`), incoming queries waiting to be answered, IPs tracked by the rate limit, the table, the
 * announced peers, and each lookup's shortlist.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { isIP } from "node:net"
import type { Datagram, Endpoint } from "../net/Datagram.js"
import { answer, type NodeState } from "./answer.js"
import { AddressVotes, nextSecureId, reseeded } from "./externalAddress.js"
import { MAX_VALUES } from "./krpc.js"
import { type DhtConfig, resolveConfig } from "./DhtConfig.js"
import { DhtError } from "./DhtError.js"
import { addressKey, type DhtNode, familyOf } from "./DhtNode.js"
import type { LookupResult } from "./lookup.js"
import { isNodeId, type NodeId, nodeIdHex, randomNodeId } from "./NodeId.js"
import { PeerStore } from "./peerStore.js"
import { RateLimit } from "./rateLimit.js"
import { type Counters, makeRpc, type QueryBody, type Reply } from "./rpc.js"
import { RoutingTable } from "./RoutingTable.js"
import { search, type SearchContext, type SearchOptions } from "./search.js"
import { decodeRoutingTable, encodeRoutingTable } from "./tableFile.js"
import { Tokens } from "./tokens.js"

export { DEFAULT_BOOTSTRAP, type DhtConfig, type DhtTableStore, defaultDhtConfig } from "./DhtConfig.js"
export { DhtError, type DhtErrorReason } from "./DhtError.js"

export interface DhtStats {
  /** Nodes in the routing table's buckets. */
  readonly nodes: number
  /** Our queries waiting for answers. */
  readonly pendingQueries: number
  /** Lookups started (bootstrap, refreshes and `getPeers`). */
  readonly lookups: number
  /** Peers handed to `getPeers` callers, counted per lookup. */
  readonly peersFound: number
  /** Well-formed queries from other nodes (over the rate limit or not). */
  readonly queriesReceived: number
  /** Packets thrown away: malformed, unsolicited or from the wrong address, over the rate limit or a queue. */
  readonly dropped: number
  /**
   * Nodes the routing table turned away for sharing an IP address, a /24 or /64 in one bucket, an id or an address
   * with a node it holds, or (when enforced) for a BEP 42 id that does not fit: one host posing as many shows here.
   */
  readonly nodesRefused: number
  /** The bound UDP port. */
  readonly port: number
  /** Our node id, in hex. */
  readonly nodeId: string
  /** Our external address as most answering nodes see it (BEP 42 `ip`), once enough agree. */
  readonly externalAddress?: string
  /** The IPv6 node's own figures, in a dual-stack client (the others above are both nodes' together). */
  readonly ipv6?: { readonly nodes: number; readonly port: number; readonly nodeId: string; readonly externalAddress?: string }
}

/** What a node offers the node of the other family beside it (BEP 32, dual-stack). */
export interface FamilyPeer {
  /** Its closest good nodes to `target`, for an answer whose querier `want`s that family. */
  readonly closest: (target: NodeId, count: number, now: number) => ReadonlyArray<DhtNode>
  /** Nodes of its family heard of through us: pinged (bounded, as strangers' queries are), added if they answer. */
  readonly learn: (nodes: ReadonlyArray<DhtNode>) => Effect.Effect<void>
}

/** Where the two nodes of a dual-stack client find each other; each registers itself under its family. */
export type FamilyLink = { ipv4?: FamilyPeer; ipv6?: FamilyPeer }

export interface GetPeersOptions {
  /** Announce this TCP port to the closest nodes once the lookup is done (`announce_peer`, implied_port off). */
  readonly announcePort?: number
  /** Called with each batch of new peers, in order, as the lookup finds them. */
  readonly onPeers?: (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void>
}

export class Dht extends Context.Tag("bt/Dht")<Dht, {
  readonly nodeId: Uint8Array
  /** The bound UDP port. */
  readonly port: number
  /**
   * An iterative `get_peers` for `infoHash` (α = 3, k = 8), started once the first bootstrap is over. `onPeers`
   * gets each batch of new peers as they come. When the lookup is done, with `announcePort`, an `announce_peer` goes
   * to each of the k closest nodes that gave a token (and is waited for, up to the query timeout). Bounded by
   * `lookupTimeout` and the lookup's query budget; resolves with what was found.
   */
  readonly getPeers: (infoHash: Uint8Array, options: GetPeersOptions) => Effect.Effect<LookupResult>
  /** A node learned elsewhere (a peer's BEP 5 `port` message): pinged in the background, added if it answers. */
  readonly addNode: (address: Endpoint) => Effect.Effect<void>
  readonly stats: Effect.Effect<DhtStats>
  /**
   * Our external address as learned elsewhere (the gateway port mapping asked, a majority of peers): taken as the
   * node's own vote would be, so a non-conforming id is replaced from the next start (BEP 42). Another family's, or
   * an exempt (private, loopback) address, changes nothing.
   */
  readonly externalAddressKnown: (address: string) => Effect.Effect<void>
}>() {}

/** The most nodes of our family taken from one answer to the node beside us. */
const LEARN_PER_ANSWER = 8

/** A node to query: an id when we know it (from the table or a lookup), none for an address from elsewhere. */
type Contact = Endpoint & { readonly id?: NodeId }

/** A background loop that dies of a bug says so (a forked fiber's defect is otherwise silent). */
const logDefects = (what: string) => <A, E, R>(loop: Effect.Effect<A, E, R>) =>
  Effect.tapDefect(loop, (cause) => Effect.logError(`the DHT stopped ${what}`, cause))

/** The saved table, or a fresh id and an empty table when there is none or it is damaged. */
const loadTable = (config: DhtConfig, now: number): Effect.Effect<RoutingTable> =>
  Effect.gen(function*() {
    const saved = config.table === undefined ? Option.none() : yield* config.table.load
    if (Option.isSome(saved)) {
      const table = decodeRoutingTable(saved.value, now)
      if (Either.isRight(table)) {
        yield* Effect.logDebug(`routing table loaded: ${table.right.size} nodes`)
        return table.right
      }
      yield* Effect.logWarning(`the saved DHT routing table is damaged (${table.left}); starting afresh`)
    }
    return new RoutingTable(randomNodeId(), now)
  })

export const make = (
  config: Partial<DhtConfig> = {}
): Effect.Effect<Dht["Type"], DhtError, Datagram | Scope.Scope> => makeNode(config, undefined)

/** A node of `config.family`; with `link`, one half of a dual-stack pair (see `makeDual`). */
export const makeNode = (
  config: Partial<DhtConfig>,
  link: FamilyLink | undefined
): Effect.Effect<Dht["Type"], DhtError, Datagram | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = resolveConfig(config)
    if (settings instanceof DhtError) return yield* settings
    const family = settings.family
    const otherFamily = family === "ipv4" ? "ipv6" : "ipv4"
    const other = () => link?.[otherFamily]
    const started = yield* Clock.currentTimeMillis
    const table = yield* loadTable(settings, started).pipe(Effect.annotateLogs("dht", "table"))
    const ownId = table.ownId
    const counters: Counters = { queriesReceived: 0, dropped: 0 }
    const state: NodeState = {
      ownId,
      family,
      ...(link === undefined ? {} : {
        otherFamily: (target: NodeId, count: number, now: number) => other()?.closest(target, count, now) ?? []
      }),
      table,
      tokens: new Tokens(started),
      peers: new PeerStore(),
      limit: new RateLimit(settings.queriesPerSecondPerIp),
      counters
    }
    const totals = { lookups: 0, peersFound: 0 }
    const queryTimeout = Duration.decode(settings.queryTimeout)
    const rpc = yield* makeRpc({
      ownId,
      family,
      host: settings.host ?? (family === "ipv4" ? "0.0.0.0" : "::"),
      port: settings.port,
      queryTimeout,
      maxPending: settings.maxPendingQueries,
      counters
    })
    const annotate = Effect.annotateLogs("dht", addressKey(rpc.local))
    const pings = yield* FiberMap.make<string>()
    const lookups = yield* FiberSet.make<LookupResult>()
    const ready = yield* Deferred.make<void>()

    /** Pings `node` (once at a time per address), in the background. */
    const ping = (node: Contact): Effect.Effect<void> =>
      FiberMap.run(
        pings,
        addressKey(node),
        ask(node, { method: "ping" }).pipe(Effect.catchAll((error) => Effect.logDebug(error.message))),
        { onlyIfMissing: true }
      ).pipe(Effect.asVoid)

    /** A node answered: the table takes note, and may want a questionable node pinged. */
    const heard = (node: DhtNode) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const insertion = table.responded(node, now)
        return "ping" in insertion && insertion.ping !== undefined ? ping(insertion.ping) : Effect.void
      })

    /**
     * Each answer's BEP 42 `ip` is a vote on our external address. Once enough agree and our id does not conform to
     * it, a conforming id is drawn for the next start (the table is saved under it); this run keeps its id, as
     * changing it mid-run would empty the routing table.
     */
    const votes = new AddressVotes()
    let nextId: NodeId | undefined
    const settleOn = (external: string) =>
      Effect.suspend(() => {
        if (nextId !== undefined || familyOf(external) !== family) return Effect.void
        nextId = nextSecureId(ownId, external, () => randomNodeId())
        return nextId === undefined
          ? Effect.void
          : Effect.logDebug(`external address ${external}: the next start uses the BEP 42 id ${nodeIdHex(nextId)}`)
      })
    // Votes are taken all the run, not only until the next id is drawn: they age (an hour), so what `stats` says
    // is our address now, and the session's view of it follows when the machine moves to another network.
    const vote = (reply: Reply) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (reply.response.ip === undefined) return Effect.void
        votes.add(reply.from.host, reply.response.ip.host, now)
        if (nextId !== undefined) return Effect.void
        const external = votes.settled(now)
        return external === undefined ? Effect.void : settleOn(external)
      })

    /** A node we know by id did not answer: after enough of that it makes way for a replacement. */
    const unanswered = (node: DhtNode) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const eviction = table.failed(node, now)
        return eviction.ping === undefined ? Effect.void : ping(eviction.ping)
      })

    /** A query whose outcome the routing table hears of: every valid answer, and timeouts of nodes with an id. */
    const ask = (node: Contact, body: QueryBody): Effect.Effect<Reply, DhtError> =>
      rpc.query(node, body).pipe(
        Effect.tap(vote),
        Effect.tap(({ from, response }) => heard({ id: response.id, host: from.host, port: from.port })),
        Effect.tapError((error) =>
          error.reason === "Timeout" && node.id !== undefined ? unanswered(node as DhtNode) : Effect.void
        )
      )

    const context: SearchContext = {
      ownId,
      family,
      table,
      ask,
      queryTimeout,
      lookupTimeout: Duration.decode(settings.lookupTimeout)
    }
    const lookup = (method: "find_node" | "get_peers", target: NodeId, options?: SearchOptions) =>
      Effect.suspend(() => {
        totals.lookups++
        return search(context, method, target, options)
      })

    /**
     * Find our neighbours: ask the bootstrap nodes for them (learning their ids), then look ourselves up. Those given
     * by host name (router.bittorrent.com, ...) are entry points rather than nodes: as libtorrent does, we keep them
     * out of the routing table and out of lookups. Those given by IP are nodes like any other.
     */
    const bootstrap = Effect.gen(function*() {
      // In a dual-stack client, ask for both families (BEP 32 `want`): the other node learns of its kind through us.
      const want = link === undefined ? {} : { want: ["n4", "n6"] as const }
      const findUs = { method: "find_node", target: ownId, ...want } as const
      const onOtherNodes = (nodes: ReadonlyArray<DhtNode>) => other()?.learn(nodes) ?? Effect.void
      const routers = settings.bootstrap.filter((endpoint) => isIP(endpoint.host) !== (family === "ipv4" ? 6 : 4))
      const replies = yield* Effect.forEach(
        routers,
        (router) => {
          const named = isIP(router.host) === 0
          return (named ? rpc.query(router, findUs) : ask(router, findUs)).pipe(
            Effect.tap(({ response }) => onOtherNodes((family === "ipv4" ? response.nodes6 : response.nodes) ?? [])),
            Effect.map(({ from, response }) => [
              ...(named ? [] : [{ id: response.id, ...from }]),
              ...((family === "ipv4" ? response.nodes : response.nodes6) ?? [])
            ]),
            Effect.tapError((error) => Effect.logDebug(`bootstrap: ${error.message}`)),
            Effect.orElseSucceed((): ReadonlyArray<DhtNode> => [])
          )
        },
        { concurrency: "unbounded" }
      )
      yield* lookup("find_node", ownId, { seeds: replies.flat(), ...want, onOtherNodes })
      yield* Effect.logDebug(`bootstrap done: ${table.size} nodes in the routing table`)
    })

    /** Bootstrap again if the table emptied; else refresh the buckets that have been quiet (BEP 5). */
    const maintain = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      state.peers.prune(now)
      state.limit.prune(now)
      if (table.size === 0) return yield* bootstrap
      const targets = table.refreshTargets(now)
      yield* Effect.forEach(targets, (target) => lookup("find_node", target), { concurrency: 3, discard: true })
    })

    // Answer queries, one batch at a time (the queue is bounded; what does not fit was dropped and counted).
    yield* Effect.gen(function*() {
      const batch = yield* Queue.takeBetween(rpc.incoming, 1, 64)
      const now = yield* Clock.currentTimeMillis
      for (const item of batch) {
        const { reply, ping: querier } = answer(state, item, now)
        if (reply !== undefined) yield* rpc.send(reply, item.from)
        if (querier !== undefined) yield* ping(querier)
      }
    }).pipe(Effect.forever, logDefects("answering queries"), annotate, Effect.forkScoped)

    yield* bootstrap.pipe(
      Effect.ensuring(Deferred.succeed(ready, undefined)),
      Effect.zipRight(Effect.schedule(maintain, settings.refresh)),
      logDefects("bootstrap and refresh"),
      annotate,
      Effect.forkScoped
    )

    if (settings.table !== undefined) {
      const store = settings.table
      const save = Effect.suspend(() =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          store.save(encodeRoutingTable(nextId === undefined ? table : reseeded(table, nextId, now))))
      )
      yield* Effect.addFinalizer(() => save)
      yield* Effect.schedule(save, settings.saveTable).pipe(annotate, Effect.forkScoped)
    }

    /**
     * Runs `effect` in the service's FiberSet and waits for it; interrupting the caller interrupts it. The fork
     * happens under the mask (so no interruption falls between it and the join), but the forked fiber itself is
     * made interruptible again: a fiber forked in an uninterruptible region would otherwise be uninterruptible too,
     * and a stop would wait for the whole lookup.
     */
    const supervised = (effect: Effect.Effect<LookupResult>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          FiberSet.run(lookups, restore(effect)),
          (fiber) => restore(Fiber.join(fiber)).pipe(Effect.onInterrupt(() => Fiber.interrupt(fiber)))
        )
      )

    const getPeers = (infoHash: Uint8Array, options: GetPeersOptions): Effect.Effect<LookupResult> => {
      const { announcePort, onPeers } = options
      if (!isNodeId(infoHash)) return Effect.die(new RangeError(`an info-hash is 20 bytes, got ${infoHash.length}`))
      if (announcePort !== undefined && !(Number.isInteger(announcePort) && announcePort > 0 && announcePort <= 0xffff)) {
        return Effect.die(new RangeError(`cannot announce port ${announcePort}`))
      }
      return supervised(Effect.gen(function*() {
        yield* Deferred.await(ready)
        const now = yield* Clock.currentTimeMillis
        const result = yield* lookup("get_peers", infoHash, {
          // Peers announced to us count too: we may be one of the nodes closest to the info-hash.
          known: state.peers.get(infoHash, MAX_VALUES, now),
          onPeers: (peers) =>
            Effect.suspend(() => {
              totals.peersFound += peers.length
              return onPeers === undefined ? Effect.void : onPeers(peers)
            })
        })
        if (announcePort === undefined) return result
        const announce = { method: "announce_peer", infoHash, port: announcePort } as const
        yield* Effect.forEach(
          result.closest,
          ({ node, token }) =>
            token === undefined ? Effect.void : ask(node, { ...announce, token }).pipe(
              Effect.catchAll((error) => Effect.logDebug(`announce: ${error.message}`))
            ),
          { concurrency: "unbounded", discard: true }
        )
        return result
      })).pipe(annotate)
    }

    const addNode = (address: Endpoint): Effect.Effect<void> =>
      isIP(address.host) === (family === "ipv4" ? 4 : 6) && address.port > 0 && address.port <= 0xffff
        ? ping(address).pipe(annotate)
        : Effect.logDebug(`not an ${family} node, ignored: ${addressKey(address)}`).pipe(annotate)

    if (link !== undefined) {
      link[family] = {
        closest: (target, count, now) => table.closest(target, count, { goodAt: now }),
        learn: (nodes) =>
          Effect.forEach(
            // As for a stranger's query: pinged only where the table has room (or a bad node to replace).
            nodes.slice(0, LEARN_PER_ANSWER).filter((node) => familyOf(node.host) === family && table.worthPinging(node)),
            ping,
            { discard: true }
          ).pipe(annotate)
      }
    }

    const externalOf = (address: string | undefined) => (address === undefined ? {} : { externalAddress: address })
    const stats = Effect.map(Clock.currentTimeMillis, (now): DhtStats => ({
      nodes: table.size,
      pendingQueries: rpc.pending(),
      lookups: totals.lookups,
      peersFound: totals.peersFound,
      queriesReceived: counters.queriesReceived,
      dropped: counters.dropped,
      nodesRefused: table.refused["ip-taken"] + table.refused["subnet-taken"] + table.refused["insecure-id"] +
        table.refused["address-taken"] + table.refused["id-taken"],
      port: rpc.local.port,
      nodeId: nodeIdHex(ownId),
      ...externalOf(votes.settled(now))
    }))

    yield* Effect.logDebug(`DHT node ${nodeIdHex(ownId)} on UDP ${addressKey(rpc.local)}`).pipe(annotate)
    return Dht.of({ nodeId: ownId, port: rpc.local.port, getPeers, addNode, stats, externalAddressKnown: settleOn })
  })

/** The DHT node with the default settings (no bootstrap nodes: it waits to be found, or `addNode`). */
export const layer: Layer.Layer<Dht, DhtError, Datagram> = Layer.scoped(Dht, make())

/** The DHT node with some settings changed. Needs a `Datagram` (UDP) from the platform. */
export const layerConfig = (config: Partial<DhtConfig>): Layer.Layer<Dht, DhtError, Datagram> =>
  Layer.scoped(Dht, make(config))
