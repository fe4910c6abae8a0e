import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { createHash } from "node:crypto"
import {
  addressKey,
  bucketIndex,
  compareDistance,
  type DhtNode,
  K,
  Lookup,
  type LookupOptions,
  nodeIdHex,
  randomIdSharing
} from "../../src/dht/index.js"
import type { PeerAddress } from "../../src/wire/index.js"

const sha1 = (text: string): Uint8Array => new Uint8Array(createHash("sha1").update(text).digest())
const ids = (nodes: ReadonlyArray<DhtNode>): Array<string> => nodes.map((node) => nodeIdHex(node.id))
const byDistance = (target: Uint8Array) => (a: DhtNode, b: DhtNode) => compareDistance(target, a.id, b.id)

/**
 * A simulated DHT of `size` nodes. Each knows, brute force, what a full Kademlia table of its own would hold: up to
 * k nodes of every bucket (those sharing exactly i leading bits with it, for each i), and answers `find_node` with
 * the k closest of them to the target. Nodes in `dead` never answer.
 */
const network = (seed: string, size: number) => {
  const nodes: Array<DhtNode> = Array.from({ length: size }, (_, i) => ({
    id: sha1(`${seed}/${i}`),
    host: `10.${i >> 8}.${i & 255}.1`,
    port: 6881
  }))
  const known = new Map<string, Array<DhtNode>>()
  for (const node of nodes) {
    const buckets = new Map<number, Array<DhtNode>>()
    for (const other of nodes) {
      if (other === node) continue
      const bucket = bucketIndex(node.id, other.id)
      const list = buckets.get(bucket) ?? []
      if (list.length < K) list.push(other)
      buckets.set(bucket, list)
    }
    known.set(addressKey(node), [...buckets.values()].flat())
  }
  /** The k closest to `target` that `at` knows, of those that pass `keep`. */
  const findNode = (at: DhtNode, target: Uint8Array, keep = (_: DhtNode) => true): Array<DhtNode> =>
    known.get(addressKey(at))!.filter(keep).sort(byDistance(target)).slice(0, K)
  return { nodes, findNode }
}

/** Runs a lookup to the end, answering every query at once (or failing it, for `dead` nodes). */
const run = (
  lookup: Lookup,
  answer: (node: DhtNode) => { nodes: Array<DhtNode>; values?: Array<PeerAddress>; token?: Uint8Array } | undefined
) => {
  let rounds = 0
  while (!lookup.done) {
    const queries = lookup.next(rounds)
    expect(queries.length).toBeGreaterThan(0) // no stall: something is always in flight or to send
    expect(queries.length).toBeLessThanOrEqual(3)
    for (const node of queries) {
      const reply = answer(node)
      if (reply === undefined) lookup.failed(node)
      else lookup.answered(node, reply.nodes, reply.values, reply.token)
    }
    rounds++
  }
  return lookup.result()
}

describe("Lookup against a simulated network of 200 nodes", () => {
  it("converges on the true k closest nodes to the target", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.array(fc.nat({ max: 199 }), { minLength: 1, maxLength: 3 }), (
        seed,
        targetSeed,
        seedIndexes
      ) => {
        const { nodes, findNode } = network(seed, 200)
        const target = sha1(`target ${targetSeed}`)
        const lookup = new Lookup(target, seedIndexes.map((i) => nodes[i]!))
        const result = run(lookup, (node) => ({ nodes: findNode(node, target) }))
        const truth = [...nodes].sort(byDistance(target)).slice(0, K)
        expect(ids(result.closest.map(({ node }) => node))).toEqual(ids(truth))
        expect(lookup.queried).toBeLessThan(100)
      }),
      { numRuns: 25 }
    )
  })

  it("converges on the k closest live nodes when a fifth of the network is dead", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (seed, targetSeed) => {
        const { nodes, findNode } = network(seed, 200)
        const dead = new Set(nodes.filter((_, i) => i % 5 === 0).map(addressKey))
        const isDead = (node: DhtNode) => dead.has(addressKey(node))
        const target = sha1(`target ${targetSeed}`)
        const alive = nodes.filter((node) => !isDead(node))
        // A node answers with the k closest good nodes it knows (BEP 5), plus the dead ones it has not noticed yet
        // that are closer than the farthest of those. Some seeds are dead too.
        const answer = (node: DhtNode) => {
          if (isDead(node)) return undefined
          const good = findNode(node, target, (n) => !isDead(n))
          const farthest = good.at(-1)!
          const stale = findNode(node, target, isDead).filter((n) => byDistance(target)(n, farthest) < 0)
          return { nodes: [...stale, ...good] }
        }
        const lookup = new Lookup(target, [nodes[0]!, nodes[5]!, alive[0]!, alive[1]!])
        const result = run(lookup, answer)
        const truth = [...alive].sort(byDistance(target)).slice(0, K)
        expect(ids(result.closest.map(({ node }) => node))).toEqual(ids(truth))
      }),
      { numRuns: 15 }
    )
  })

  it("collects the peers (values) and the tokens of get_peers answers", () => {
    const { nodes, findNode } = network("peers", 200)
    const infoHash = sha1("a torrent")
    const holders = new Set(ids([...nodes].sort(byDistance(infoHash)).slice(0, 3)))
    const lookup = new Lookup(infoHash, nodes.slice(0, 3))
    const result = run(lookup, (node) => ({
      nodes: findNode(node, infoHash),
      values: holders.has(nodeIdHex(node.id)) ? [{ host: "192.0.2.1", port: 1 }, { host: node.host, port: 2 }] : [],
      token: Buffer.from(`token for ${node.host}`)
    }))
    expect(result.closest).toHaveLength(K)
    for (const { node, token } of result.closest) expect(Buffer.from(token!).toString()).toBe(`token for ${node.host}`)
    // One peer sent by all three holders, kept once, and one of each.
    expect(result.peers).toHaveLength(4)
    expect(result.peers.filter((peer) => peer.host === "192.0.2.1")).toHaveLength(1)
  })
})

