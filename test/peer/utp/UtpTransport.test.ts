import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, FiberId } from "effect"
import { createHash, randomBytes } from "node:crypto"
import * as MemoryDatagram from "../../../src/net/MemoryDatagram.js"
import * as UtpTransport from "../../../src/peer/utp/UtpTransport.js"
import type { Connection } from "../../../src/peer/transport/Transport.js"

const sha1 = (bytes: Uint8Array) => createHash("sha1").update(bytes).digest("hex")

/** Writes `data` in 16 KiB writes, waiting for `onDrain` whenever the connection asks. */
const sendAll = (connection: Connection, data: Uint8Array, drained: () => Promise<void>) =>
  Effect.promise(async () => {
    for (let at = 0; at < data.length; at += 16384) {
      if (!connection.write(data.subarray(at, at + 16384))) await drained()
    }
  })

describe("uTP as a Transport, over an in-memory UDP network", () => {
  it.live("carries 2 MiB each way byte-exact between a dialled and an accepted connection", () =>
    Effect.gen(function*() {
      const a = yield* UtpTransport.make()
      const b = yield* UtpTransport.make()
      const accepted = yield* Deferred.make<Connection>()
      const listener = yield* a.listen({ host: "0.0.0.0", port: 0 }, (connection) => Deferred.unsafeDone(accepted, Effect.succeed(connection)))
      const dialled = yield* b.connect(listener.local)
      const server = yield* Deferred.await(accepted)

      const up = new Uint8Array(randomBytes(2 * 1024 * 1024))
      const down = new Uint8Array(randomBytes(2 * 1024 * 1024))
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
      const atServer = receivedBy(server, up.length)
      const atClient = receivedBy(dialled, down.length)
      yield* Effect.all([
        sendAll(dialled, up, atClient.drained),
        sendAll(server, down, atServer.drained)
      ], { concurrency: 2 })
      const [gotUp, gotDown] = yield* Effect.all([atServer.done, atClient.done], { concurrency: 2 }).pipe(
        Effect.timeoutFail({ duration: Duration.seconds(20), onTimeout: () => new Error("the transfer did not finish") })
      )
      expect(sha1(gotUp)).toBe(sha1(up))
      expect(sha1(gotDown)).toBe(sha1(down))
    }).pipe(Effect.scoped, Effect.provide(MemoryDatagram.layerMemory)), 30_000)
})
