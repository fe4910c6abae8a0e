import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import fc from "fast-check"
import { createHash } from "node:crypto"
import {
  addressKey,
  bucketIndex,
  compareDistance,
  decodeRoutingTable,
  type DhtNode,
  encodeRoutingTable,
  GOOD_FOR_MS,
  K,
  nodeIdHex,
  type RandomBytes,
  randomIdSharing,
  REFRESH_AFTER_MS,
  RoutingTable
} from "../../src/dht/index.js"
import { encode } from "../../src/bencode/index.js"
import { nodeId } from "./arbitraries.js"

/** Deterministic bytes from a seed (up to 32). */
const seeded = (seed: string | number): RandomBytes => (size) =>
  new Uint8Array(createHash("sha256").update(String(seed)).digest().subarray(0, size))

const OWN = new Uint8Array(createHash("sha1").update("our node").digest())
const MINUTE = 60_000

let serial = 0
/** A node sharing exactly `shared` leading bits with OWN, at an address of its own. */
const nodeIn = (shared: number, own = OWN): DhtNode => {
  const n = ++serial
  const host = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
  return { id: randomIdSharing(own, shared, seeded(n)), host, port: 6881 }
}
const ids = (nodes: ReadonlyArray<DhtNode>): Array<string> => nodes.map((node) => nodeIdHex(node.id))

/** The invariants RoutingTable.ts states, checked from the outside. */
const checkInvariants = (table: RoutingTable, limits: { k: number; maxNodes: number; replacements: number }) => {
  const buckets = table.buckets()
  const last = buckets.length - 1
  const seenIds = new Set<string>()
  const seenAddresses = new Set<string>()
  let total = 0
  buckets.forEach((bucket, index) => {
    expect(bucket.shared).toBe(index)
    expect(bucket.nodes.length).toBeLessThanOrEqual(limits.k)
    expect(bucket.replacements.length).toBeLessThanOrEqual(limits.replacements)
    total += bucket.nodes.length
    for (const node of [...bucket.nodes, ...bucket.replacements]) {
      const shared = bucketIndex(table.ownId, node.id)
      expect(shared).toBeLessThan(160)
      if (index < last) expect(shared).toBe(index)
      else expect(shared).toBeGreaterThanOrEqual(index)
      expect(seenIds.has(nodeIdHex(node.id))).toBe(false)
      expect(seenAddresses.has(addressKey(node))).toBe(false)
      seenIds.add(nodeIdHex(node.id))
      seenAddresses.add(addressKey(node))
    }
  })
  expect(table.size).toBe(total)
  expect(total).toBeLessThanOrEqual(limits.maxNodes)
}

