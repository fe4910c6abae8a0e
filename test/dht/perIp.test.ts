import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { secureNodeId } from "../../src/dht/bep42.js"
import type { DhtNode } from "../../src/dht/DhtNode.js"
import { RoutingTable } from "../../src/dht/RoutingTable.js"

const OWN = new Uint8Array(createHash("sha1").update("our node").digest())
const idOf = (text: string) => new Uint8Array(createHash("sha1").update(text).digest())
const at = (host: string, port: number, name = `${host}:${port}`): DhtNode => ({ id: idOf(name), host, port })

describe("RoutingTable: one node per IP address (a host posing as many nodes)", () => {
  it("a second node on a public address's other port is refused; a bad one gives way", () => {
    const table = new RoutingTable(OWN, 0, { maxFailures: 1 })
    const first = at("203.0.113.9", 6881)
    expect(table.responded(first, 0).outcome).toBe("added")
    expect(table.responded(at("203.0.113.9", 6882), 0)).toEqual({ outcome: "refused", reason: "ip-taken" })
    expect(table.queried(at("203.0.113.9", 6883), 0)).toBe("refused")
    // The same node again is an update, not a second entry.
    expect(table.responded(first, 1).outcome).toBe("updated")
    // A thousand ports of one host: still one entry.
    for (let port = 10_000; port < 11_000; port++) table.responded(at("203.0.113.9", port), 2)
    expect(table.size).toBe(1)
    table.failed(first, 3)
    expect(table.responded(at("203.0.113.9", 6882), 4).outcome).toBe("added")
    expect(table.nodes().map((n) => n.port)).toEqual([6882])
  })

  it("applies to IPv6 addresses too, and leaves loopback and private addresses alone", () => {
    const table = new RoutingTable(OWN, 0)
    table.responded(at("2001:db8::7", 1), 0)
    expect(table.responded(at("2001:db8::7", 2), 0)).toEqual({ outcome: "refused", reason: "ip-taken" })
    for (const host of ["127.0.0.1", "10.0.0.5", "192.168.1.2"]) {
      expect(table.responded(at(host, 1), 0).outcome).toBe("added")
      expect(table.responded(at(host, 2), 0).outcome).toBe("added")
    }
  })

  it("with onePerIp off, ports count apart", () => {
    const table = new RoutingTable(OWN, 0, { onePerIp: false, onePerSubnet: false })
    table.responded(at("203.0.113.9", 1), 0)
    expect(table.responded(at("203.0.113.9", 2), 0).outcome).toBe("added")
  })
})

describe("RoutingTable: one node per public /24 or /64 in each bucket (a block of addresses posing as many nodes)", () => {
  /** An id sharing exactly `shared` leading bits with OWN (then free), so that it lands in bucket `shared`. */
  const inBucket = (shared: number, salt: number): Uint8Array => {
    const id = idOf(`salt ${salt}`)
    for (let bit = 0; bit <= shared; bit++) {
      const mask = 0x80 >> (bit % 8)
      const own = OWN[bit >> 3]! & mask
      id[bit >> 3] = (id[bit >> 3]! & ~mask) | (bit === shared ? own ^ mask : own)
    }
    return id
  }

  it("a second address of a /24 in the same bucket is refused and counted; another bucket, or a bad holder, gives way", () => {
    const table = new RoutingTable(OWN, 0, { maxFailures: 1 })
    const first = { id: inBucket(0, 1), host: "203.0.113.1", port: 1 }
    expect(table.responded(first, 0).outcome).toBe("added")
    // Forty addresses of the block, all for bucket 0 (a target's neighbourhood falls in one bucket): none enters,
    // not even the replacement cache.
    for (let i = 2; i < 42; i++) {
      expect(table.responded({ id: inBucket(0, i), host: `203.0.113.${i}`, port: 1 }, 0)).toEqual({
        outcome: "refused",
        reason: "subnet-taken"
      })
    }
    expect(table.buckets().flatMap((b) => [...b.nodes, ...b.replacements])).toHaveLength(1)
    expect(table.refused["subnet-taken"]).toBe(40)
    // Honest nodes of other /24s in that bucket are not in the way.
    for (let i = 0; i < 7; i++) table.responded({ id: inBucket(0, 100 + i), host: `198.51.${i}.1`, port: 1 }, 0)
    expect(table.size).toBe(8)
    table.failed(first, 1)
    expect(table.responded({ id: inBucket(0, 50), host: "203.0.113.50", port: 1 }, 2).outcome).toBe("added")
  })

  it("applies to an IPv6 /64; private blocks are exempt; can be switched off", () => {
    const table = new RoutingTable(OWN, 0)
    table.responded({ id: inBucket(0, 1), host: "2001:db8:bad:1::1", port: 1 }, 0)
    expect(table.responded({ id: inBucket(0, 2), host: "2001:db8:bad:1::2", port: 1 }, 0)).toEqual({
      outcome: "refused",
      reason: "subnet-taken"
    })
    expect(table.responded({ id: inBucket(0, 3), host: "2001:db8:bad:2::1", port: 1 }, 0).outcome).toBe("added")
    expect(table.responded({ id: inBucket(0, 4), host: "10.0.0.1", port: 1 }, 0).outcome).toBe("added")
    expect(table.responded({ id: inBucket(0, 5), host: "10.0.0.2", port: 1 }, 0).outcome).toBe("added")
    const off = new RoutingTable(OWN, 0, { onePerSubnet: false })
    off.responded({ id: inBucket(0, 1), host: "203.0.113.1", port: 1 }, 0)
    expect(off.responded({ id: inBucket(0, 2), host: "203.0.113.2", port: 1 }, 0).outcome).toBe("added")
  })
})

describe("RoutingTable: BEP 42 ids enforced when asked", () => {
  it("refuses an id that does not match its public address, takes one that does", () => {
    const table = new RoutingTable(OWN, 0, { enforceSecureIds: true })
    expect(table.responded(at("198.51.100.4", 1), 0)).toEqual({ outcome: "refused", reason: "insecure-id" })
    const id = secureNodeId("198.51.100.4", (n) => idOf("seed").subarray(0, n))!
    expect(table.responded({ id, host: "198.51.100.4", port: 1 }, 0).outcome).toBe("added")
    // Exempt: a private address cannot know its external one.
    expect(table.responded(at("10.0.0.8", 1), 0).outcome).toBe("added")
  })
})
