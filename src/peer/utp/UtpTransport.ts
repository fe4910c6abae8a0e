import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { randomInt } from "node:crypto"
import { Datagram, type Endpoint } from "../../net/Datagram.js"
import { formatEndpoint } from "../../net/endpoint.js"
import { type Connection, type ConnectionHandlers, Transport, TransportError } from "../transport/Transport.js"
import { decodePacket, encodePacket } from "./packet.js"
import { type UtpOutput, UtpSocket } from "./socket.js"

/** Bytes queued in a connection past which `write` asks the caller to wait for `onDrain`. */
const HIGH_WATER_MARK = 1024 * 1024
/** How often every connection's retransmission timer is checked. */
const TICK = Schedule.spaced("20 millis")

interface Entry {
  readonly socket: UtpSocket
  readonly remote: Endpoint
  handlers: ConnectionHandlers | undefined
  /** Data that arrived before `start`, or while paused. */
  readonly held: Array<Uint8Array>
  paused: boolean
  blocked: boolean
  closed: boolean
  readonly connected: Deferred.Deferred<void, TransportError>
}

/**
 * `Transport` over uTP (BEP 29) on one UDP socket, bound when the transport is made: connections are demultiplexed
 * by remote address and connection id, each driven by a `UtpSocket` state machine. Not wired into the client yet.
 */
export const make = (options: { readonly host?: string; readonly port?: number } = {}) =>
  Effect.gen(function*() {
    const datagram = yield* Datagram
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const runFork = yield* FiberSet.makeRuntime<never>()
    const entries = new Map<string, Entry>()
    let accept: ((connection: Connection) => void) | undefined

    const keyOf = (remote: Endpoint, id: number) => `${formatEndpoint(remote)}/${id}`

    const udp = yield* datagram.bind(
      { family: "ipv4", ...(options.host === undefined ? {} : { host: options.host }), port: options.port ?? 0 },
      (bytes, from) => received(bytes, from)
    ).pipe(Effect.mapError((cause) => new TransportError({ reason: "Listen", detail: cause.message, cause })))

    const deliver = (entry: Entry, output: UtpOutput): void => {
      for (const packet of output.packets) runFork(Effect.ignore(udp.send(encodePacket(packet), entry.remote)))
      for (const event of output.events) {
        switch (event.type) {
          case "connected":
            Deferred.unsafeDone(entry.connected, Exit.void)
            break
          case "data":
            if (entry.handlers === undefined || entry.paused) entry.held.push(event.bytes)
            else entry.handlers.onData(event.bytes)
            break
          case "eof":
          case "closed":
          case "reset":
          case "timedOut":
            finish(entry, event.type === "eof" || event.type === "closed" ? undefined : event.type)
            break
        }
      }
      if (entry.blocked && entry.socket.queued < HIGH_WATER_MARK) {
        entry.blocked = false
        entry.handlers?.onDrain()
      }
    }

    const finish = (entry: Entry, problem: string | undefined): void => {
      if (entry.closed) return
      entry.closed = true
      entries.delete(keyOf(entry.remote, entry.socket.receiveId))
      const error = problem === undefined
        ? undefined
        : new TransportError({ reason: "Closed", detail: `uTP connection to ${formatEndpoint(entry.remote)}: ${problem}` })
      Deferred.unsafeDone(entry.connected, Exit.fail(error ?? new TransportError({ reason: "Connect", detail: "closed" })))
      entry.handlers?.onClose(error)
    }

    const connectionOf = (entry: Entry): Connection => ({
      remote: entry.remote,
      write: (bytes) => {
        if (entry.closed) return false
        deliver(entry, entry.socket.write(bytes, now()))
        if (entry.socket.queued >= HIGH_WATER_MARK) entry.blocked = true
        return !entry.blocked
      },
      start: (handlers) => {
        // As on TCP, starting (or handing the connection over) reads again.
        entry.handlers = handlers
        entry.paused = false
        if (entry.closed) return handlers.onClose(undefined)
        while (entry.held.length > 0 && !entry.paused) handlers.onData(entry.held.shift()!)
      },
      cork: () => {},
      uncork: () => {},
      pause: () => {
        entry.paused = true
      },
      resume: () => {
        entry.paused = false
        while (entry.held.length > 0 && !entry.paused && entry.handlers !== undefined) entry.handlers.onData(entry.held.shift()!)
      },
      destroy: () => {
        if (entry.closed) return
        deliver(entry, entry.socket.close(now()))
        finish(entry, undefined)
      }
    })

    const newEntry = (socket: UtpSocket, remote: Endpoint): Entry => {
      const entry: Entry = {
        socket,
        remote,
        handlers: undefined,
        held: [],
        paused: false,
        blocked: false,
        closed: false,
        connected: Deferred.unsafeMake<void, TransportError>(FiberId.none)
      }
      entries.set(keyOf(remote, socket.receiveId), entry)
      return entry
    }

    function received(bytes: Uint8Array, from: Endpoint): void {
      const packet = decodePacket(bytes)
      if (typeof packet === "string") return
      const entry = entries.get(keyOf(from, packet.connectionId))
      if (entry !== undefined) return deliver(entry, entry.socket.receive(packet, now()))
      if (packet.type !== "syn" || accept === undefined) return
      const [socket, output] = UtpSocket.accept(packet, { seqNr: randomInt(1, 0xffff) }, now())
      const created = newEntry(socket, from)
      deliver(created, output)
      accept(connectionOf(created))
    }

    yield* Effect.sync(() => {
      for (const entry of [...entries.values()]) deliver(entry, entry.socket.tick(now()))
    }).pipe(Effect.schedule(TICK), Effect.forkScoped)

    const connect = (to: Endpoint): Effect.Effect<Connection, TransportError, Scope.Scope> =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const [socket, output] = UtpSocket.connect({ connectionId: randomInt(0, 0xffff) }, now())
          const entry = newEntry(socket, to)
          deliver(entry, output)
          return Effect.as(Deferred.await(entry.connected), connectionOf(entry))
        }),
        (connection) => Effect.sync(() => connection.destroy())
      )

    const listen = (_at: Endpoint, onConnection: (connection: Connection) => void) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          accept = onConnection
          return { local: udp.local }
        }),
        () => Effect.sync(() => {
          accept = undefined
        })
      )

    return Transport.of({ connect, listen })
  })