describe("RoutingTable: buckets", () => {
  it("splits only the bucket holding our own id", () => {
    const table = new RoutingTable(OWN, 0)
    const far = Array.from({ length: K }, () => nodeIn(0))
    for (const node of far) expect(table.responded(node, 0)).toEqual({ outcome: "added" })
    expect(table.buckets()).toHaveLength(1)
    // The single bucket is full and holds our id: the next node splits it.
    const near = nodeIn(1)
    expect(table.responded(near, 0)).toEqual({ outcome: "added" })
    expect(table.buckets().map((bucket) => bucket.nodes.length)).toEqual([K, 1])
    // Bucket 0 is full of good nodes and does not hold our id: a newcomer waits, nothing splits.
    const late = nodeIn(0)
    expect(table.responded(late, 0)).toEqual({ outcome: "cached" })
    expect(table.buckets()).toHaveLength(2)
    expect(ids(table.buckets()[0]!.replacements)).toEqual(ids([late]))
    // Nodes ever nearer split our bucket again and again.
    for (let shared = 2; shared < 20; shared++) table.responded(nodeIn(shared), 0)
    expect(table.buckets().length).toBeGreaterThan(2)
    checkInvariants(table, { k: K, maxNodes: 1000, replacements: 8 })
  })

  it("splits as often as it takes when all nodes crowd near our id", () => {
    const table = new RoutingTable(OWN, 0)
    for (let i = 0; i < K; i++) table.responded(nodeIn(30), 0)
    table.responded(nodeIn(31), 0)
    const buckets = table.buckets()
    expect(buckets).toHaveLength(32)
    expect(buckets[30]!.nodes).toHaveLength(K)
    expect(buckets[31]!.nodes).toHaveLength(1)
  })

  it("keeps its invariants through any sequence of events", () => {
    const limits = { k: 4, maxNodes: 24, replacements: 3 }
    const pool = fc.array(
      fc.record({ shared: fc.integer({ min: 0, max: 12 }), seed: fc.nat(), host: fc.integer({ min: 0, max: 40 }) }),
      { minLength: 1, maxLength: 60 }
    ).map((specs) =>
      specs.map(({ shared, seed, host }) => ({
        id: randomIdSharing(OWN, shared, seeded(`pool${seed}`)),
        host: `192.168.0.${host}`,
        port: 6881 + (host % 3)
      }))
    )
    const event = fc.record({
      kind: fc.constantFrom("responded", "responded", "failed", "queried", "remove", "unverified"),
      node: fc.nat(),
      advance: fc.integer({ min: 0, max: 10 * MINUTE })
    })
    fc.assert(
      fc.property(pool, fc.array(event, { maxLength: 150 }), (nodes, events) => {
        const table = new RoutingTable(OWN, 0, limits)
        let now = 0
        for (const { kind, node: index, advance } of events) {
          now += advance
          const node = nodes[index % nodes.length]!
          if (kind === "responded") table.responded(node, now)
          else if (kind === "failed") table.failed(node, now)
          else if (kind === "queried") table.queried(node, now)
          else if (kind === "remove") table.remove(node.id, now)
          else table.addUnverified(node, now)
          checkInvariants(table, limits)
        }
      }),
      { numRuns: 200 }
    )
  })

  it("never holds more than maxNodes", () => {
    const table = new RoutingTable(OWN, 0, { maxNodes: 10 })
    for (let i = 0; i < 200; i++) table.responded(nodeIn(i % 20), 0)
    expect(table.size).toBe(10)
    checkInvariants(table, { k: K, maxNodes: 10, replacements: 8 })
  })
})

describe("RoutingTable: closest", () => {
  it("answers the n closest nodes, closest first, as brute force does", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ shared: fc.integer({ min: 0, max: 16 }), seed: fc.nat() }), { maxLength: 120 }),
        nodeId,
        fc.integer({ min: 0, max: 30 }),
        (specs, target, n) => {
          const table = new RoutingTable(OWN, 0)
          specs.forEach(({ shared, seed }, i) =>
            table.responded({ id: randomIdSharing(OWN, shared, seeded(`c${seed}`)), host: `10.1.0.${i}`, port: 1 }, 0)
          )
          const all = table.nodes()
          const expected = [...all].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n)
          const closest = table.closest(target, n)
          expect(ids(closest)).toEqual(ids(expected))
          for (let i = 1; i < closest.length; i++) {
            expect(compareDistance(target, closest[i - 1]!.id, closest[i]!.id)).toBeLessThan(0)
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  it("leaves bad nodes out, and with goodAt every node that is not good then", () => {
    const table = new RoutingTable(OWN, 0)
    const [a, b, c] = [nodeIn(3), nodeIn(4), nodeIn(5)]
    table.responded(a!, 0)
    table.responded(b!, 10 * MINUTE)
    table.addUnverified(c!, 0)
    table.failed(a!, 11 * MINUTE)
    expect(table.closest(OWN, 8)).toHaveLength(3)
    table.failed(a!, 12 * MINUTE)
    expect(ids(table.closest(OWN, 8))).toEqual(ids([c!, b!]))
    expect(ids(table.closest(OWN, 8, { goodAt: 12 * MINUTE }))).toEqual(ids([b!]))
    expect(table.closest(OWN, 8, { goodAt: 25 * MINUTE })).toEqual([])
  })
})

