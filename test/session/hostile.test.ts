/**
 * Hostile input from peers, on the memory transport: one honest seeder plus a peer that misbehaves in one way.
 * Each time the download completes with the right bytes, the offender is dropped by us (for the reason its
 * misbehaviour calls for: read from our debug log) and, where the drop is final, never dialled again.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, LogLevel, Schedule, type Scope } from "effect"
import type { Endpoint } from "../../src/net/Datagram.js"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import type { Transport } from "../../src/peer/transport/Transport.js"
import { layerConfig, Session, type SessionConfig, type TorrentHandle } from "../../src/session/index.js"
import { layerMemory, MemoryStorage } from "../../src/storage/index.js"
import { layerTest as trackerTest } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import {
  encodeHandshake,
  encodeHave,
  encodeMessage,
  encodeRequest,
  HANDSHAKE_LENGTH,
  INTERESTED,
  KEEP_ALIVE,
  MAX_BLOCK,
  OUR_RESERVED,
  UNCHOKE,
  WireDecoder
} from "../../src/wire/index.js"
import { makeSwarmTorrent, randomBytes } from "./fixtures.js"
import { dialRaw, listenRaw, type RawPeer, type RawSide } from "./hostileDouble.js"
import { type SeederDouble, startSeeder } from "./seederDouble.js"

/** 36 pieces of 32 KiB over three files; the last piece is 30,898 bytes. */
const fixture = makeSwarmTorrent({
  pieceLength: 32768,
  seed: 7,
  files: [
    { path: ["one.bin"], length: 400_000 },
    { path: ["sub", "two.bin"], length: 654_321 },
    { path: ["three.bin"], length: 123_457 }
  ]
})
const { torrent } = fixture
const lastPiece = torrent.pieceCount - 1
const lastPieceSize = torrent.totalLength - lastPiece * torrent.pieceLength

const IDLE_MS = 1000
const HANDSHAKE_MS = 500

/** Timeouts in the hundreds of milliseconds, so misbehaving peers are dealt with well inside a test's time. */
const fastConfig: Partial<SessionConfig> = {
  // The doubles speak plaintext only (encrypted dialling and its fallback have tests of their own).
  encryption: "disable",
  connectTimeout: Duration.seconds(1),
  handshakeTimeout: Duration.millis(HANDSHAKE_MS),
  keepAliveAfter: Duration.millis(300),
  keepAlive: Schedule.spaced(Duration.millis(100)),
  idleTimeout: Duration.millis(IDLE_MS),
  requestTimeout: Duration.millis(200),
  snubTimeout: Duration.millis(500),
  chokedTimeout: Duration.millis(400),
  reconnect: Schedule.spaced(Duration.millis(100)).pipe(Schedule.intersect(Schedule.recurs(3))),
  tick: Duration.millis(50)
}

type Env = Session | Transport | MemoryStorage | Scope.Scope

/**
 * Runs `body` against a fresh memory network and memory storage, with the session's debug log collected in
 * `logs` (one line per message: peer errors are logged as "host:port: why").
 */
const inSwarm = <A, E>(
  body: (logs: ReadonlyArray<string>) => Effect.Effect<A, E, Env>,
  config: Partial<SessionConfig> = {}
) => {
  const logs: Array<string> = []
  const collect = Logger.make(({ message }) => {
    logs.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
  })
  const base = Layer.mergeAll(MemoryTransport.layerMemory, layerMemory(), Verifier.layer, trackerTest({}))
  return body(logs).pipe(
    Effect.scoped,
    Effect.provide(layerConfig({ ...fastConfig, ...config }).pipe(Layer.provideMerge(base))),
    Effect.provide(Layer.merge(Logger.replace(Logger.defaultLogger, collect), Logger.minimumLogLevel(LogLevel.Debug)))
  )
}

const keyOf = (address: Endpoint) => `${address.host}:${address.port}`

