import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { randomInt } from "node:crypto"
import { isIPv6 } from "node:net"
import { Datagram, type DatagramSocket, type Endpoint } from "../../net/Datagram.js"
import { formatEndpoint } from "../../net/endpoint.js"
import { type Connection, type ConnectionHandlers, Transport, TransportError } from "../transport/Transport.js"
import { decodePacket, encodePacket, HEADER_LENGTH, VERSION } from "./packet.js"
import { seqAdd } from "./seq.js"
import { type UtpOutput, UtpSocket } from "./socket.js"

/** Bytes queued in a connection past which `write` asks the caller to wait for `onDrain`. */
const HIGH_WATER_MARK = 1024 * 1024
/**
 * How often every connection's retransmission timer is checked, while there are connections: without any, the tick
 * sleeps (an idle daemon would otherwise wake 50 times a second for nothing).
 */
const TICK = Duration.millis(20)
/** Connections accepted whose initiator has not sent anything after its SYN yet, at most: a SYN flood's bound. */
export const MAX_HALF_OPEN = 64
/** Connections at most, over all addresses (lingering ones included): SYNs past it are dropped. */
export const MAX_CONNECTIONS = 4096
/**
 * How long a connection closed by either side stays reachable, so its socket can finish the closing exchange (our
 * FIN acknowledged, the peer's resent FIN or DATA acknowledged again) before its id is forgotten.
 */
const LINGER_MS = 30_000

export interface UtpTransportOptions {
  /** How long a dial waits for the peer's answer to its SYN. Default 3 s (a peer without uTP never answers). */
  readonly connectTimeout?: Duration.DurationInput
  /** How long an accepted connection may wait for the initiator's first packet after its SYN. Default 10 s. */
  readonly halfOpenTimeout?: Duration.DurationInput
}

/** A uTP packet: version 1 in the low nibble of the first byte, a known type in the high one (BEP 29). */
export const isUtpDatagram = (bytes: Uint8Array): boolean =>
  bytes.length >= HEADER_LENGTH && (bytes[0]! & 0x0f) === VERSION && bytes[0]! >> 4 <= 4

type Family = "ipv4" | "ipv6"
const familyOf = (host: string): Family => (isIPv6(host) ? "ipv6" : "ipv4")

interface Entry {
  readonly socket: UtpSocket
  readonly remote: Endpoint
  readonly udp: DatagramSocket
  handlers: ConnectionHandlers | undefined
  /** Data that arrived before `start`, or while paused: it shrinks the window we advertise (`setUnread`). */
  readonly held: Array<Uint8Array>
  heldBytes: number
  /** The `heldBytes` the socket was last told. */
  toldUnread: number
  paused: boolean
  blocked: boolean
  /** Closed for its user; the socket may still be finishing (see LINGER_MS), until `lingerUntil`. */
  closed: boolean
  lingerUntil: number
  readonly connected: Deferred.Deferred<void, TransportError>
  /** When it was made (ms): a half-open connection expires by it. */
  readonly openedAt: number
}

/**
 * `Transport` over uTP (BEP 29). `listen` binds a UDP socket (ask for the TCP listener's port: with
 * `SharedDatagram` the DHT can share it) and dials go out from the listening socket of their family, so peers see
 * our listen port; without one, from a socket bound for dialling. Connections are demultiplexed by remote address
 * and connection id, each driven by a `UtpSocket` state machine on one shared timer.
 */
