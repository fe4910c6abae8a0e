import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { isSecureNodeId } from "../../src/dht/bep42.js"
import { AddressVotes, nextSecureId, reseeded, VOTE_WINDOW_MS } from "../../src/dht/externalAddress.js"
import { RoutingTable } from "../../src/dht/RoutingTable.js"

const idOf = (text: string) => new Uint8Array(createHash("sha1").update(text).digest())

describe("our external address from BEP 42 `ip` votes", () => {
  it("settles once five distinct voters agree and they are the majority; one voter voting often counts once", () => {
    const votes = new AddressVotes()
    for (let i = 0; i < 10; i++) votes.add("198.51.100.1", "203.0.113.66", 0)
    expect(votes.settled(0)).toBeUndefined()
    for (let i = 2; i <= 5; i++) votes.add(`198.51.100.${i}`, "203.0.113.66", 0)
    expect(votes.settled(0)).toBe("203.0.113.66")
    // Liars outnumbering the rest unsettle it.
    for (let i = 10; i < 16; i++) votes.add(`192.0.2.${i}`, "192.0.2.200", 0)
    expect(votes.settled(0)).toBe("192.0.2.200")
  })

  it("remembers at most maxVoters voters", () => {
    const votes = new AddressVotes(2, 3)
    votes.add("a", "x", 0)
    votes.add("b", "x", 0)
    votes.add("c", "y", 0)
    votes.add("d", "y", 0)
    // "a" is forgotten: x has one vote, y two of three.
    expect(votes.settled(0)).toBe("y")
  })

  it("a vote counts for the window from when it was cast; a voter voting again starts its window over", () => {
    const HOUR = VOTE_WINDOW_MS
    const votes = new AddressVotes(2, 64)
    votes.add("a", "x", 0)
    votes.add("b", "x", 10)
    expect(votes.settled(HOUR - 1)).toBe("x")
    // a's vote is gone at HOUR, b's at HOUR + 10: one vote is short of the quorum.
    expect(votes.settled(HOUR)).toBeUndefined()
    expect(votes.tally(HOUR)).toEqual(new Map([["x", 1]]))
    votes.add("b", "x", HOUR)
    votes.add("c", "x", HOUR)
    expect(votes.settled(HOUR + 20)).toBe("x")
    // The machine moved: nobody votes for x any more, and two voters name y. Within the window x still holds half,
    // so y is not settled yet; once x's votes age out, y is.
    votes.add("d", "y", HOUR + 30)
    votes.add("e", "y", HOUR + 30)
    expect(votes.settled(HOUR + 40)).toBeUndefined()
    expect(votes.settled(2 * HOUR)).toBe("y")
    expect(votes.settled(3 * HOUR + 30)).toBeUndefined()
    expect(votes.tally(3 * HOUR + 30).size).toBe(0)
  })

  it("the tally is the same Map until a vote changes or ages out (what callers cache on)", () => {
    const votes = new AddressVotes(1, 64, 100)
    votes.add("a", "x", 0)
    const first = votes.tally(0)
    votes.add("a", "x", 50)
    expect(votes.tally(60)).toBe(first)
    votes.add("a", "y", 60)
    const second = votes.tally(60)
    expect(second).not.toBe(first)
    expect(votes.tally(159)).toBe(second)
    expect(votes.tally(160)).not.toBe(second)
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
