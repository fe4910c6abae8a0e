import { describe, expect, it } from "@effect/vitest"
import { ExternalAddresses, normalizeIp, scopeOf } from "../../src/session/externalAddresses.js"

const PORT = 6881

describe("our external addresses (yourip, external ip, DHT, gateway)", () => {
  it("one peer cannot set the public address; three distinct voters that agree can", () => {
    const ours = new ExternalAddresses()
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
    const ours = new ExternalAddresses()
    for (const voter of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) ours.fromPeer(voter, "203.0.113.9")
    ours.fromPeer("198.51.100.66", "198.51.100.200")
    expect(ours.publicAddress("ipv4")?.address).toBe("203.0.113.9")
    expect(ours.isOurs("198.51.100.200")).toBe(false)

    const split = new ExternalAddresses()
    for (const voter of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) split.fromPeer(voter, "203.0.113.9")
    for (const voter of ["198.51.100.4", "198.51.100.5", "198.51.100.6"]) split.fromPeer(voter, "203.0.113.10")
    expect(split.publicAddress("ipv4")).toBeUndefined()
  })

  it("IPv4 and IPv6 are kept apart", () => {
    const ours = new ExternalAddresses()
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
    const ours = new ExternalAddresses()
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
    // Bounded: the oldest local address is forgotten first.
    const few = new ExternalAddresses({ maxLocal: 2 })
    for (const n of [1, 2, 3]) few.fromPeer("127.0.0.9", `127.0.0.${n}`)
    expect(few.report.local).toEqual(["127.0.0.2", "127.0.0.3"])
  })

  it("the gateway's and the DHT's addresses are believed as told, the gateway's first; a private one is local", () => {
    const ours = new ExternalAddresses()
    for (const voter of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) ours.fromPeer(voter, "203.0.113.9")
    ours.fromDht("203.0.113.10")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.10", source: "dht" })
    ours.fromGateway("203.0.113.11")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.11", source: "gateway" })
    ours.fromGateway("10.64.0.1")
    expect(ours.publicAddress("ipv4")?.address).toBe("203.0.113.11")
    expect(ours.isOurs("10.64.0.1")).toBe(true)
  })

  it("a tracker's external ip is one vote under its host; a loopback tracker may name a loopback address", () => {
    const ours = new ExternalAddresses()
    ours.fromTracker("http://tracker.example.org:6969/announce", "203.0.113.9")
    ours.fromTracker("http://tracker.example.org:7070/announce", "203.0.113.9")
    expect(ours.publicAddress("ipv4")).toBeUndefined()
    ours.fromPeer("198.51.100.1", "203.0.113.9")
    ours.fromTracker("udp://198.51.100.50:6969", "203.0.113.9")
    expect(ours.publicAddress("ipv4")).toEqual({ address: "203.0.113.9", source: "peers" })
    ours.fromTracker("http://tracker.example.org/announce", "127.0.0.1")
    expect(ours.isOurs("127.0.0.1")).toBe(false)
    ours.fromTracker("http://127.0.0.1:6969/announce", "127.0.0.1")
    ours.fromTracker("http://localhost:6969/announce", "127.0.0.2")
    expect(ours.report.local).toEqual(["127.0.0.1", "127.0.0.2"])
    ours.fromTracker("not a url", "203.0.113.9")
    expect(ours.refused).toBe(2)
  })

  it("garbage is refused, not thrown", () => {
    const ours = new ExternalAddresses()
    ours.fromPeer("not an address", "203.0.113.9")
    ours.fromPeer("198.51.100.1", "example.org")
    ours.fromGateway("")
    expect(ours.refused).toBe(3)
    expect(normalizeIp("[2001:DB8::1]")).toBe("2001:db8::1")
    expect(normalizeIp("fe80::1%eth0")).toBeUndefined()
    expect(scopeOf("10.1.2.3")).toBe("private")
    expect(scopeOf("::1")).toBe("loopback")
    expect(scopeOf("8.8.8.8")).toBe("public")
  })
})
