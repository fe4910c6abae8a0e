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

  it.live("says when written bytes are sent, so their memory may be reused, and never before the peer can read them", () =>
    Effect.gen(function*() {
      const received: Array<Buffer> = []
      const arrived = yield* Deferred.make<void>()
      const size = 4 * 1024 * 1024
      const server = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer((socket) => {
            let total = 0
            socket.on("error", () => {})
            socket.on("data", (chunk: Buffer) => {
              received.push(chunk)
              total += chunk.length
              if (total >= size) Deferred.unsafeDone(arrived, Effect.void)
            })
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const transport = yield* Transport
      const connection = yield* transport.connect({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port })
      connection.start({ onData: () => {}, onDrain: () => {}, onClose: () => {} })
      // Larger than a socket buffer: some of it waits in Node's queue until the kernel takes it.
      const data = new Uint8Array(size)
      for (let i = 0; i < size; i++) data[i] = i % 251
      const expected = new Uint8Array(data)
      const done = yield* Deferred.make<void>()
      connection.cork()
      connection.write(data.subarray(0, size / 2), () => {
        // Reused at once: what the peer reads must still be the original bytes.
        data.fill(0, 0, size / 2)
      })
      connection.write(data.subarray(size / 2), () => {
        data.fill(0, size / 2)
        Deferred.unsafeDone(done, Effect.void)
      })
      connection.uncork()
      yield* Deferred.await(done).pipe(Effect.timeout("5 seconds"))
      yield* Deferred.await(arrived).pipe(Effect.timeout("5 seconds"))
      expect(Buffer.concat(received).equals(expected)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer)))

  it.live("a dial interrupted at any moment, even as it connects, leaves no socket open", () =>
    Effect.gen(function*() {
      let accepted = 0
      let ended = 0
      const server = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer((socket) => {
            accepted++
            socket.on("error", () => {})
            socket.on("close", () => ended++)
            socket.resume()
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const transport = yield* Transport
      const to = { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port }
      // Interrupted after 0 to 3 ms: before, while and after the connection is made on loopback.
      for (let i = 0; i < 200; i++) {
        yield* transport.connect(to).pipe(Effect.scoped, Effect.timeout(`${i % 4} millis`), Effect.ignore)
      }
      // The server saw each socket it accepted closed from our side.
      for (let waited = 0; waited < 5000 && ended < accepted; waited += 50) yield* Effect.sleep("50 millis")
      expect(accepted).toBeGreaterThan(0)
      expect(ended).toBe(accepted)
    }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer)))
})