/** An honest seeder slow enough (~0.4 s for the torrent) that the offender acts while we still need pieces. */
const honestSeeder = () => startSeeder({ ...fixture, delayMs: 5 })

const add = (peers: ReadonlyArray<Endpoint>) =>
  Effect.flatMap(Session, (session) => session.add(torrent, { directory: "/downloads", peers, trackers: false }))

/** The session's own address on the memory network (it listens on `listenHosts`), for doubles that dial it. */
const sessionAddress = (host = "0.0.0.0") => Effect.map(Session, (session): Endpoint => ({ host, port: session.port }))

const finish = (handle: TorrentHandle) =>
  handle.done.pipe(
    Effect.timeoutFail({ duration: Duration.seconds(5), onTimeout: () => new Error("the download did not finish") })
  )

const waitUntil = (what: string, condition: () => boolean, within = Duration.seconds(4)) =>
  Effect.suspend(() => (condition() ? Effect.void : Effect.fail("not yet" as const))).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(10))),
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`timed out waiting until ${what}`) })
  )

const expectStoredContent = Effect.gen(function*() {
  const stored = (yield* MemoryStorage).contents(torrent.infoHashHex)
  expect(stored).toBeDefined()
  expect(Buffer.from(stored!).equals(fixture.content)).toBe(true)
})

const expectWellBehaved = (double: SeederDouble) => {
  expect(double.log.errors).toEqual([])
  expect(double.log.requestsWhileChoking).toBe(0)
}

/** The offender's connections all ended, each closed by us. */
const expectDroppedByUs = (offender: RawPeer) =>
  Effect.gen(function*() {
    yield* waitUntil("the offender is dropped", () => offender.log.connections > 0 && offender.log.open === 0)
    expect(offender.log.closes.length).toBeGreaterThan(0)
    for (const close of offender.log.closes) expect(close.by).toBe("client")
  })

/** Our log has a line about `peer` matching `why`. */
const expectLogged = (logs: ReadonlyArray<string>, peer: string, why: RegExp) =>
  expect(logs.filter((line) => line.startsWith(`${peer}: `)).join("\n")).toMatch(why)

/** A message frame with any id and payload (the encoder knows only the ids we speak). */
const frame = (id: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const out = Buffer.alloc(5 + payload.length)
  out.writeUInt32BE(1 + payload.length, 0)
  out[4] = id
  out.set(payload, 5)
  return out
}

const u32 = (value: number): Uint8Array => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value >>> 0, 0)
  return out
}

/**
 * A listening offender that answers our handshake properly and then sends `bytes`. The test checks that the
 * download completes, that we dropped it, said why, and never dialled it again (a protocol error is final).
 */
const protocolOffender = (what: string, bytes: () => Uint8Array, why: RegExp) =>
  it.live(`drops a peer that ${what}`, () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const offender = yield* listenRaw({
          torrent,
          script: {
            onHandshake: (side) => {
              side.handshake()
              side.write(bytes())
              side.every(50, () => side.write(KEEP_ALIVE))
            }
          }
        })
        const honest = yield* honestSeeder()
        const handle = yield* add([offender.address, honest.address])
        yield* finish(handle)

        yield* expectStoredContent
        expectWellBehaved(honest)
        yield* expectDroppedByUs(offender)
        expectLogged(logs, keyOf(offender.address), why)
        yield* Effect.sleep(Duration.millis(300))
        expect(offender.log.connections).toBe(1)
      })
    ))

