import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as net from "node:net"
import * as NodeTransport from "../../src/peer/transport/NodeTransport.js"
import { Transport } from "../../src/peer/transport/Transport.js"

/** A TCP server on 127.0.0.1 that writes `payload` to each connection at once; closes with the scope. */
const serverWriting = (payload: Uint8Array, written: Deferred.Deferred<void>) =>
  Effect.acquireRelease(
    Effect.async<net.Server>((resume) => {
      const server = net.createServer((socket) => {
        socket.on("error", () => {})
        socket.write(payload, () => Deferred.unsafeDone(written, Effect.void))
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

describe("NodeTransport", () => {
  it.live("a dialled connection reads nothing before start, then every byte in order, one reused buffer or not", () =>
    Effect.gen(function*() {
      // Several reads' worth (a read takes up to 64 KiB), in a pattern that shows any overwritten or lost chunk.
      const payload = new Uint8Array(300_000)
      const view = new DataView(payload.buffer)
      for (let i = 0; i + 4 <= payload.length; i += 4) view.setUint32(i, i)
      const written = yield* Deferred.make<void>()
      const server = yield* serverWriting(payload, written)
      const transport = yield* Transport
      const connection = yield* transport.connect({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port })
      // The server sent everything before anyone reads: it waits in the socket, not in a lost chunk.
      yield* Deferred.await(written)
      const received: Array<Uint8Array> = []
      let total = 0
      const all = yield* Deferred.make<void>()
      connection.start({
        onData: (chunk) => {
          // Valid only during the call (ConnectionHandlers): keep a copy.
          received.push(new Uint8Array(chunk))
          total += chunk.length
          if (total >= payload.length) Deferred.unsafeDone(all, Effect.void)
        },
        onDrain: () => {},
        onClose: () => {}
      })
      yield* Deferred.await(all).pipe(Effect.timeout("5 seconds"))
      expect(Buffer.concat(received).equals(payload)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer)))
})
