import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as net from "node:net"
import type { Endpoint } from "../../net/Datagram.js"
import { type Connection, type ConnectionHandlers, Transport, TransportError } from "./Transport.js"

/**
 * Bytes queued for sending before `write` asks the caller to wait. Node's own mark (16 KiB) is one block: far
 * too little to keep a fast peer busy, so we keep a deeper queue and still stop before memory grows.
 */
const HIGH_WATER_MARK = 1024 * 1024

/**
 * Bytes read at a time from a socket we dial, into one buffer kept per connection (Node's `onread`). Otherwise Node
 * allocates a new 64 KiB buffer per read: 1 GiB of garbage per GiB downloaded, which only the garbage collector
 * gives back. Receivers consume each chunk during the call (see `ConnectionHandlers`), so one buffer does.
 */
const READ_BUFFER_SIZE = 64 * 1024

/** Where a dialled socket's reads go, once `wrap` has set it. */
interface ReadTarget {
  onData: (chunk: Uint8Array) => void
}

/**
 * A socket as a Connection. With `reads`, the socket was opened with `onread` and delivers there; otherwise (an
 * accepted socket: `net.Server` has no `onread`) through 'data' events.
 */
const wrap = (socket: net.Socket, remote: Endpoint, reads?: ReadTarget): Connection => {
  // Closed already if it failed between connecting and now: its 'close' event has passed.
  let closed = socket.destroyed
  let failure: TransportError | undefined
  let handlers: ConnectionHandlers | undefined
  socket.setNoDelay(true)
  socket.pause()
  // Listen for errors from the start: an 'error' event without a listener would crash the process.
  socket.on("error", (cause) => {
    failure ??= new TransportError({
      reason: "Closed",
      detail: `connection to ${remote.host}:${remote.port} failed: ${cause.message}`,
      cause
    })
  })
  socket.on("close", () => {
    closed = true
    handlers?.onClose(failure)
  })
  const onData = (chunk: Uint8Array) => handlers?.onData(chunk)
  if (reads !== undefined) reads.onData = onData
  else socket.on("data", onData)
  socket.on("drain", () => handlers?.onDrain())
  return {
    remote,
    transport: "tcp",
    write: (bytes, sent) => {
      if (closed) return false
      // Node calls back once the write is done or failed: either way it holds the bytes no longer.
      if (sent === undefined) socket.write(bytes)
      else socket.write(bytes, sent)
      return socket.writableLength < HIGH_WATER_MARK
    },
    start: (given) => {
      handlers = given
      if (closed) given.onClose(failure)
      else socket.resume()
    },
    cork: () => socket.cork(),
    uncork: () => socket.uncork(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    destroy: () => {
      closed = true
      socket.destroy()
    }
  }
}

const remoteOf = (socket: net.Socket): Endpoint => ({
  host: socket.remoteAddress?.replace(/^::ffff:/, "") ?? "unknown",
  port: socket.remotePort ?? 0
})

/** A socket being dialled, paused, and how it ended: `settled` calls back once it connects or fails. */
interface Dialled {
  readonly socket: net.Socket
  readonly reads: ReadTarget
  readonly settled: (resume: (outcome: Effect.Effect<void, TransportError>) => void) => Effect.Effect<void> | void
}

const dial = (to: Endpoint): Dialled => {
  const reads: ReadTarget = { onData: () => {} }
  const socket = net.connect({
    host: to.host,
    port: to.port,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE),
      callback: (length, buffer) => {
        reads.onData(buffer.subarray(0, length))
        return true
      }
    }
  })
  // Paused before it connects: a socket reading into `onread` starts reading as soon as it connects, and what it
  // read before `wrap` set the target would be lost. So nothing is read until `start`.
  socket.pause()
  let outcome: Effect.Effect<void, TransportError> | undefined
  let waiter: ((outcome: Effect.Effect<void, TransportError>) => void) | undefined
  const settle = (result: Effect.Effect<void, TransportError>) => {
    outcome ??= result
    waiter?.(outcome)
    waiter = undefined
  }
  // Listened for from the start, and kept until `wrap` listens too: an 'error' event without a listener would
  // crash the process. An error once connected changes nothing here (`wrap` reports it).
  socket.on("error", (cause) => {
    socket.destroy()
    settle(Effect.fail(new TransportError({ reason: "Connect", detail: `cannot connect to ${to.host}:${to.port}: ${cause.message}`, cause })))
  })
  socket.once("connect", () => settle(Effect.void))
  return {
    socket,
    reads,
    settled: (resume) => {
      if (outcome !== undefined) return resume(outcome)
      waiter = resume
      return Effect.sync(() => {
        waiter = undefined
      })
    }
  }
}

/** `Transport` over `node:net` TCP. */
export const transport: Transport["Type"] = Transport.of({
  connect: (to) =>
    Effect.acquireRelease(
      // The socket belongs to the scope from the moment it exists, so an interruption at any point (even as the
      // connection is made) destroys it.
      Effect.sync(() => dial(to)),
      ({ socket }) => Effect.sync(() => socket.destroy())
    ).pipe(
      // Waiting is interruptible: a SYN that is dropped (a firewall) would otherwise hold the caller's timeout until
      // the kernel gives up (about two minutes on Linux).
      Effect.tap((dialled) => Effect.async<void, TransportError>((resume) => dialled.settled(resume))),
      Effect.map(({ reads, socket }) => wrap(socket, to, reads))
    ),
  listen: (at, onConnection) =>
    Effect.acquireRelease(
      Effect.async<net.Server, TransportError>((resume) => {
        const server = net.createServer({ pauseOnConnect: true }, (socket) =>
          onConnection(wrap(socket, remoteOf(socket))))
        const onError = (cause: Error) =>
          resume(Effect.fail(new TransportError({ reason: "Listen", detail: `cannot listen on ${at.host}:${at.port}: ${cause.message}`, cause })))
        server.once("error", onError)
        // An IPv6 wildcard takes IPv6 only, leaving IPv4 to its own listener on the same port.
        server.listen({ port: at.port, host: at.host, ipv6Only: net.isIPv6(at.host) }, () => {
          server.off("error", onError)
          resume(Effect.succeed(server))
        })
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
        })
    ).pipe(
      Effect.map((server) => {
        const address = server.address() as net.AddressInfo
        return { local: { host: address.address, port: address.port } }
      })
    )
})

export const layer: Layer.Layer<Transport> = Layer.succeed(Transport, transport)