export const make = (options: UtpTransportOptions = {}) =>
  Effect.gen(function*() {
    const datagram = yield* Datagram
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    // Monotonic milliseconds: a wall-clock jump must not fire every connection's timers at once.
    const now = () => Number(clock.unsafeCurrentTimeNanos() / 1_000_000n)
    const connectTimeout = options.connectTimeout ?? Duration.seconds(3)
    const halfOpenTimeout = Duration.toMillis(options.halfOpenTimeout ?? Duration.seconds(10))
    const entries = new Map<string, Entry>()
    const halfOpen = new Set<Entry>()
    /** Open while there are connections: the retransmission tick runs only then. */
    const connections = yield* Effect.makeLatch(false)
    /** The listening socket of each family, which dials go out from. */
    const listening = new Map<Family, DatagramSocket>()
    let accept: ((connection: Connection) => void) | undefined

    const keyOf = (remote: Endpoint, id: number) => `${formatEndpoint(remote)}/${id}`

    const bind = (host: string, port: number) =>
      datagram.bind({ family: familyOf(host), host, port, accepts: isUtpDatagram }, received)

    /** For dials when nothing listens on that family: one socket on any port, bound at the first such dial. */
    const dialling = {
      ipv4: yield* Effect.cached(Scope.extend(bind("0.0.0.0", 0), scope)),
      ipv6: yield* Effect.cached(Scope.extend(bind("::", 0), scope))
    }

    const deliver = (entry: Entry, output: UtpOutput): void => {
      for (const packet of output.packets) entry.udp.post(encodePacket(packet), entry.remote)
      for (const event of output.events) {
        switch (event.type) {
          case "connected":
            halfOpen.delete(entry)
            Deferred.unsafeDone(entry.connected, Exit.void)
            break
          case "data":
            if (entry.closed) break
            if (entry.handlers === undefined || entry.paused) {
              entry.held.push(event.bytes)
              entry.heldBytes += event.bytes.length
            } else {
              entry.handlers.onData(event.bytes)
            }
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
      if (entry.heldBytes !== entry.toldUnread && !entry.closed) {
        entry.toldUnread = entry.heldBytes
        deliver(entry, entry.socket.setUnread(entry.heldBytes, now()))
      }
    }

    const finish = (entry: Entry, problem: string | undefined): void => {
      if (entry.closed) return
      entry.closed = true
      entry.lingerUntil = now() + LINGER_MS
      entry.held.length = 0
      entry.heldBytes = 0
      halfOpen.delete(entry)
      const error = problem === undefined
        ? undefined
        : new TransportError({ reason: "Closed", detail: `uTP connection to ${formatEndpoint(entry.remote)}: ${problem}` })
      Deferred.unsafeDone(
        entry.connected,
        Exit.fail(new TransportError({ reason: "Connect", detail: `uTP connection to ${formatEndpoint(entry.remote)} ${problem ?? "closed"}` }))
      )
      entry.handlers?.onClose(error)
    }

    /** Hands held data to the reader while it reads; the window reopens by as much. */
    const drainHeld = (entry: Entry): void => {
      while (entry.held.length > 0 && !entry.paused && entry.handlers !== undefined && !entry.closed) {
        const bytes = entry.held.shift()!
        entry.heldBytes -= bytes.length
        entry.handlers.onData(bytes)
      }
      if (entry.heldBytes !== entry.toldUnread && !entry.closed) deliver(entry, { packets: [], events: [] })
    }

    const connectionOf = (entry: Entry): Connection => ({
      remote: entry.remote,
      transport: "utp",
      counters: () => ({ ...entry.socket.stats }),
      write: (bytes, sent) => {
        if (entry.closed) return false
        // Sent at the end of this event-loop turn, with whatever else is written (and the ACK owed) in shared packets.
        entry.socket.queue(bytes, sent)
        pending(entry)
        if (entry.socket.queued >= HIGH_WATER_MARK) entry.blocked = true
        return !entry.blocked
      },
      start: (handlers) => {
        // As on TCP, starting (or handing the connection over) reads again.
        entry.handlers = handlers
        entry.paused = false
        if (entry.closed) return handlers.onClose(undefined)
        drainHeld(entry)
      },
      // Writes wait for the end of the event-loop turn anyway (see `write`): corking adds nothing.
      cork: () => {},
      uncork: () => {},
      pause: () => {
        entry.paused = true
      },
      resume: () => {
        entry.paused = false
        drainHeld(entry)
      },
      destroy: () => {
        if (entry.closed) return
        deliver(entry, entry.socket.close(now()))
        finish(entry, undefined)
      }
    })

    const newEntry = (socket: UtpSocket, remote: Endpoint, udp: DatagramSocket): Entry => {
      const entry: Entry = {
        socket,
        remote,
        udp,
        handlers: undefined,
        held: [],
        heldBytes: 0,
        toldUnread: 0,
        paused: false,
        blocked: false,
        closed: false,
        lingerUntil: 0,
        connected: Deferred.unsafeMake<void, TransportError>(FiberId.none),
        openedAt: now()
      }
      entries.set(keyOf(remote, socket.receiveId), entry)
      connections.unsafeOpen()
      return entry
    }

    function received(bytes: Uint8Array, from: Endpoint): void {
      const packet = decodePacket(bytes)
      if (typeof packet === "string") return
      // A SYN names the initiator's receive id; our side of that connection is keyed one above it.
      const id = packet.type === "syn" ? seqAdd(packet.connectionId, 1) : packet.connectionId
      const entry = entries.get(keyOf(from, id))
      if (entry !== undefined) {
        deliver(entry, entry.socket.receive(packet, now()))
        if (entry.socket.owesAck) pending(entry)
        return
      }
      if (packet.type !== "syn" || accept === undefined) return
      if (halfOpen.size >= MAX_HALF_OPEN || entries.size >= MAX_CONNECTIONS) return
      const udp = listening.get(familyOf(from.host))
      if (udp === undefined) return
      const [socket, output] = UtpSocket.accept(packet, { seqNr: randomInt(1, 0xffff), delayedAcks: true }, now())
      const created = newEntry(socket, from, udp)
      halfOpen.add(created)
      deliver(created, output)
      accept(connectionOf(created))
    }

    /**
     * Connections with bytes written or an ACK owed: sent once this event-loop turn is over (the datagrams that
     * arrived together all read, everything written in answer queued), in as few packets as the data allows.
     */
    const waiting = new Set<Entry>()
    const sendWaiting = () => {
      const time = now()
      for (const entry of waiting) if (!entry.closed) deliver(entry, entry.socket.sendQueued(time))
      waiting.clear()
    }
    const pending = (entry: Entry) => {
      if (waiting.size === 0) setImmediate(sendWaiting)
      waiting.add(entry)
    }

    yield* Effect.sync(() => {
      const time = now()
      for (const [key, entry] of [...entries]) {
        deliver(entry, entry.socket.tick(time))
        const over = entry.socket.state === "closed" || entry.socket.state === "reset" || time >= entry.lingerUntil
        if (entry.closed && over) entries.delete(key)
      }
      for (const entry of [...halfOpen]) {
        if (time - entry.openedAt >= halfOpenTimeout) finish(entry, "no packet after the SYN in time")
      }
      if (entries.size === 0) connections.unsafeClose()
    }).pipe(connections.whenOpen, Effect.zipRight(Effect.sleep(TICK)), Effect.forever, Effect.forkScoped)

    const connect = (to: Endpoint): Effect.Effect<Connection, TransportError, Scope.Scope> =>
      Effect.gen(function*() {
        const family = familyOf(to.host)
        const udp = listening.get(family) ?? (yield* dialling[family].pipe(
          Effect.mapError((cause) => new TransportError({ reason: "Connect", detail: `no UDP socket for uTP: ${cause.message}`, cause }))
        ))
        const entry = yield* Effect.acquireRelease(
          Effect.sync(() => {
            // A free receive id for this peer (the acceptor sends with it, we with the one above).
            let id = randomInt(0, 0xffff)
            while (entries.has(keyOf(to, id))) id = randomInt(0, 0xffff)
            const [socket, output] = UtpSocket.connect({ connectionId: id, delayedAcks: true }, now())
            const created = newEntry(socket, to, udp)
            deliver(created, output)
            return created
          }),
          (entry) => Effect.sync(() => connectionOf(entry).destroy())
        )
        yield* Deferred.await(entry.connected).pipe(
          Effect.timeoutFail({
            duration: connectTimeout,
            onTimeout: () => new TransportError({ reason: "Connect", detail: `no uTP answer from ${formatEndpoint(to)}` })
          })
        )
        return connectionOf(entry)
      })

    const listen = (at: Endpoint, onConnection: (connection: Connection) => void) =>
      Effect.gen(function*() {
        const udp = yield* bind(at.host, at.port).pipe(
          Effect.mapError((cause) => new TransportError({ reason: "Listen", detail: `uTP: ${cause.message}`, cause }))
        )
        const family = familyOf(at.host)
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            accept = onConnection
            listening.set(family, udp)
          }),
          () =>
            Effect.sync(() => {
              if (listening.get(family) === udp) listening.delete(family)
              if (listening.size === 0) accept = undefined
            })
        )
        return { local: udp.local }
      })

    return Transport.of({ connect, listen })
  })

/** uTP as the Transport: needs a Datagram (wrap it in `SharedDatagram.layer` to share the port with the DHT). */
export const layer = (options: UtpTransportOptions = {}): Layer.Layer<Transport, never, Datagram> =>
  Layer.scoped(Transport, make(options))
