import { Deferred, Duration, Effect, FiberId } from "effect"
import { createHash } from "node:crypto"
import type { Connection } from "../../../src/peer/transport/Transport.js"
import * as UtpTransport from "../../../src/peer/utp/UtpTransport.js"

export const sha1 = (bytes: Uint8Array) => createHash("sha1").update(bytes).digest("hex")

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

/**
 * Two uTP transports on the Datagram provided, one dialling the other: `up` goes from the dialled connection to
 * the accepted one and `down` the other way, at once. What each side received, or a failure after `timeout`.
 */
export const exchange = (up: Uint8Array, down: Uint8Array, timeout: Duration.DurationInput) =>
  Effect.gen(function*() {
    const a = yield* UtpTransport.make()
    const b = yield* UtpTransport.make()
    const accepted = yield* Deferred.make<Connection>()
    const listener = yield* a.listen({ host: "0.0.0.0", port: 0 }, (c) => Deferred.unsafeDone(accepted, Effect.succeed(c)))
    const dialled = yield* b.connect(listener.local)
    const server = yield* Deferred.await(accepted)
    const atServer = receivedBy(server, up.length)
    const atClient = receivedBy(dialled, down.length)
    const [gotUp, gotDown] = yield* Effect.all([
      sendAll(dialled, up, atClient.drained),
      sendAll(server, down, atServer.drained)
    ], { concurrency: 2 }).pipe(
      Effect.zipRight(Effect.all([atServer.done, atClient.done], { concurrency: 2 })),
      Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error("the transfer did not finish") })
    )
    return { gotUp, gotDown }
  })
