/** Fuzzing the tracker response decoders: HTTP (bencoded announce and scrape answers) and UDP (BEP 15 packets). */
import * as Either from "effect/Either"
import fc from "fast-check"
import { describe } from "vitest"
import { type Bencodable, encode } from "../../src/bencode/index.js"
import { decodeAnnounceResponse, decodeScrapeResponse } from "../../src/tracker/http/response.js"
import { Action, decodeResponse } from "../../src/tracker/udp/codec.js"
import type { PeerAddress } from "../../src/tracker/types.js"
import { bytesArb, ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

/** `undefined` mostly, a value one time in eight. */
const rarely = <A>(arbitrary: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 7 }, { arbitrary, weight: 1 })

const count = fc.oneof(fc.nat(), fc.integer({ min: -5, max: -1 }), fc.constant(Number.MAX_SAFE_INTEGER))
const compact = (size: number) => fc.array(fc.uint8Array({ minLength: size, maxLength: size }), { maxLength: 6 })
  .map((entries) => new Uint8Array(Buffer.concat(entries)))

const dictionaryPeer = fc.record({
  ip: fc.oneof(fc.constantFrom("127.0.0.1", "::1", "example.org", "", "\u0007bell"), fc.string({ maxLength: 12 })),
  port: fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constant(-1)),
  "peer id": fc.option(fc.uint8Array({ minLength: 20, maxLength: 20 }), { nil: undefined })
}, { requiredKeys: [] })

/** Announce answers as trackers send them: compact or dictionary peers, IPv6 peers, counts, a warning or a failure. */
const announceAnswers: fc.Arbitrary<Uint8Array> = fc.record({
  interval: count,
  "min interval": count,
  complete: count,
  incomplete: count,
  peers: fc.oneof(compact(6), fc.array(dictionaryPeer, { maxLength: 4 }), rarely(fc.constant(7))),
  peers6: compact(18),
  "warning message": bytesArb(40),
  "tracker id": bytesArb(20)
}, { requiredKeys: [] }).chain((dict) =>
  rarely(bytesArb(40)).map((failure) =>
    encode({ ...dict, "failure reason": failure } as Record<string, Bencodable | undefined>)
  )
)

const scrapeAnswers: fc.Arbitrary<Uint8Array> = fc.record({
  files: fc.array(
    fc.tuple(
      fc.oneof(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ maxLength: 24 }))
        .map((key) => Buffer.from(key).toString("latin1")),
      fc.record({ complete: count, downloaded: count, incomplete: count }, { requiredKeys: [] })
    ),
    { maxLength: 4 }
  ).map((entries) => new Map<string, Bencodable>(entries)),
  "failure reason": rarely(bytesArb(20))
}).map((dict) => encode(dict as Record<string, Bencodable | undefined>))

const ensurePeer = (peer: PeerAddress): void => {
  ensure(typeof peer.host === "string" && peer.host.length > 0, "a peer has a host")
  ensure(Number.isInteger(peer.port) && peer.port > 0 && peer.port < 65536, "a peer has a TCP port")
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const ensureCounts = (...counts: ReadonlyArray<number>): void => {
  for (const n of counts) ensure(Number.isSafeInteger(n) && n >= 0, "counts are not negative")
}

const header = (action: number, transactionId: number, size: number): Buffer => {
  const bytes = Buffer.alloc(size)
  bytes.writeUInt32BE(action, 0)
  bytes.writeUInt32BE(transactionId, 4)
  return bytes
}

const int32 = fc.oneof(fc.nat({ max: 100_000 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }))
const transaction = fc.nat({ max: 0xffffffff })

/** BEP 15 response packets of every action, with a few trailing bytes sometimes. */
const udpPackets: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(transaction, fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([id, connection]) => {
    const bytes = header(Action.connect, id, 16)
    bytes.set(connection, 8)
    return new Uint8Array(bytes)
  }),
  fc.tuple(transaction, int32, int32, int32, fc.uint8Array({ maxLength: 6 * 8 + 5 })).map((
    [id, interval, leechers, seeders, peers]
  ) => {
    const bytes = header(Action.announce, id, 20)
    bytes.writeInt32BE(interval, 8)
    bytes.writeInt32BE(leechers, 12)
    bytes.writeInt32BE(seeders, 16)
    return new Uint8Array(Buffer.concat([bytes, peers]))
  }),
  fc.tuple(transaction, fc.array(fc.tuple(int32, int32, int32), { maxLength: 6 })).map(([id, entries]) => {
    const bytes = header(Action.scrape, id, 8 + 12 * entries.length)
    entries.forEach(([a, b, c], i) => {
      bytes.writeInt32BE(a, 8 + 12 * i)
      bytes.writeInt32BE(b, 12 + 12 * i)
      bytes.writeInt32BE(c, 16 + 12 * i)
    })
    return new Uint8Array(bytes)
  }),
  fc.tuple(transaction, fc.uint8Array({ maxLength: 300 })).map(([id, message]) =>
    new Uint8Array(Buffer.concat([header(Action.error, id, 8), message]))
  )
)

describe("fuzz: trackers", () => {
  fuzzTarget("HTTP tracker announce response", fuzzInputs(announceAnswers), (bytes) => {
    const result = decodeAnnounceResponse(bytes)
    if (Either.isLeft(result)) {
      ensure(result.left.reason === "Decode" || result.left.reason === "Rejected", "a known reason")
      ensure(typeof result.left.detail === "string", "a detail")
      return false
    }
    const answer = result.right
    ensureCounts(answer.interval)
    for (const peer of answer.peers) ensurePeer(peer)
    ensure(new Set(answer.peers.map((p) => `${p.host}|${p.port}`)).size === answer.peers.length, "no peer twice")
    ensure(answer.warning === undefined || !CONTROL.test(answer.warning), "a printable warning")
    return true
  })

  fuzzTarget("HTTP tracker scrape response", fuzzInputs(scrapeAnswers), (bytes) => {
    const result = decodeScrapeResponse(bytes)
    if (Either.isLeft(result)) {
      ensure(result.left.reason === "Decode" || result.left.reason === "Rejected", "a known reason")
      return false
    }
    for (const [hash, entry] of result.right) {
      ensure(/^[0-9a-f]{40}$/.test(hash), "keyed by info-hash")
      ensureCounts(entry.complete, entry.downloaded, entry.incomplete)
    }
    return true
  })

  const families = fc.constantFrom("ipv4" as const, "ipv6" as const)
  fuzzTarget("UDP tracker response", fc.tuple(fuzzInputs(udpPackets), families), ([bytes, family]) => {
    const result = decodeResponse(bytes, family)
    if (Either.isLeft(result)) {
      ensure(typeof result.left === "string", "the error is a reason")
      return false
    }
    const packet = result.right
    const id = packet.transactionId
    ensure(Number.isInteger(id) && id >= 0 && id <= 0xffffffff, "a uint32 transaction id")
    switch (packet.action) {
      case "connect":
        ensure(packet.connectionId.length === 8, "an 8-byte connection id")
        return true
      case "announce":
        ensureCounts(packet.interval, packet.leechers, packet.seeders)
        for (const peer of packet.peers) ensurePeer(peer)
        return true
      case "scrape":
        for (const entry of packet.entries) ensureCounts(entry.complete, entry.downloaded, entry.incomplete)
        return true
      case "error":
        ensure(packet.message.length <= 200 && !CONTROL.test(packet.message), "a short printable message")
        return true
    }
  })
})
