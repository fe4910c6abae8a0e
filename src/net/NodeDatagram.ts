import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as dgram from "node:dgram"
import { Datagram, DatagramError, type DatagramSocket } from "./Datagram.js"

/**
 * The socket receive buffer asked for. Linux's default (208 KiB) holds a few hundred datagrams, whatever their
 * size: a uTP transfer arriving while the event loop is busy (a piece being written) overflows it and loses packets.
 * The kernel caps the figure at net.core.rmem_max.
 */
const RECEIVE_BUFFER = 4 * 1024 * 1024

/** `Datagram` on `node:dgram`. */
export const layer: Layer.Layer<Datagram> = Layer.succeed(
  Datagram,
  Datagram.of({
    bind: (options, onMessage) =>
      Effect.acquireRelease(
        Effect.async<dgram.Socket, DatagramError>((resume) => {
          // An IPv6 socket takes IPv6 only, leaving IPv4 to its own socket on the same port.
          const socket = dgram.createSocket({
            type: options.family === "ipv4" ? "udp4" : "udp6",
            ...(options.family === "ipv6" ? { ipv6Only: true } : {}),
            ...(options.multicast === undefined ? {} : { reuseAddr: true }),
            recvBufferSize: RECEIVE_BUFFER
          })
          const onError = (cause: Error) => {
            socket.close()
            resume(Effect.fail(new DatagramError({ reason: "Bind", detail: `cannot open a UDP socket: ${cause.message}`, cause })))
          }
          socket.once("error", onError)
          socket.bind(options.port ?? 0, options.host, () => {
            socket.off("error", onError)
            if (options.multicast !== undefined) {
              try {
                socket.addMembership(options.multicast)
              } catch (cause) {
                return onError(new Error(`cannot join ${options.multicast}: ${(cause as Error).message}`))
              }
            }
            // Errors after binding surface on sends; an unhandled 'error' event must not crash the process.
            socket.on("error", () => {})
            resume(Effect.succeed(socket))
          })
        }),
        (socket) => Effect.sync(() => socket.close())
      ).pipe(
        Effect.map((socket): DatagramSocket => {
          socket.on("message", (message, from) => onMessage(message, { host: from.address, port: from.port }))
          const address = socket.address()
          return {
            local: { host: address.address, port: address.port },
            send: (bytes, to) =>
              Effect.async<void, DatagramError>((resume) => {
                socket.send(bytes, to.port, to.host, (cause) =>
                  resume(
                    cause
                      ? Effect.fail(new DatagramError({ reason: "Send", detail: `cannot send to ${to.host}:${to.port}: ${cause.message}`, cause }))
                      : Effect.void
                  ))
              }),
            // Without a callback a failed send emits 'error', which the listener above ignores.
            post: (bytes, to) => socket.send(bytes, to.port, to.host)
          }
        })
      )
  })
)