describe("RoutingTable: node states (BEP 5)", () => {
  it("is good for 15 minutes after an answer, questionable after, good again when it queries us", () => {
    const table = new RoutingTable(OWN, 0)
    const node = nodeIn(2)
    table.responded(node, 1000)
    expect(table.status(node.id, 1000 + GOOD_FOR_MS - 1)?.state).toBe("good")
    expect(table.status(node.id, 1000 + GOOD_FOR_MS)?.state).toBe("questionable")
    // BEP 5: also good when it ever answered and queried us within 15 minutes.
    expect(table.queried(node, 20 * MINUTE)).toBe("updated")
    expect(table.status(node.id, 30 * MINUTE)).toMatchObject({
      state: "good",
      lastResponse: 1000,
      lastQuery: 20 * MINUTE
    })
    expect(table.status(node.id, 35 * MINUTE)?.state).toBe("questionable")
  })

  it("turns bad after maxFailures failures in a row, and an answer makes it good again", () => {
    const table = new RoutingTable(OWN, 0, { maxFailures: 3 })
    const node = nodeIn(2)
    table.responded(node, 0)
    table.failed(node, 1)
    table.failed(node, 2)
    expect(table.status(node.id, 3)).toMatchObject({ state: "good", failures: 2 })
    table.responded(node, 4)
    table.failed(node, 5)
    table.failed(node, 6)
    expect(table.status(node.id, 7)?.state).toBe("good")
    table.failed(node, 7)
    expect(table.status(node.id, 8)).toMatchObject({ state: "bad", failures: 3 })
    table.responded(node, 9)
    expect(table.status(node.id, 9)).toMatchObject({ state: "good", failures: 0 })
  })

  it("keeps nodes read back from disk questionable until they answer", () => {
    const table = new RoutingTable(OWN, 0)
    const node = nodeIn(7)
    expect(table.addUnverified(node, 0)).toBe(true)
    expect(table.addUnverified(node, 0)).toBe(false)
    expect(table.status(node.id, 0)?.state).toBe("questionable")
    // Querying us is not enough without ever having answered.
    table.queried(node, 1)
    expect(table.status(node.id, 1)?.state).toBe("questionable")
    expect(table.responded(node, 2)).toEqual({ outcome: "updated" })
    expect(table.status(node.id, 2)?.state).toBe("good")
  })

  it("ignores failures of nodes it does not hold, or at another address", () => {
    const table = new RoutingTable(OWN, 0)
    const node = nodeIn(2)
    table.responded(node, 0)
    expect(table.failed(nodeIn(2), 1)).toEqual({})
    expect(table.failed({ ...node, port: 1 }, 1)).toEqual({})
    expect(table.status(node.id, 1)?.failures).toBe(0)
  })
})

