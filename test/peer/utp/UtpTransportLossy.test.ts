import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, FiberId } from "effect"
import { Datagram, type Endpoint } from "../../../src/net/Datagram.js"
import { createHash } from "node:crypto"
import * as MemoryDatagram from "../../../src/net/MemoryDatagram.js"
import type { Connection } from "../../../src/peer/transport/Transport.js"
import * as UtpTransport from "../../../src/peer/utp/UtpTransport.js"
import { bytesOf, prng } from "./link.js"

const sha1 = (bytes: Uint8Array) => createHash("sha1").update(bytes).digest("hex")

/** Writes `data` in 16 KiB writes, waiting for `onDrain` whenever the connection asks. */
const sendAll = (connection: Connection, data: Uint8Array, drained: () => Promise<void>) =>
  Effect.promise(async () => {
    for (let at = 0; at < data.length; at += 16384) {
      if (!connection.write(data.subarray(at, at + 16384))) await drained()
    }
  })

/** Reads `connection` from now on: `done` when `expected` bytes came; `drained` resolves at the next drain. */
const receivedBy = (connection: Connection, expected: number) => {
  const chunks: Array<Uint8Array> = []
  let total = 0
  let drain: (() => void) | undefined
  const complete = Deferred.unsafeMake<Uint8Array>(FiberId.none)
  connection.start({
    onData: (chunk) => {
      chunks.push(Uint8Array.from(chunk))
      total += chunk.length
      if (total >= expected) Deferred.unsafeDone(complete, Effect.succeed(Buffer.concat(chunks)))
    },
    onDrain: () => drain?.(),
    onClose: () => {}
  })
  const drained = () => new Promise<void>((resolve) => (drain = resolve))
  return { done: Deferred.await(complete), drained }
}

describe("the lossy in-memory UDP network these tests use", () => {
  // So that the transfers below cannot pass for want of the trouble they claim to survive.
  it.live("loses, delays, reorders and duplicates datagrams as asked", () =>
    Effect.gen(function*() {
      const datagram = yield* Datagram
      const arrivals: Array<{ readonly n: number; readonly at: number }> = []
      const receiver = yield* datagram.bind({ family: "ipv4" }, (bytes) => arrivals.push({ n: bytes[0]! | (bytes[1]! << 8), at: Date.now() }))
      const sender = yield* datagram.bind({ family: "ipv4" }, () => {})
      const to: Endpoint = receiver.local
      const sentAt = Date.now()
      for (let n = 0; n < 1000; n++) yield* sender.send(Uint8Array.of(n & 255, n >> 8), to)
      yield* Effect.sleep(Duration.millis(100))
      const unique = new Set(arrivals.map((a) => a.n))
      expect(unique.size).toBeGreaterThan(850) // 10 % lost
      expect(unique.size).toBeLessThan(950)
      expect(arrivals.length - unique.size).toBeGreaterThan(20) // 5 % twice
      expect(arrivals.some((a, i) => i > 0 && a.n < arrivals[i - 1]!.n)).toBe(true)
      expect(arrivals.every((a) => a.at - sentAt >= 4)).toBe(true) // timers may fire a millisecond early
    }).pipe(
      Effect.scoped,
      Effect.provide(MemoryDatagram.layerMemoryWith({ loss: 0.1, delayMs: 5, jitterMs: 10, duplicate: 0.05, random: prng(1) }))
    ))
})

describe("uTP as a Transport over a lossy in-memory UDP network", () => {
  // Real timers: 2-6 ms one way, so datagrams overtake each other; 1 % delivered twice. The uTP timers run on the
  // wall clock here (the transport's tick), so each run is bounded by a timeout rather than by a fake clock.
  for (const loss of [0.01, 0.05, 0.1]) {
    it.live(`carries 2 MiB each way byte-exact with ${loss * 100} % loss, reordering and duplicates`, () =>
      Effect.gen(function*() {
        const a = yield* UtpTransport.make()
        const b = yield* UtpTransport.make()
        const accepted = yield* Deferred.make<Connection>()
        const listener = yield* a.listen({ host: "0.0.0.0", port: 0 }, (c) => Deferred.unsafeDone(accepted, Effect.succeed(c)))
        const dialled = yield* b.connect(listener.local).pipe(Effect.timeout(Duration.seconds(10)))
        const server = yield* Deferred.await(accepted)

        const up = bytesOf(2 * 1024 * 1024, 1)
        const down = bytesOf(2 * 1024 * 1024, 2)
        const atServer = receivedBy(server, up.length)
        const atClient = receivedBy(dialled, down.length)
        const [gotUp, gotDown] = yield* Effect.all([
          sendAll(dialled, up, atClient.drained),
          sendAll(server, down, atServer.drained)
        ], { concurrency: 2 }).pipe(
          Effect.zipRight(Effect.all([atServer.done, atClient.done], { concurrency: 2 })),
          Effect.timeoutFail({ duration: Duration.seconds(40), onTimeout: () => new Error("the transfer did not finish") })
        )
        expect(sha1(gotUp)).toBe(sha1(up))
        expect(sha1(gotDown)).toBe(sha1(down))
      }).pipe(
        Effect.scoped,
        Effect.provide(MemoryDatagram.layerMemoryWith({ loss, delayMs: 2, jitterMs: 4, duplicate: 0.01, random: prng(loss * 1000) }))
      ), 60_000)
  }
})