describe("hostile peers: broken framing and messages", () => {
  protocolOffender(
    "sends a length prefix of 4 GiB (and then a megabyte of junk)",
    () => Buffer.concat([u32(0xffffffff), Buffer.alloc(1024 * 1024, 0xaa)]),
    /message of 4294967295 bytes is too long/
  )

  protocolOffender(
    "sends a `piece` of 100 KiB (under the largest message of any kind, over a block)",
    () => Buffer.concat([u32(100 * 1024), Buffer.from([7]), Buffer.alloc(64 * 1024)]),
    /message 7 of 102400 bytes is too long/
  )

  protocolOffender(
    "sends an HTTP request after its handshake",
    () => Buffer.from("GET /announce HTTP/1.1\r\nHost: example.org\r\n\r\n"),
    /bytes is too long/
  )

  protocolOffender(
    "sends 64 KiB of random bytes after its handshake",
    () => randomBytes(64 * 1024, 1234),
    /too long|bytes \(expected|past the end|bitfield|bad request/
  )

  protocolOffender("sends a `have` 3 bytes long", () => frame(4, new Uint8Array([0, 0])), /have message of 3 bytes/)

  protocolOffender(
    "sends a bitfield one byte too long",
    () => frame(5, new Uint8Array(Math.ceil(torrent.pieceCount / 8) + 1).fill(0xff)),
    /bitfield of 6 bytes for 36 pieces/
  )

  protocolOffender(
    "sends a bitfield with its spare bits set",
    () => frame(5, new Uint8Array(Math.ceil(torrent.pieceCount / 8)).fill(0xff)),
    /spare bits/
  )

  protocolOffender(
    "sends a `have` for a piece past the end",
    () => encodeHave(torrent.pieceCount),
    /piece 36 is past the end/
  )

  protocolOffender(
    "requests a block longer than 16 KiB",
    () => Buffer.concat([INTERESTED, encodeRequest(0, 0, 2 * MAX_BLOCK)]),
    /bad request: piece 0, 32768 bytes at 0/
  )

  protocolOffender(
    "requests past the end of the last piece",
    () => Buffer.concat([INTERESTED, encodeRequest(lastPiece, lastPieceSize - 100, MAX_BLOCK)]),
    /bad request: piece 35/
  )

  protocolOffender(
    "requests a piece past the end",
    () => Buffer.concat([INTERESTED, encodeRequest(torrent.pieceCount, 0, MAX_BLOCK)]),
    /piece 36 is past the end/
  )

  protocolOffender(
    "keeps requesting what we cannot give it",
    () => Buffer.concat(Array.from({ length: 100 }, () => encodeRequest(0, 0, MAX_BLOCK))),
    /kept requesting/
  )

  it.live("drops a peer that answers our handshake with something else", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const reply = Buffer.alloc(HANDSHAKE_LENGTH, 0x20)
        reply.write("HTTP/1.1 400 Bad Request\r\n")
        const offender = yield* listenRaw({ torrent, script: { onHandshake: (side) => side.write(reply) } })
        const honest = yield* honestSeeder()
        const handle = yield* add([offender.address, honest.address])
        yield* finish(handle)

        yield* expectStoredContent
        yield* expectDroppedByUs(offender)
        expectLogged(logs, keyOf(offender.address), /not a BitTorrent handshake/)
        expect(offender.log.connections).toBe(1)
      })
    ))

  it.live("skips messages of unknown ids, downloading everything from a seeder that sends them", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        // After its bitfield and after every block: ids nobody assigned, with and without payload.
        const chatter = Buffer.concat([frame(21), frame(99, randomBytes(300, 5)), frame(255, new Uint8Array([1, 2, 3]))])
        const chatty = yield* startSeeder({ ...fixture, chatter })
        const handle = yield* add([chatty.address])
        yield* finish(handle)

        yield* expectStoredContent
        expectWellBehaved(chatty)
        expect(chatty.log.connections).toBe(1)
        expect(chatty.log.served.length).toBeGreaterThan(0)
        // It was kept until we were done (then two seeds hang up), with no complaint about its messages.
        const about = logs.filter((line) => line.startsWith(`${keyOf(chatty.address)}: `))
        expect(about.join("\n")).not.toMatch(/too long|expected|bad/)
      })
    ))
})