describe("RoutingTable: full buckets", () => {
  /** A table whose bucket 0 (the far half) is full: K nodes that answered at time 0. */
  const fullFarBucket = () => {
    const table = new RoutingTable(OWN, 0)
    table.responded(nodeIn(1), 0) // so bucket 0 is not our own bucket once split
    const far = Array.from({ length: K }, () => nodeIn(0))
    far.forEach((node, i) => table.responded(node, i))
    expect(table.buckets()[0]!.nodes).toHaveLength(K)
    return { table, far }
  }

  it("drops a newcomer into the replacement cache while the bucket is full of good nodes, pinging no one", () => {
    const { table } = fullFarBucket()
    expect(table.responded(nodeIn(0), MINUTE)).toEqual({ outcome: "cached" })
  })

  it("asks to ping the least recently seen questionable node, once, and the next when it answers", () => {
    const { table, far } = fullFarBucket()
    const now = 20 * MINUTE // every far node is questionable now
    const first = nodeIn(0)
    expect(table.responded(first, now)).toEqual({ outcome: "cached", ping: far[0] })
    // Not the same node again while that ping is out.
    expect(table.responded(nodeIn(0), now)).toEqual({ outcome: "cached", ping: far[1] })
    // far[0] answers: it is good, and the next questionable one is to be pinged.
    expect(table.responded(far[0]!, now + 1)).toEqual({ outcome: "updated", ping: far[2] })
    expect(table.status(far[0]!.id, now + 1)?.state).toBe("good")
  })

  it("replaces a questionable node that fails twice with the newest waiting node (BEP 5: try once more)", () => {
    const { table, far } = fullFarBucket()
    const now = 20 * MINUTE
    const [older, newer] = [nodeIn(0), nodeIn(0)]
    expect(table.responded(older, now)).toEqual({ outcome: "cached", ping: far[0] })
    expect(table.responded(newer, now + 1)).toEqual({ outcome: "cached", ping: far[1] })
    expect(table.failed(far[0]!, now + 2)).toEqual({ ping: far[0] })
    expect(table.failed(far[0]!, now + 3)).toEqual({ removed: far[0], promoted: newer })
    expect(table.status(far[0]!.id, now + 3)).toBeUndefined()
    expect(table.status(newer.id, now + 3)).toMatchObject({ state: "good", cached: false })
    expect(table.status(older.id, now + 3)).toMatchObject({ cached: true })
    expect(table.buckets()[0]!.lastChanged).toBe(now + 3)
  })

  it("lets a newcomer take the place of a bad node at once", () => {
    const { table, far } = fullFarBucket()
    table.failed(far[3]!, 1)
    table.failed(far[3]!, 2)
    const newcomer = nodeIn(0)
    expect(table.responded(newcomer, 3)).toEqual({ outcome: "added", replaced: far[3] })
    expect(ids(table.buckets()[0]!.nodes)).toContain(nodeIdHex(newcomer.id))
  })

  it("keeps a bad node while no one waits to replace it", () => {
    const { table, far } = fullFarBucket()
    expect(table.failed(far[3]!, 1)).toEqual({})
    expect(table.failed(far[3]!, 2)).toEqual({})
    expect(table.status(far[3]!.id, 3)?.state).toBe("bad")
  })

  it("keeps at most `replacements` waiting nodes per bucket, dropping the oldest", () => {
    const table = new RoutingTable(OWN, 0, { replacements: 2 })
    table.responded(nodeIn(1), 0)
    for (let i = 0; i < K; i++) table.responded(nodeIn(0), 0)
    const waiting = [nodeIn(0), nodeIn(0), nodeIn(0)]
    for (const node of waiting) table.responded(node, 1)
    expect(ids(table.buckets()[0]!.replacements)).toEqual(ids(waiting.slice(1)))
  })

  it("promotes a waiting node when one is removed", () => {
    const { table, far } = fullFarBucket()
    const waiting = nodeIn(0)
    table.responded(waiting, 1)
    expect(table.remove(far[5]!.id, 2)).toEqual({ removed: far[5], promoted: waiting })
    expect(table.remove(far[5]!.id, 3)).toEqual({})
    expect(table.size).toBe(K + 1)
  })

  it("moves a waiting node into its bucket when it answers and there is room", () => {
    // k = 2 and maxNodes = 3: `waiting` is cached for want of room in the table, not in its bucket.
    const table = new RoutingTable(OWN, 0, { k: 2, maxNodes: 3 })
    const [a, b, c] = [nodeIn(0), nodeIn(0), nodeIn(1)]
    for (const node of [a!, b!, c!]) table.responded(node, 0)
    const waiting = nodeIn(1)
    expect(table.responded(waiting, 1)).toEqual({ outcome: "cached" })
    // Bucket 0 has no one waiting: removing from it frees a place in the table.
    expect(table.remove(a!.id, 2)).toEqual({ removed: a })
    expect(table.responded(waiting, 3)).toEqual({ outcome: "added" })
    expect(table.status(waiting.id, 3)?.cached).toBe(false)
    expect(table.size).toBe(3)
  })
})

describe("RoutingTable: one entry per address and per id", () => {
  it("refuses our own id, invalid nodes, and a second id at a held address or a held id at a second address", () => {
    const table = new RoutingTable(OWN, 0)
    const node = nodeIn(3)
    table.responded(node, 0)
    expect(table.responded({ ...node, id: OWN }, 0)).toEqual({ outcome: "refused", reason: "own-id" })
    expect(table.responded({ ...nodeIn(3), host: "example.org" }, 0)).toEqual({ outcome: "refused", reason: "invalid" })
    expect(table.responded({ ...nodeIn(3), port: 0 }, 0)).toEqual({ outcome: "refused", reason: "invalid" })
    expect(table.responded({ ...node, id: node.id.subarray(1) }, 0)).toEqual({ outcome: "refused", reason: "invalid" })
    const impostor = { ...nodeIn(3), host: node.host, port: node.port }
    expect(table.responded(impostor, 1)).toEqual({ outcome: "refused", reason: "address-taken" })
    expect(table.responded({ ...node, host: "10.99.0.1" }, 1)).toEqual({ outcome: "refused", reason: "id-taken" })
    expect(table.queried(impostor, 1)).toBe("refused")
    expect(table.size).toBe(1)
  })

  it("lets a new id have the address of a node that went bad", () => {
    const table = new RoutingTable(OWN, 0)
    const node = nodeIn(3)
    table.responded(node, 0)
    table.failed(node, 1)
    table.failed(node, 2)
    const restarted = { ...nodeIn(3), host: node.host, port: node.port }
    expect(table.responded(restarted, 3)).toEqual({ outcome: "added" })
    expect(table.status(node.id, 3)).toBeUndefined()
    expect(table.size).toBe(1)
  })

  it("asks to ping an unknown querier only when the table has room for it", () => {
    const table = new RoutingTable(OWN, 0)
    expect(table.queried(nodeIn(0), 0)).toBe("ping")
    expect(table.size).toBe(0)
    table.responded(nodeIn(1), 0)
    for (let i = 0; i < K; i++) table.responded(nodeIn(0), 0)
    expect(table.queried(nodeIn(0), 1)).toBe("ignored")
    expect(table.queried(nodeIn(9), 1)).toBe("ping")
    expect(table.queried({ ...nodeIn(9), host: "not an ip" }, 1)).toBe("refused")
  })
})

