import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import fc from "fast-check"
import * as dgram from "node:dgram"
import type { AddressInfo } from "node:net"
import type { Endpoint } from "../../../src/net/Datagram.js"
import { decodeAnnounce, encodeAnnounce } from "../../../src/net/lsd/codec.js"
import { type LsdChannel, make } from "../../../src/net/lsd/Lsd.js"
import * as NodeDatagram from "../../../src/net/NodeDatagram.js"

const HASH = "0123456789abcdef0123456789abcdef01234567"
const OTHER = "fedcba9876543210fedcba9876543210fedcba98"

describe("LSD announce codec (BEP 14)", () => {
  it("writes an announce as the BEP shows it, and reads it back", () => {
    const bytes = encodeAnnounce("239.192.152.143:6771", { port: 6881, infoHashes: [HASH, OTHER], cookie: "c00k1e" })
    expect(Buffer.from(bytes).toString()).toBe(
      "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n" +
        `Infohash: ${HASH}\r\nInfohash: ${OTHER}\r\ncookie: c00k1e\r\n\r\n\r\n`
    )
    expect(decodeAnnounce(bytes)).toEqual({ port: 6881, infoHashes: [HASH, OTHER], cookie: "c00k1e" })
    // Header names in any case, an upper-case hash, no cookie.
    expect(decodeAnnounce(Buffer.from(`BT-SEARCH * HTTP/1.1\r\nhost: [ff15::efc0:988f]:6771\r\nPORT: 51413\r\ninfohash: ${HASH.toUpperCase()}\r\n\r\n\r\n`)))
      .toEqual({ port: 51413, infoHashes: [HASH] })
  })

  it("refuses what is not an announce, and bounds what it reads", () => {
    const refuse = (text: string) => decodeAnnounce(Buffer.from(text))
    expect(refuse("M-SEARCH * HTTP/1.1\r\n\r\n")).toBe("not a BT-SEARCH announce")
    expect(refuse(`BT-SEARCH * HTTP/1.1\r\nInfohash: ${HASH}\r\n\r\n`)).toBe("an announce without a port")
    expect(refuse("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n")).toBe("an announce without an info-hash")
    expect(refuse(`BT-SEARCH * HTTP/1.1\r\nPort: 70000\r\nInfohash: ${HASH}\r\n\r\n`)).toBe("port 70000 is not a port")
    expect(refuse("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: 12\r\n\r\n")).toBe("an info-hash that is not 40 hex digits")
    const thousand = encodeAnnounce("h", { port: 1, infoHashes: Array.from({ length: 1000 }, () => HASH) })
    expect(decodeAnnounce(thousand)).toBe(`an LSD datagram of ${thousand.length} bytes`)
    const twenty = decodeAnnounce(encodeAnnounce("h", { port: 1, infoHashes: Array.from({ length: 20 }, () => HASH) }))
    expect(typeof twenty === "object" && twenty.infoHashes.length).toBe(16)
  })

  it("never throws on garbage", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 200 }), (bytes, text) => {
        expect(["string", "object"]).toContain(typeof decodeAnnounce(bytes))
        expect(["string", "object"]).toContain(typeof decodeAnnounce(Buffer.from(`BT-SEARCH * HTTP/1.1\r\n${text}`)))
      }),
      { numRuns: 2000 }
    )
  })
})

/** Free UDP ports on 127.0.0.1 (bound, read, closed). */
const freeUdpPorts = (n: number) =>
  Effect.promise(() =>
    Promise.all(Array.from({ length: n }, () =>
      new Promise<number>((resolve) => {
        const s = dgram.createSocket("udp4")
        s.bind(0, "127.0.0.1", () => {
          const port = (s.address() as AddressInfo).port
          s.close(() => resolve(port))
        })
      })))
  )

const realWait = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** An LSD node listening on 127.0.0.1:`port`, announcing (unicast) to 127.0.0.1:`to`. */
const node = (port: number, to: number) => {
  const channel: LsdChannel = { family: "ipv4", host: "127.0.0.1", port, group: { host: "127.0.0.1", port: to }, join: false }
  return make({ channels: [channel] }).pipe(Effect.provide(NodeDatagram.layer))
}

describe("Lsd service: two of our nodes on 127.0.0.1 (unicast in place of the group: multicast does not flow on lo)", () => {
  it.scoped("each finds the other for a torrent both announce; not for one it does not have; again every 5 minutes", () =>
    Effect.gen(function*() {
      const [pa, pb] = yield* freeUdpPorts(2)
      const a = yield* node(pa!, pb!)
      const b = yield* node(pb!, pa!)
      const foundByA: Array<Endpoint> = []
      const foundByB: Array<Endpoint> = []
      const hash = Buffer.from(HASH, "hex")
      yield* a.add(hash, 6001, (peers) => Effect.sync(() => foundByA.push(...peers)))
      yield* b.add(hash, 6002, (peers) => Effect.sync(() => foundByB.push(...peers)))
      const otherByB: Array<Endpoint> = []
      yield* b.add(Buffer.from(OTHER, "hex"), 6002, (peers) => Effect.sync(() => otherByB.push(...peers)))
      yield* realWait(100)
      // A listened before B announced. A's first announce may have gone out before B listened: it counts either way.
      expect(foundByA).toEqual([{ host: "127.0.0.1", port: 6002 }])
      const early = foundByB.length
      expect(early).toBeLessThanOrEqual(1)
      yield* TestClock.adjust("4 minutes")
      yield* realWait(50)
      expect(foundByB.length).toBe(early)
      yield* TestClock.adjust("1 minute")
      yield* realWait(100)
      expect(foundByB).toEqual(Array.from({ length: early + 1 }, () => ({ host: "127.0.0.1", port: 6001 })))
      expect(foundByA).toEqual([{ host: "127.0.0.1", port: 6002 }, { host: "127.0.0.1", port: 6002 }])
      expect(otherByB).toEqual([])
      const stats = yield* a.stats
      expect(stats.malformed).toBe(0)
    }))

  it.scoped("its own announces (cookie) are ignored; a flood from one address is cut at 20 a minute; junk is counted", () =>
    Effect.gen(function*() {
      const [pa] = yield* freeUdpPorts(1)
      const a = yield* node(pa!, pa!)
      const found: Array<Endpoint> = []
      yield* a.add(Buffer.from(HASH, "hex"), 6001, (peers) => Effect.sync(() => found.push(...peers)))
      yield* realWait(100)
      expect(yield* a.stats).toMatchObject({ received: 1, ownAnnounces: 1, peers: 0 })

      const flood = dgram.createSocket("udp4")
      yield* Effect.addFinalizer(() => Effect.sync(() => flood.close()))
      for (let i = 0; i < 30; i++) {
        flood.send(Buffer.from(encodeAnnounce("x", { port: 7000 + i, infoHashes: [HASH] })), pa!, "127.0.0.1")
      }
      flood.send(Buffer.from("BT-SEARCH * HTTP/1.1\r\n\r\n"), pa!, "127.0.0.1")
      yield* realWait(200)
      const stats = yield* a.stats
      expect(stats.received).toBe(32)
      // One of the 20 a minute was our own announce: 19 more from the flood pass.
      expect(stats.peers).toBe(19)
      expect(found.length).toBe(19)
      expect(stats.rateLimited).toBe(12)
    }))
})
