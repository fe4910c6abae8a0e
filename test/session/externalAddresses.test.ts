import { describe, expect, it } from "@effect/vitest"
import { VOTE_WINDOW_MS } from "../../src/dht/externalAddress.js"
import { ExternalAddresses, type ExternalAddressOptions, normalizeIp, scopeOf } from "../../src/session/externalAddresses.js"

const PORT = 6881
const HOUR = VOTE_WINDOW_MS

/** Addresses on a clock the test moves (`at.now`). */
const make = (options: Omit<ExternalAddressOptions, "now"> = {}) => {
  const at = { now: 0 }
  return { at, ours: new ExternalAddresses({ ...options, now: () => at.now }) }
}
const HONEST = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]

describe("our external addresses (yourip, external ip, DHT, gateway)", () => {
  it("one peer cannot set the public address; three distinct voters that agree can", () => {
    const ours = make().ours
    ours.fromPeer("198.51.100.1", "203.0.113.9")
    expect(ours.publicAddress("ipv4")).toBeUndefined()
    expect(ours.isSelf({ host: "203.0.113.9", port: PORT }, PORT)).toBe(false)
    // The same voter again is still one vote.
    ours.fromPeer("198.51.100.1", "203.0.113.9")
    ours.fromPeer("198.51.100.1", "203.0.113.9")
    expect(ours.publicAddress("ipv4")).toBeUndefined()
    ours.fromPeer("198.51.100.2", "203.0.113.9")
    ours.fromPeer("198.51.100.3", "203.0.113.9")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.9", source: "peers" })
    expect(ours.isSelf({ host: "203.0.113.9", port: PORT }, PORT)).toBe(true)
    expect(ours.isSelf({ host: "203.0.113.9", port: PORT + 1 }, PORT)).toBe(false)
  })

  it("a liar among honest voters changes nothing; a split with no majority settles nothing", () => {
    const ours = make().ours
    for (const voter of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) ours.fromPeer(voter, "203.0.113.9")
    ours.fromPeer("198.51.100.66", "198.51.100.200")
    expect(ours.publicAddress("ipv4")?.address).toBe("203.0.113.9")
    expect(ours.isOurs("198.51.100.200")).toBe(false)

    const split = make().ours
    for (const voter of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) split.fromPeer(voter, "203.0.113.9")
    for (const voter of ["198.51.100.4", "198.51.100.5", "198.51.100.6"]) split.fromPeer(voter, "203.0.113.10")
    expect(split.publicAddress("ipv4")).toBeUndefined()
  })

  it("IPv4 and IPv6 are kept apart", () => {
    const ours = make().ours
    for (const voter of ["2001:db8::1", "2001:db8::2", "2001:db8::3"]) ours.fromPeer(voter, "2001:db8:ffff::9")
    expect(ours.publicAddress("ipv6")).toEqual({ address: "2001:db8:ffff::9", source: "peers" })
    expect(ours.publicAddress("ipv4")).toBeUndefined()
    for (const voter of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) ours.fromPeer(voter, "203.0.113.9")
    // An IPv4 majority leaves the IPv6 address as it was, and the other way round.
    expect(ours.report).toEqual({
      ipv4: { address: "203.0.113.9", source: "peers" },
      ipv6: { address: "2001:db8:ffff::9", source: "peers" },
      local: []
    })
    expect(ours.isSelf({ host: "2001:db8:ffff::9", port: PORT }, PORT)).toBe(true)
    // An IPv4-mapped address is the IPv4 one.
    expect(ours.isSelf({ host: "::ffff:203.0.113.9", port: PORT }, PORT)).toBe(true)
  })

  it("loopback and private addresses count only as such: from a peer in the same kind of range, and never as the public one", () => {
    const ours = make().ours
    ours.fromPeer("127.0.0.1", "127.0.0.1")
    expect(ours.isSelf({ host: "127.0.0.1", port: PORT }, PORT)).toBe(true)
    expect(ours.publicAddress("ipv4")).toBeUndefined()
    // A public peer naming a private or loopback address is refused; a LAN peer may name a LAN address.
    ours.fromPeer("198.51.100.1", "192.168.1.20")
    ours.fromPeer("198.51.100.1", "127.0.0.5")
    expect(ours.isOurs("192.168.1.20")).toBe(false)
    expect(ours.isOurs("127.0.0.5")).toBe(false)
    expect(ours.refused).toBe(2)
    ours.fromPeer("192.168.1.7", "192.168.1.20")
    expect(ours.isOurs("192.168.1.20")).toBe(true)
    ours.fromPeer("::1", "::1")
    expect(ours.report.local).toEqual(["127.0.0.1", "192.168.1.20", "::1"])
    // Bounded: the oldest voter is forgotten first.
    const few = make({ maxVoters: 2 }).ours
    for (const n of [1, 2, 3]) few.fromPeer(`127.0.0.${n}`, "127.0.0.9")
    expect(few.report.local).toEqual(["127.0.0.9"])
    for (const n of [4, 5]) few.fromPeer(`127.0.0.${n}`, "127.0.0.8")
    expect(few.report.local).toEqual(["127.0.0.8"])
  })

  it("the gateway's and the DHT's addresses are believed as told, the gateway's first; a private one is local", () => {
    const ours = make().ours
    for (const voter of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) ours.fromPeer(voter, "203.0.113.9")
    ours.fromDht("ipv4", "203.0.113.10")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.10", source: "dht" })
    ours.fromGateway("203.0.113.11")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.11", source: "gateway" })
    // The gateway now hands out a private address (a NAT behind another): that is its word now, the old one is not.
    ours.fromGateway("10.64.0.1")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.10", source: "dht" })
    expect(ours.isOurs("203.0.113.11")).toBe(false)
    expect(ours.isOurs("10.64.0.1")).toBe(true)
  })

  it("a tracker's external ip is one vote under its host; a loopback tracker may name a loopback address", () => {
    const ours = make().ours
    ours.fromTracker("http://tracker.example.org:6969/announce", "203.0.113.9")
    ours.fromTracker("http://tracker.example.org:7070/announce", "203.0.113.9")
    expect(ours.publicAddress("ipv4")).toBeUndefined()
    ours.fromPeer("198.51.100.1", "203.0.113.9")
    ours.fromTracker("udp://198.51.100.50:6969", "203.0.113.9")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.9", source: "peers" })
    ours.fromTracker("http://tracker.example.org/announce", "127.0.0.1")
    expect(ours.isOurs("127.0.0.1")).toBe(false)
    ours.fromTracker("http://127.0.0.1:6969/announce", "127.0.0.1")
    expect(ours.report.local).toEqual(["127.0.0.1"])
    // Two loopback voters naming two addresses: neither has more than half, so neither is ours until a third agrees.
    ours.fromTracker("http://localhost:6969/announce", "127.0.0.2")
    expect(ours.report.local).toEqual([])
    ours.fromPeer("127.0.0.1", "127.0.0.1")
    expect(ours.report.local).toEqual(["127.0.0.1"])
    ours.fromTracker("not a url", "203.0.113.9")
    expect(ours.refused).toBe(2)
  })

  it("garbage is refused, not thrown", () => {
    const ours = make().ours
    ours.fromPeer("not an address", "203.0.113.9")
    ours.fromPeer("198.51.100.1", "example.org")
    ours.fromGateway("")
    ours.fromDht("ipv6", "203.0.113.9")
    expect(ours.refused).toBe(4)
    expect(normalizeIp("[2001:DB8::1]")).toBe("2001:db8::1")
    expect(normalizeIp("fe80::1%eth0")).toBeUndefined()
    expect(scopeOf("10.1.2.3")).toBe("private")
    expect(scopeOf("::1")).toBe("loopback")
    expect(scopeOf("8.8.8.8")).toBe("public")
  })

  it("a vote counts for an hour: the public address and a local one are forgotten when their votes age out", () => {
    const { at, ours } = make()
    for (const voter of HONEST) ours.fromPeer(voter, "203.0.113.9")
    ours.fromPeer("192.168.1.7", "192.168.1.20")
    at.now = HOUR - 1
    expect(ours.isSelf({ host: "203.0.113.9", port: PORT }, PORT)).toBe(true)
    expect(ours.isOurs("192.168.1.20")).toBe(true)
    // One voter spoke again half-way: its vote still counts, the other two are gone, and one vote is not a quorum.
    at.now = HOUR / 2
    ours.fromPeer(HONEST[0]!, "203.0.113.9")
    at.now = HOUR
    expect(ours.publicAddress("ipv4")).toBeUndefined()
    expect(ours.isSelf({ host: "203.0.113.9", port: PORT }, PORT)).toBe(false)
    expect(ours.isOurs("192.168.1.20")).toBe(false)
    expect(ours.report).toEqual({ local: [] })
    // The laptop moved: the new network's peers are believed at once, the old address is not claimed.
    for (const voter of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) ours.fromPeer(voter, "198.18.0.5")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "198.18.0.5", source: "peers" })
  })

  it("the gateway's word stays past the vote window and is replaced at once when it changes; the DHT's the same", () => {
    const { at, ours } = make()
    ours.fromGateway("203.0.113.11")
    ours.fromDht("ipv4", "203.0.113.10")
    at.now = 10 * HOUR
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.11", source: "gateway" })
    ours.fromGateway("203.0.113.12")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.12", source: "gateway" })
    expect(ours.isOurs("203.0.113.11")).toBe(false)
    // The DHT's vote settles on nothing any more (its own votes aged): it names no address.
    ours.fromDht("ipv4", undefined)
    ours.fromGateway("10.64.0.1")
    expect(ours.report).toEqual({ local: ["10.64.0.1"] })
  })

  it("a LAN peer's private claim needs more than half of what is said in that range: one liar against a majority, or the gateway, or the DHT, sets nothing", () => {
    const { ours } = make()
    // Alone, one LAN peer's word is taken.
    ours.fromPeer("192.168.1.7", "192.168.1.20")
    expect(ours.isOurs("192.168.1.20")).toBe(true)
    // Another peer disagrees: one against one, neither is ours.
    ours.fromPeer("192.168.1.66", "192.168.1.5")
    expect(ours.isOurs("192.168.1.20")).toBe(false)
    expect(ours.isOurs("192.168.1.5")).toBe(false)
    // Two more agree with the first: the liar is outvoted, and stays so.
    ours.fromPeer("192.168.1.8", "192.168.1.20")
    ours.fromPeer("10.0.0.9", "192.168.1.20")
    expect(ours.isOurs("192.168.1.20")).toBe(true)
    expect(ours.isOurs("192.168.1.5")).toBe(false)
    expect(ours.isSelf({ host: "192.168.1.5", port: PORT }, PORT)).toBe(false)

    // The gateway names a private address: its own is ours, and one peer naming another is not.
    const behind = make().ours
    behind.fromGateway("10.64.0.1")
    behind.fromPeer("192.168.1.66", "192.168.1.5")
    expect(behind.report.local).toEqual(["10.64.0.1"])
    // The DHT's private address counts the same way.
    const dht = make().ours
    dht.fromDht("ipv4", "192.168.1.20")
    dht.fromPeer("192.168.1.66", "192.168.1.5")
    expect(dht.report.local).toEqual(["192.168.1.20"])
    // A public address from the gateway does not contest a LAN address: behind a NAT we have both.
    const nat = make().ours
    nat.fromGateway("203.0.113.11")
    nat.fromPeer("192.168.1.7", "192.168.1.20")
    expect(nat.report).toEqual({ ipv4: { address: "203.0.113.11", source: "gateway" }, local: ["192.168.1.20"] })
  })

  it("IPv4 and IPv6 votes age and contest apart", () => {
    const { at, ours } = make()
    for (const voter of HONEST) ours.fromPeer(voter, "203.0.113.9")
    at.now = HOUR / 2
    for (const voter of ["2001:db8::1", "2001:db8::2", "2001:db8::3"]) ours.fromPeer(voter, "2001:db8:ffff::9")
    // A LAN peer over IPv6 naming a unique-local address does not contest an IPv4 LAN address, nor the other way.
    ours.fromPeer("fd00::7", "fd00::20")
    ours.fromPeer("192.168.1.7", "192.168.1.20")
    ours.fromPeer("192.168.1.8", "192.168.1.20")
    expect(ours.report.local).toEqual(["192.168.1.20", "fd00::20"])
    at.now = HOUR
    expect(ours.report).toEqual({
      ipv6: { address: "2001:db8:ffff::9", source: "peers" },
      local: ["192.168.1.20", "fd00::20"]
    })
    at.now = HOUR * 3 / 2
    expect(ours.report).toEqual({ local: [] })
  })
})