describe("RoutingTable: refresh", () => {
  it("hands out a target in each bucket unchanged for 15 minutes, once per period", () => {
    const table = new RoutingTable(OWN, 0, { random: seeded("refresh") })
    table.responded(nodeIn(1), 0)
    for (let i = 0; i < K; i++) table.responded(nodeIn(0), 0)
    table.responded(nodeIn(2), 5 * MINUTE) // the last bucket changed later
    expect(table.buckets()).toHaveLength(2)
    expect(table.refreshTargets(REFRESH_AFTER_MS - 1)).toEqual([])
    const targets = table.refreshTargets(REFRESH_AFTER_MS)
    expect(targets).toHaveLength(1)
    expect(bucketIndex(OWN, targets[0]!)).toBe(0)
    expect(table.refreshTargets(REFRESH_AFTER_MS + 1)).toEqual([])
    const later = table.refreshTargets(5 * MINUTE + REFRESH_AFTER_MS)
    expect(later).toHaveLength(1)
    expect(bucketIndex(OWN, later[0]!)).toBeGreaterThanOrEqual(1)
  })

  it("counts an answer from a node in a bucket as a change", () => {
    const table = new RoutingTable(OWN, 0)
    const node = nodeIn(0)
    table.responded(node, 0)
    table.responded(node, 14 * MINUTE)
    expect(table.refreshTargets(20 * MINUTE)).toEqual([])
    expect(table.refreshTargets(29 * MINUTE)).toHaveLength(1)
  })
})

describe("routing table file", () => {
  it("saves our id and the nodes, IPv4 and IPv6, and reads them back unverified", () => {
    const table = new RoutingTable(OWN, 0)
    const nodes = [nodeIn(0), nodeIn(1), nodeIn(2), { ...nodeIn(3), host: "2001:db8::7", port: 443 }]
    for (const node of nodes) table.responded(node, 0)
    const back = Either.getOrThrow(decodeRoutingTable(encodeRoutingTable(table), 100 * MINUTE))
    expect(nodeIdHex(back.ownId)).toBe(nodeIdHex(OWN))
    expect(ids(back.nodes()).sort()).toEqual(ids(nodes).sort())
    expect(back.nodes().find((node) => node.port === 443)?.host).toBe("2001:db8::7")
    for (const node of nodes) expect(back.status(node.id, 100 * MINUTE)?.state).toBe("questionable")
  })

  it("refuses damaged files and other versions", () => {
    const bad = (value: Parameters<typeof encode>[0]) => decodeRoutingTable(encode(value), 0)
    expect(Either.isLeft(decodeRoutingTable(new Uint8Array([0x64]), 0))).toBe(true)
    expect(Either.getLeft(bad([1]))._tag).toBe("Some")
    expect(bad({ version: 2, id: OWN })).toEqual(Either.left("unknown version"))
    expect(bad({ version: 1, id: OWN.subarray(1) })).toEqual(Either.left("bad node id"))
    expect(bad({ version: 1, id: OWN, nodes: 5 })).toEqual(Either.left("bad node list"))
    expect(Either.isRight(bad({ version: 1, id: OWN }))).toBe(true)
  })
})