describe("hostile peers: floods", () => {
  it.live("completes while a peer floods 100,000 `have`s and 100,000 keep-alives, answering it nothing", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const flood = Buffer.concat(
          Array.from({ length: 100_000 }, (_, i) => Buffer.concat([encodeHave(i % torrent.pieceCount), KEEP_ALIVE]))
        )
        let sent = 0
        const flooder = yield* listenRaw({
          torrent,
          script: {
            onHandshake: (side) => {
              side.handshake()
              // In 64 KiB chunks, as a socket would deliver it.
              for (let at = 0; at < flood.length; at += 65536) side.write(flood.subarray(at, at + 65536))
              sent = flood.length
            }
          }
        })
        const honest = yield* honestSeeder()
        const handle = yield* add([flooder.address, honest.address])
        yield* finish(handle)

        yield* expectStoredContent
        expectWellBehaved(honest)
        expect(sent).toBe(900_000 + 400_000)
        // Its haves made it a seed in our eyes: we said we were interested, and got nothing more to send it. It
        // never unchoked us, so it was dropped for that, not for the flood; or, when the honest seeder finished
        // the download first, as a seed we no longer need (which of the two comes first depends on load).
        expect(flooder.log.received).toBeLessThan(HANDSHAKE_LENGTH + 1000)
        yield* expectDroppedByUs(flooder)
        expectLogged(logs, keyOf(flooder.address), /kept us choked|both sides have every piece/)
      })
    ))
})

describe("hostile peers: silence and dripping", () => {
  /** When each of the offender's connections was closed, in ms after it opened. */
  const lifetimes = (peer: RawPeer) => peer.log.closes.map((close) => close.at - close.openedAt)

  it.live("drops a peer that accepts our connection and never answers, after the handshake timeout", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const silent = yield* listenRaw({ torrent, script: {} })
        const honest = yield* honestSeeder()
        const handle = yield* add([silent.address, honest.address])
        yield* finish(handle)

        yield* expectStoredContent
        yield* expectDroppedByUs(silent)
        expect(silent.log.handshakes).toBe(1)
        expectLogged(logs, keyOf(silent.address), /no handshake in time/)
        expect(lifetimes(silent)[0]).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50)
        expect(lifetimes(silent)[0]).toBeLessThan(HANDSHAKE_MS + 1000)
        expect(silent.log.connections).toBe(1)
      })
    ))

  it.live("drops a peer that connects to us and sends nothing, after the handshake timeout", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const honest = yield* honestSeeder()
        const handle = yield* add([honest.address])
        const silent = yield* dialRaw({ torrent, to: yield* sessionAddress(), script: {} })
        yield* finish(handle)

        yield* expectStoredContent
        yield* expectDroppedByUs(silent)
        expect(silent.log.received).toBe(0)
        expect(lifetimes(silent)[0]).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50)
        expect(lifetimes(silent)[0]).toBeLessThan(HANDSHAKE_MS + 1000)
        expect(logs.join("\n")).toMatch(/refused: no handshake in time/)
      })
    ))

  /** Writes `bytes` one byte every `ms`. */
  const drip = (side: RawSide, bytes: Uint8Array, ms: number) => {
    let at = 0
    side.every(ms, () => {
      side.write(bytes.subarray(at, at + 1))
      return ++at < bytes.length
    })
  }
  const ourHandshake = (peerId: Uint8Array) =>
    encodeHandshake({ reserved: OUR_RESERVED, infoHash: torrent.infoHash, peerId })

  it.live("drops a peer that drips its handshake a byte at a time, after the handshake timeout", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const dripper = yield* listenRaw({
          torrent,
          script: { onHandshake: (side) => drip(side, ourHandshake(dripper.peerId), 100) }
        })
        const honest = yield* honestSeeder()
        const handle = yield* add([dripper.address, honest.address])
        yield* finish(handle)

        yield* expectStoredContent
        yield* expectDroppedByUs(dripper)
        expectLogged(logs, keyOf(dripper.address), /no handshake in time/)
        expect(lifetimes(dripper)[0]).toBeLessThan(HANDSHAKE_MS + 1000)
      })
    ))

  it.live("drops a peer that connects to us and drips its handshake, after the handshake timeout", () =>
    inSwarm(() =>
      Effect.gen(function*() {
        const honest = yield* honestSeeder()
        const handle = yield* add([honest.address])
        const dripper = yield* dialRaw({
          torrent,
          to: yield* sessionAddress(),
          script: { onConnect: (side) => drip(side, ourHandshake(new Uint8Array(20).fill(3)), 100) }
        })
        yield* finish(handle)

        yield* expectStoredContent
        yield* expectDroppedByUs(dripper)
        expect(lifetimes(dripper)[0]).toBeLessThan(HANDSHAKE_MS + 1000)
      })
    ))

  it.live("drops a peer that, after its handshake, drips a message a byte at a time, after the idle timeout", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        // A `piece` message of 16 KiB would take an hour at this pace: a byte every 200 ms is no message at all.
        const block = encodeMessage({ type: "piece", index: 0, begin: 0, block: new Uint8Array(MAX_BLOCK) })
        const dripper = yield* listenRaw({
          torrent,
          script: {
            onHandshake: (side) => {
              side.handshake()
              drip(side, block, 200)
            }
          }
        })
        const honest = yield* honestSeeder()
        const handle = yield* add([dripper.address, honest.address])
        yield* finish(handle)

        yield* expectStoredContent
        yield* expectDroppedByUs(dripper)
        expectLogged(logs, keyOf(dripper.address), /sent no message for 1 s/)
        expect(lifetimes(dripper)[0]).toBeGreaterThanOrEqual(IDLE_MS - 50)
        expect(lifetimes(dripper)[0]).toBeLessThan(IDLE_MS + 1000)
      })
    ))
})

