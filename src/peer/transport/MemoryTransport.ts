import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Endpoint } from "../../net/Datagram.js"
import { type Connection, type ConnectionHandlers, Transport, TransportError } from "./Transport.js"

const HIGH_WATER_MARK = 1024 * 1024

/** One direction of an in-memory pipe: bytes written on one end, delivered to the other on a later tick. */
class End implements Connection {
  peer!: End
  private handlers: ConnectionHandlers | undefined
  private readonly inbox: Array<Uint8Array> = []
  private paused = true
  private closed = false
  private scheduled = false
  /** Bytes written by this end that the other end has not consumed yet. */
  private unsent = 0
  private wantsDrain = false

  constructor(readonly remote: Endpoint) {}

  write = (bytes: Uint8Array, sent?: () => void): boolean => {
    if (this.closed) return false
    // Copy, as a kernel would: the writer may reuse its buffer.
    this.unsent += bytes.length
    this.peer.receive(Uint8Array.from(bytes))
    sent?.()
    const ok = this.unsent < HIGH_WATER_MARK
    if (!ok) this.wantsDrain = true
    return ok
  }

  start = (handlers: ConnectionHandlers): void => {
    this.handlers = handlers
    this.paused = false
    if (this.closed) handlers.onClose(undefined)
    else this.schedule()
  }


  // Writes already travel in order on the next turn; nothing to batch.
  cork = (): void => {}
  uncork = (): void => {}

  pause = (): void => {
    this.paused = true
  }

  resume = (): void => {
    this.paused = false
    this.schedule()
  }

  destroy = (): void => {
    if (this.closed) return
    this.close()
    this.peer.close()
  }

  private receive(bytes: Uint8Array): void {
    this.inbox.push(bytes)
    this.schedule()
  }

  private close(): void {
    if (this.closed) return
    this.closed = true
    this.inbox.length = 0
    const handlers = this.handlers
    if (handlers !== undefined) setImmediate(() => handlers.onClose(undefined))
  }

  private schedule(): void {
    if (this.scheduled || this.paused || this.handlers === undefined || this.inbox.length === 0) return
    this.scheduled = true
    setImmediate(() => this.deliver())
  }

  private deliver(): void {
    this.scheduled = false
    while (!this.paused && !this.closed && this.inbox.length > 0) {
      const chunk = this.inbox.shift()!
      this.peer.consumed(chunk.length)
      this.handlers!.onData(chunk)
      // The chunk was the receiver's only during the call (see ConnectionHandlers): spoil it, as a reused read
      // buffer would be overwritten, so that a test catches a receiver that kept a view of it.
      chunk.fill(0xee)
    }
  }

  private consumed(bytes: number): void {
    this.unsent -= bytes
    if (this.wantsDrain && this.unsent < HIGH_WATER_MARK / 2) {
      this.wantsDrain = false
      this.handlers?.onDrain()
    }
  }
}

/** Where a memory connection dialled to an address made by `dialledFrom` comes from. */
const FROM = Symbol("bt/MemoryTransport/from")

/**
 * `to`, dialled from `host` instead of the usual `memory`: for tests where the dialler's address matters (a banned
 * peer coming back). Other transports ignore it.
 */
export const dialledFrom = (to: Endpoint, host: string): Endpoint => Object.assign({ host: to.host, port: to.port }, { [FROM]: host })

/**
 * An in-memory network: `listen` registers an address, `connect` to it makes a pipe. Fresh per layer build, so
 * every peer of a test swarm must share one provided layer.
 */
export const makeMemory = Effect.sync(() => {
  const listeners = new Map<string, (connection: Connection) => void>()
  let nextPort = 40000
  const key = (endpoint: Endpoint) => `${endpoint.host}:${endpoint.port}`

  return Transport.of({
    connect: (to) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const accept = listeners.get(key(to))
          if (accept === undefined) {
            return Effect.fail(new TransportError({ reason: "Connect", detail: `cannot connect to ${key(to)}: connection refused` }))
          }
          const from = (to as Endpoint & { readonly [FROM]?: string })[FROM]
          const local: Endpoint = { host: from ?? "memory", port: nextPort++ }
          const ours = new End(to)
          const theirs = new End(local)
          ours.peer = theirs
          theirs.peer = ours
          setImmediate(() => accept(theirs))
          return Effect.succeed<Connection>(ours)
        }),
        (connection) => Effect.sync(() => connection.destroy())
      ),
    listen: (at, onConnection) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const local = { host: at.host, port: at.port === 0 ? nextPort++ : at.port }
          if (listeners.has(key(local))) {
            return Effect.fail(new TransportError({ reason: "Listen", detail: `cannot listen on ${key(local)}: address in use` }))
          }
          listeners.set(key(local), onConnection)
          return Effect.succeed({ local })
        }),
        ({ local }) => Effect.sync(() => listeners.delete(key(local)))
      )
  })
})

/** `Transport` as an in-memory network, for tests and in-process swarms. */
export const layerMemory: Layer.Layer<Transport> = Layer.effect(Transport, makeMemory)