describe("Lookup: the state machine", () => {
  const target = new Uint8Array(20)
  /** Nodes at increasing distance from the zero target: node i shares 20 - i leading bits with it... roughly. */
  const near = (i: number, host = `10.0.0.${i}`): DhtNode => ({
    id: randomIdSharing(target, 40 - i, () => new Uint8Array(20).fill(i)),
    host,
    port: 1
  })

  it("keeps at most alpha queries in flight, and a slow query stops counting after slowAfterMs", () => {
    const seeds = Array.from({ length: 10 }, (_, i) => near(i))
    const lookup = new Lookup(target, seeds, { slowAfterMs: 1000 })
    const first = lookup.next(0)
    expect(ids(first)).toEqual(ids(seeds.slice(0, 3))) // closest first
    expect(lookup.next(10)).toEqual([])
    lookup.answered(first[0]!, [])
    expect(ids(lookup.next(20))).toEqual(ids([seeds[3]!]))
    expect(lookup.next(999)).toEqual([])
    // first[1] and first[2] are slow now: two more places; seeds[3] still counts.
    expect(ids(lookup.next(1000))).toEqual(ids(seeds.slice(4, 6)))
    expect(lookup.inFlight).toBe(5)
    // A slow node's late answer still counts.
    lookup.answered(first[1]!, [], [], Uint8Array.of(1))
    expect(ids(lookup.result().closest.map(({ node }) => node))).toEqual(ids(first.slice(0, 2)))
  })

  it("asks only the k closest that have not failed, a farther node only once a closer one fails", () => {
    const seeds = Array.from({ length: 5 }, (_, i) => near(i))
    const lookup = new Lookup(target, seeds, { k: 2, alpha: 5 })
    expect(ids(lookup.next(0))).toEqual(ids(seeds.slice(0, 2)))
    lookup.failed(seeds[0]!)
    expect(ids(lookup.next(0))).toEqual(ids([seeds[2]!]))
    lookup.answered(seeds[1]!, [])
    lookup.answered(seeds[2]!, [])
    expect(lookup.done).toBe(true)
    expect(ids(lookup.result().closest.map(({ node }) => node))).toEqual(ids(seeds.slice(1, 3)))
  })

  it("is not done while a closer node is pending, and asks the next one when a closer one fails", () => {
    const seeds = [near(0), near(1), near(2)]
    const lookup = new Lookup(target, seeds, { k: 2 })
    expect(ids(lookup.next(0))).toEqual(ids(seeds.slice(0, 2)))
    lookup.answered(seeds[1]!, [])
    expect(lookup.done).toBe(false)
    lookup.failed(seeds[0]!)
    expect(lookup.done).toBe(false)
    expect(ids(lookup.next(1))).toEqual(ids([seeds[2]!]))
    lookup.answered(seeds[2]!, [])
    expect(lookup.done).toBe(true)
    expect(new Lookup(target, []).done).toBe(true)
  })

  it("queues each node once (by id or by address), never our own id, and no id of the wrong length", () => {
    const own = near(7)
    const lookup = new Lookup(target, [near(1)], { ownId: own.id })
    const [first] = lookup.next(0)
    lookup.answered(first!, [
      near(1), // the same node again
      { ...near(2), host: near(1).host }, // another id at its address
      { ...near(1), host: "10.9.9.9" }, // its id at another address
      own,
      { ...near(3), id: new Uint8Array(19) },
      { ...near(4), port: 0 },
      near(5)
    ])
    expect(ids(lookup.next(1))).toEqual(ids([near(5)]))
    expect(lookup.next(2)).toEqual([])
  })

  it("ignores answers it did not ask for, and counts an answer under another id as a failure", () => {
    const seeds = [near(0), near(1)]
    const lookup = new Lookup(target, seeds, { k: 2 })
    lookup.answered(near(9), [near(3)]) // not asked
    lookup.next(0)
    lookup.answered({ ...seeds[0]!, id: near(8).id }, [near(2)])
    lookup.answered(seeds[0]!, []) // no longer in flight
    lookup.answered(seeds[1]!, [])
    expect(ids(lookup.next(1))).toEqual(ids([near(2)]))
    lookup.answered(near(2), [])
    expect(lookup.done).toBe(true)
    expect(ids(lookup.result().closest.map(({ node }) => node))).toEqual(ids([seeds[1]!, near(2)]))
  })

  it("stops after maxQueries against a swarm of ever-closer nodes that never answer", () => {
    let fake = 0
    const sybil = (): DhtNode => {
      fake++
      const id = randomIdSharing(target, Math.min(159, 10 + fake), () => new Uint8Array(20))
      return { id, host: `172.16.${fake >> 8}.${fake & 255}`, port: 1 }
    }
    const options: LookupOptions = { maxQueries: 40 }
    const lookup = new Lookup(target, [sybil(), sybil(), sybil()], options)
    let rounds = 0
    while (!lookup.done && rounds < 1000) {
      for (const node of lookup.next(rounds)) {
        // Half answer with closer fakes, half time out.
        if (rounds % 2 === 0) lookup.answered(node, [sybil(), sybil(), sybil()])
        else lookup.failed(node)
      }
      rounds++
    }
    expect(lookup.done).toBe(true)
    expect(lookup.queried).toBe(40)
  })

  it("keeps the shortlist to maxCandidates and the peers to maxPeers", () => {
    const lookup = new Lookup(target, [near(0)], { maxCandidates: 10, maxPeers: 5, k: 2 })
    lookup.next(0)
    const many = Array.from({ length: 30 }, (_, i) => near(i + 1, `10.1.0.${i}`))
    const peers = Array.from({ length: 20 }, (_, i) => ({ host: `192.0.2.${i}`, port: 1 }))
    lookup.answered(near(0), many.reverse(), peers)
    expect(lookup.result().peers).toHaveLength(5)
    let asked = 0
    let rounds = 0
    while (!lookup.done) {
      for (const node of lookup.next(rounds++)) {
        asked++
        lookup.failed(node)
      }
    }
    // Of the 30 offered, only the 9 closest made the list (10 with the seed), and each was asked.
    expect(asked).toBe(9)
  })
  /**
   * A lookup from eight honest nodes (each in a /24 of its own) where the first to answer names `offered`, every
   * other node answering with nothing: the lookup and every node it queued.
   */
  const runWith = (offered: ReadonlyArray<DhtNode>) => {
    const honest = Array.from({ length: 8 }, (_, i) => near(i + 10, `198.51.${i + 10}.1`))
    const lookup = new Lookup(target, honest)
    const [first, ...others] = lookup.next(0)
    lookup.answered(first!, offered)
    for (const node of others) lookup.answered(node, [])
    const queued: Array<DhtNode> = []
    for (let round = 1; round < 40 && !lookup.done; round++) {
      const asked = lookup.next(round)
      queued.push(...asked)
      for (const node of asked) lookup.answered(node, [])
    }
    return { lookup, queued }
  }

  it("one node per public IP address: a host answering with 30 of its own ports closer than all others gets one place", () => {
    // The answer names 30 ports of one public host, every one closer to the target than any honest node.
    const sybil = Array.from({ length: 30 }, (_, i) => ({ ...near(i + 1, "203.0.113.66"), port: 7000 + i }))
    const { lookup, queued } = runWith(sybil)
    expect(queued.filter((node) => node.host === "203.0.113.66")).toHaveLength(1)
    const closest = lookup.result().closest.map(({ node }) => node.host)
    expect(closest.filter((host) => host === "203.0.113.66")).toHaveLength(1)
    expect(closest).toHaveLength(K)
    // Private addresses are exempt (a LAN, a test), and the limit can be switched off.
    expect(new Lookup(target, sybil, { alpha: 30 }).next(0)).toHaveLength(1)
    const lan = new Lookup(target, sybil.map((node) => ({ ...node, host: "10.9.9.9" })), { alpha: 30 })
    expect(lan.next(0)).toHaveLength(K) // only the k closest are asked
    const off = new Lookup(target, sybil, { onePerIp: false, onePerSubnet: false, alpha: 30 })
    expect(off.next(0)).toHaveLength(K)
  })

  it("one node per public /24 or /64: a block of 30 addresses answering closer than all others gets one place", () => {
    const block = Array.from({ length: 30 }, (_, i) => near(i + 1, `203.0.113.${i + 1}`))
    const block6 = Array.from({ length: 30 }, (_, i) => near(i + 100, `2001:db8:bad:1::${i + 1}`))
    const { lookup, queued } = runWith([...block, ...block6])
    expect(queued.filter((node) => node.host.startsWith("203.0.113."))).toHaveLength(1)
    expect(queued.filter((node) => node.host.startsWith("2001:db8:bad:1:"))).toHaveLength(1)
    expect(lookup.result().closest).toHaveLength(K)
    // The ports rule alone lets the block in: with the subnet rule off, the block takes every place.
    const off = new Lookup(target, block, { onePerSubnet: false, alpha: 30 })
    expect(off.next(0)).toHaveLength(K)
    // Private blocks are exempt.
    const lan = new Lookup(target, block.map((node, i) => ({ ...node, host: `10.9.9.${i + 1}` })), { alpha: 30 })
    expect(lan.next(0)).toHaveLength(K)
  })
})