describe("hostile peers: identity", () => {
  it.live("refuses a connection to itself, by its peer id, given its own address under another name", () =>
    // As when a tracker lists our public address: nothing tells it is ours but the handshake.
    inSwarm(
      (logs) =>
        Effect.gen(function*() {
          const self = yield* sessionAddress("self.test")
          const honest = yield* honestSeeder()
          const handle = yield* add([self, honest.address])
          let peersSeen = 0
          yield* handle.progress.pipe(
            Effect.tap((progress) => Effect.sync(() => (peersSeen = Math.max(peersSeen, progress.peers)))),
            Effect.repeat(Schedule.spaced(Duration.millis(5))),
            Effect.forkScoped
          )
          yield* finish(handle)

          yield* expectStoredContent
          expectWellBehaved(honest)
          // We accept the connection, read our own peer id in its handshake, and refuse it. The dialling end only
          // sees the connection close (the memory transport drops the bytes in flight, our handshake among them),
          // so it redials on the reconnect schedule, each time refused, until the schedule ends. (Over TCP the
          // dialling end reads our handshake first and refuses too, as final: one attempt.)
          yield* waitUntil("we give up on our own address", () =>
            logs.some((line) => line.startsWith(`giving up: ${keyOf(self)}: `)))
          const refusals = logs.filter((line) => /^memory:\d+: connected to ourselves$/.test(line))
          const attempts = logs.filter((line) =>
            line === `${keyOf(self)}: the peer closed the connection` || line === `${keyOf(self)}: connected to ourselves`
          )
          expect(refusals.length).toBe(attempts.length)
          expect(attempts.length).toBeGreaterThanOrEqual(1)
          expect(attempts.length).toBeLessThanOrEqual(4)
          // Never admitted: at no time was more than the honest seeder connected.
          expect(peersSeen).toBeLessThanOrEqual(1)
        }),
      { listenHosts: ["self.test"] }
    ))

  it.live("does not even dial its own port on a local address", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const self = yield* sessionAddress("0.0.0.0")
        const honest = yield* honestSeeder()
        const handle = yield* add([self, { host: "127.0.0.1", port: self.port }, honest.address])
        yield* finish(handle)

        yield* expectStoredContent
        yield* Effect.sleep(Duration.millis(300))
        expect(logs.filter((line) => /connected to ourselves|:6881: /.test(line))).toEqual([])
      })
    ))

  it.live("refuses a second connection from a peer id already connected", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const honest = yield* honestSeeder()
        const handle = yield* add([honest.address])
        const twice = yield* dialRaw({
          torrent,
          to: yield* sessionAddress(),
          connections: 2,
          script: {
            onConnect: (side) => {
              side.handshake()
              side.every(100, () => side.write(KEEP_ALIVE))
            }
          }
        })
        yield* waitUntil("one of the two connections is refused", () => twice.log.closes.length > 0)
        yield* finish(handle)

        yield* expectStoredContent
        expect(twice.log.closes).toMatchObject([{ by: "client" }])
        // The other one is still there: it breaks no rule.
        expect(twice.log.open).toBe(1)
        expect(logs.join("\n")).toMatch(/already connected to this peer/)
      })
    ))
})

