import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Exit, Fiber, Layer, Stream, TestClock } from "effect"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import { type Connection, Transport } from "../../src/peer/transport/Transport.js"
import * as PeerWire from "../../src/peer/PeerWire.js"
import { encodeHandshake, type Message } from "../../src/wire/index.js"

const infoHash = new Uint8Array(20).fill(7)
const otherHash = new Uint8Array(20).fill(9)

/** Lets the memory network deliver (it hands bytes on with setImmediate), until `done` holds; bounded. */
const settle = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && !done(); i++) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
    expect(done()).toBe(true)
  })

/** A listener on the memory network whose accepted connections land in `accepted` (wrapped by `wrap`). */
const listen = (wrap: (connection: Connection) => Connection = (c) => c) =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const accepted: Array<Connection> = []
    const listener = yield* transport.listen({ host: "memory", port: 0 }, (c) => accepted.push(wrap(c)))
    return { at: listener.local, accepted }
  })

const withWire = (config: Partial<PeerWire.PeerWireConfig> = {}) =>
  PeerWire.layerConfig(config).pipe(Layer.provideMerge(MemoryTransport.layerMemory))

/**
 * Dials a peer played by hand on the raw connection: it answers with a handshake without BEP 10 and records the
 * sizes of the chunks it receives.
 */
const dialRaw = Effect.gen(function*() {
  const wire = yield* PeerWire.PeerWire
  const { at, accepted } = yield* listen()
  const dialling = yield* wire.connect(at, { infoHash, reserved: new Uint8Array(8) }).pipe(Effect.fork)
  yield* settle(() => accepted.length === 1)
  const raw = accepted[0]!
  const received: Array<number> = []
  raw.start({ onData: (chunk) => received.push(chunk.length), onDrain: () => {}, onClose: () => {} })
  raw.write(encodeHandshake({ reserved: new Uint8Array(8), infoHash, peerId: new Uint8Array(20) }))
  const a = yield* Fiber.join(dialling)
  return { a, raw, received }
})

describe("PeerWire over the memory transport", () => {
  it.scoped("dial and accept: both handshakes, typed messages both ways, blocks copied", () =>
    Effect.gen(function*() {
      const wire = yield* PeerWire.PeerWire
      const { at, accepted } = yield* listen()
      const dialling = yield* wire.connect(at, { infoHash, extended: { m: new Map([["ut_metadata", 3]]), v: "a" } }).pipe(
        Effect.fork
      )
      yield* settle(() => accepted.length === 1)
      const b = yield* wire.accept(accepted[0]!, { infoHashes: [otherHash, infoHash] })
      const a = yield* Fiber.join(dialling)
      expect(a.extended?.m.get("ut_metadata")).toBe(1)
      expect(b.extended?.v).toBe("a")
      expect(Buffer.from(b.handshake.infoHash).equals(infoHash)).toBe(true)

      const block = new Uint8Array(16384).fill(5)
      yield* a.send({ type: "have", index: 3 })
      yield* a.send({ type: "piece", index: 3, begin: 0, block })
      yield* b.sendExtended("ut_metadata", new Uint8Array([1, 2]))
      const atB = yield* b.messages.pipe(Stream.filter((m) => m.type !== "extended"), Stream.take(2), Stream.runCollect)
      expect(Chunk.toReadonlyArray(atB)).toEqual([{ type: "have", index: 3 }, { type: "piece", index: 3, begin: 0, block }])
      const atA = yield* a.messages.pipe(Stream.filter((m) => m.type === "extended" && m.id === 3), Stream.take(1), Stream.runCollect)
      expect(Chunk.toReadonlyArray(atA)).toEqual([{ type: "extended", id: 3, payload: new Uint8Array([1, 2]) }])
      const missing = yield* Effect.exit(a.sendExtended("lt_donthave", new Uint8Array(1)))
      expect(Exit.isFailure(missing)).toBe(true)

      // The peer closing ends the other side's stream (no error: a close is how a connection ends).
      yield* b.close
      const rest = yield* a.messages.pipe(Stream.runCollect)
      expect(Chunk.toReadonlyArray(rest).every((m) => m.type !== "piece")).toBe(true)
      const after = yield* Effect.exit(a.send({ type: "interested" }))
      expect(Exit.isFailure(after)).toBe(true)
    }).pipe(Effect.provide(withWire())))

  it.scoped("an accepted peer naming another torrent is refused, and so is the dialler", () =>
    Effect.gen(function*() {
      const wire = yield* PeerWire.PeerWire
      const { at, accepted } = yield* listen()
      const dialling = yield* wire.connect(at, { infoHash }).pipe(Effect.flip, Effect.fork)
      yield* settle(() => accepted.length === 1)
      const refused = yield* wire.accept(accepted[0]!, { infoHashes: [otherHash] }).pipe(Effect.flip)
      expect(refused.reason).toBe("Handshake")
      const failed = yield* Fiber.join(dialling)
      expect(failed.reason).toBe("Handshake")
    }).pipe(Effect.provide(withWire())))

  it.scoped("back-pressure: past highWater unread messages the socket pauses, reading resumes it, nothing lost", () =>
    Effect.gen(function*() {
      const wire = yield* PeerWire.PeerWire
      let pauses = 0
      let resumes = 0
      const { at, accepted } = yield* listen((c) => ({
        ...c,
        pause: () => {
          pauses++
          c.pause()
        },
        resume: () => {
          resumes++
          c.resume()
        }
      }))
      const dialling = yield* wire.connect(at, { infoHash }).pipe(Effect.fork)
      yield* settle(() => accepted.length === 1)
      const b = yield* wire.accept(accepted[0]!, { infoHashes: [infoHash] })
      const a = yield* Fiber.join(dialling)
      const resumesBefore = resumes
      for (let index = 0; index < 40; index++) yield* a.send({ type: "have", index })
      yield* settle(() => pauses > 0)
      const got = yield* b.messages.pipe(
        Stream.filter((m): m is Extract<Message, { type: "have" }> => m.type === "have"),
        Stream.take(40),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(got).map((m) => m.index)).toEqual(Array.from({ length: 40 }, (_, i) => i))
      expect(resumes).toBeGreaterThan(resumesBefore)
    }).pipe(Effect.provide(withWire({ highWater: 8 }))))

  it.scoped("keep-alives on their schedule; a silent peer fails the stream with Timeout", () =>
    Effect.gen(function*() {
      // The other side by hand: a handshake without BEP 10, then silence.
      const { a, received } = yield* dialRaw
      expect(a.extended).toBeUndefined()
      const ended = yield* a.messages.pipe(Stream.runDrain, Effect.flip, Effect.fork)
      yield* TestClock.adjust(Duration.seconds(65))
      // A keep-alive is four zero bytes, after our 68-byte handshake.
      yield* settle(() => received.includes(4))
      yield* TestClock.adjust(Duration.seconds(60))
      const error = yield* Fiber.join(ended)
      expect(error.reason).toBe("Timeout")
    }).pipe(Effect.provide(withWire({ idleTimeout: Duration.seconds(120) }))))

  it.scoped("a message longer than the protocol allows fails the stream with Protocol", () =>
    Effect.gen(function*() {
      const { a, raw } = yield* dialRaw
      raw.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 4]))
      const error = yield* a.messages.pipe(Stream.runDrain, Effect.flip)
      expect(error.reason).toBe("Protocol")
    }).pipe(Effect.provide(withWire())))
})
