import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { isSecureNodeId } from "../../src/dht/bep42.js"
import { AddressVotes, nextSecureId, reseeded } from "../../src/dht/externalAddress.js"
import { RoutingTable } from "../../src/dht/RoutingTable.js"

const idOf = (text: string) => new Uint8Array(createHash("sha1").update(text).digest())

describe("our external address from BEP 42 `ip` votes", () => {
  it("settles once five distinct voters agree and they are the majority; one voter voting often counts once", () => {
    const votes = new AddressVotes()
    for (let i = 0; i < 10; i++) votes.add("198.51.100.1", "203.0.113.66")
    expect(votes.settled).toBeUndefined()
    for (let i = 2; i <= 5; i++) votes.add(`198.51.100.${i}`, "203.0.113.66")
    expect(votes.settled).toBe("203.0.113.66")
    // Liars outnumbering the rest unsettle it.
    for (let i = 10; i < 16; i++) votes.add(`192.0.2.${i}`, "192.0.2.200")
    expect(votes.settled).toBe("192.0.2.200")
  })

  it("remembers at most maxVoters voters", () => {
    const votes = new AddressVotes(2, 3)
    votes.add("a", "x")
    votes.add("b", "x")
    votes.add("c", "y")
    votes.add("d", "y")
    // "a" is forgotten: x has one vote, y two of three.
    expect(votes.settled).toBe("y")
  })

  it("draws a conforming id for the next start only when ours does not conform; the table keeps its nodes", () => {
    const own = idOf("own")
    const next = nextSecureId(own, "203.0.113.66", () => idOf("seed"))!
    expect(isSecureNodeId(next, "203.0.113.66")).toBe(true)
    expect(nextSecureId(next, "203.0.113.66", () => idOf("x"))).toBeUndefined()
    expect(nextSecureId(own, "192.168.1.9", () => idOf("x"))).toBeUndefined()

    const table = new RoutingTable(own, 0)
    for (let i = 1; i <= 5; i++) table.responded({ id: idOf(`n${i}`), host: `10.0.0.${i}`, port: 6881 }, 0)
    const moved = reseeded(table, next, 1)
    expect(moved.ownId).toEqual(next)
    expect(moved.nodes().map((n) => n.host).sort()).toEqual(table.nodes().map((n) => n.host).sort())
  })
})