describe("the wire decoder under hostile input", () => {
  const sink = { onHandshake: () => {}, onMessage: () => {} }
  const pieceCount = torrent.pieceCount
  /** The longest message it accepts: an extended message of 1 MiB (the default), beyond a 16 KiB block. */
  const limit = 2 + 1024 * 1024

  it("refuses a 4 GiB length prefix without buffering, and everything after it", () => {
    const decoder = new WireDecoder({ pieceCount, expectHandshake: false })
    expect(decoder.push(u32(0xffffffff), sink)?.reason).toBe("TooLong")
    expect(decoder.buffered).toBe(0)
    for (let i = 0; i < 100; i++) expect(decoder.push(new Uint8Array(65536), sink)?.reason).toBe("TooLong")
    expect(decoder.buffered).toBe(0)
  })

  it("refuses an oversized length split across chunks before its id byte arrives", () => {
    const decoder = new WireDecoder({ pieceCount, expectHandshake: false })
    expect(decoder.push(Uint8Array.of(0x00, 0x20), sink)).toBeUndefined()
    expect(decoder.push(Uint8Array.of(0x00, 0x00), sink)?.reason).toBe("TooLong")
    expect(decoder.buffered).toBe(0)
  })

  it("holds at most one message while the largest allowed trickles in, a byte at a time at the end", () => {
    const decoder = new WireDecoder({ pieceCount, expectHandshake: false })
    const big = frame(99, new Uint8Array(limit - 1))
    let most = 0
    for (let at = 0, step = 4096; at < big.length; at += step) {
      step = at < big.length - 100 ? 4096 : 1
      expect(decoder.push(big.subarray(at, Math.min(big.length, at + step)), sink)).toBeUndefined()
      most = Math.max(most, decoder.buffered)
    }
    expect(most).toBeLessThanOrEqual(limit)
    expect(decoder.buffered).toBe(0)
    // One byte more than that is refused before anything is kept.
    expect(decoder.push(frame(99, new Uint8Array(limit)).subarray(0, 8), sink)?.reason).toBe("TooLong")
  })

  it("keeps nothing between messages across a flood of 200,000 of them", () => {
    const decoder = new WireDecoder({ pieceCount, expectHandshake: false })
    let messages = 0
    const flood = Buffer.concat(
      Array.from({ length: 100_000 }, (_, i) => Buffer.concat([encodeHave(i % pieceCount), KEEP_ALIVE]))
    )
    const counting = { onHandshake: () => {}, onMessage: () => void messages++ }
    // Cut at odd places, so messages straddle chunks.
    for (let at = 0; at < flood.length; at += 4093) {
      expect(decoder.push(flood.subarray(at, at + 4093), counting)).toBeUndefined()
      expect(decoder.buffered).toBeLessThan(9)
    }
    expect(messages).toBe(200_000)
    expect(decoder.buffered).toBe(0)
  })
})

describe("lenient where real clients differ from BEP 3", () => {
  it.live("takes a bitfield sent after haves (as aria2 does) as more haves, and keeps the peer", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const late = yield* listenRaw({
          torrent,
          script: {
            onHandshake: (side) => {
              side.handshake()
              // Piece 0 by `have`, then a bitfield naming piece 1 only, then an unchoke: BEP 3 wants the bitfield
              // first; aria2 1.36 sends one like this while it leeches.
              side.write(encodeHave(0))
              side.bitfield([1])
              side.write(UNCHOKE)
            }
          }
        })
        yield* add([late.address])
        // Our handshake, `interested`, and requests for the blocks of both pieces (two each at 32 KiB): the
        // pieces of the late bitfield were counted. Dropping it for the late bitfield would close the connection.
        const expected = HANDSHAKE_LENGTH + INTERESTED.length + 4 * 17
        yield* waitUntil("requests for pieces 0 and 1 arrive", () => late.log.received >= expected)
        expect(late.log.closes).toEqual([])
        expect(logs.some((line) => line.includes("bitfield after"))).toBe(false)
      })
    ))
})

describe("bans by IP address", () => {
  it.live("a liar banned while we dialled it is refused by address: not redialled on another port, and 1,000 connections back from new ports are closed before a byte is read", () =>
    inSwarm((logs) =>
      Effect.gen(function*() {
        const liar = yield* startSeeder({ ...fixture, corrupt: {}, host: "10.9.9.9" })
        const honest = yield* honestSeeder()
        const handle = yield* add([liar.address, honest.address])
        yield* finish(handle)
        yield* expectStoredContent
        yield* waitUntil("the liar is dropped", () => liar.log.open === 0)
        expect(liar.log.closes).toMatchObject([{ by: "client" }])

        // Another port of the banned address (a second listener there) is never dialled.
        const sameHost = yield* startSeeder({ ...fixture, host: "10.9.9.9" })
        yield* handle.addPeers([sameHost.address, liar.address])
        // It comes back, dialling us from new ports: each connection is closed without our handshake or any read.
        const back = yield* dialRaw({
          torrent,
          to: MemoryTransport.dialledFrom(yield* sessionAddress(), "10.9.9.9"),
          connections: 1000,
          script: { onConnect: (side) => side.handshake() }
        })
        yield* waitUntil("all 1,000 are closed", () => back.log.closes.length === 1000)
        expect(back.log.closes.every((close) => close.by === "client")).toBe(true)
        expect(back.log.received).toBe(0)
        expect(sameHost.log.connections).toBe(0)
        expect(liar.log.connections).toBe(1)
        // Logged at debug, at the 1st, 2nd, 4th ... 512th refusal: ten lines for a thousand.
        const refusals = logs.filter((line) => line.startsWith("10.9.9.9: banned; refused"))
        expect(refusals).toHaveLength(10)
        expect(refusals.at(-1)).toBe("10.9.9.9: banned; refused 512 connections from it")
      })
    ))

  it.live("an honest peer on another address still connects in after a ban", () =>
    inSwarm(() =>
      Effect.gen(function*() {
        const liar = yield* startSeeder({ ...fixture, corrupt: {}, host: "10.9.9.8" })
        const honest = yield* honestSeeder()
        yield* finish(yield* add([liar.address, honest.address]))
        const other = yield* dialRaw({
          torrent,
          to: MemoryTransport.dialledFrom(yield* sessionAddress(), "10.9.9.7"),
          script: { onConnect: (side) => side.handshake() }
        })
        yield* waitUntil("our handshake reaches the other peer", () => other.log.handshakes === 1)
      })
    ))
})
