/**
 * A hostile peer double: plain code on the memory transport that writes whatever raw bytes a test scripts, either
 * listening (the session dials it) or dialling the session. It records how its connections end, and by whom, so a
 * test can tell that the session dropped it, and when.
 */
import { Effect, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import type { TorrentInfo } from "../../src/metainfo/index.js"
import type { Endpoint } from "../../src/net/Datagram.js"
import { type Connection, Transport, type TransportError } from "../../src/peer/transport/Transport.js"
import { Bitfield } from "../../src/piece/index.js"
import { encodeBitfield, encodeHandshake, HANDSHAKE_LENGTH, reservedBytes } from "../../src/wire/index.js"

/** One connection of the double, as its script sees it. */
export interface RawSide {
  /** Numbered from 1, per double. */
  readonly number: number
  readonly write: (bytes: Uint8Array) => void
  /** Sends a proper handshake for the torrent, with the double's peer id. */
  readonly handshake: () => void
  /** Sends a bitfield of the right size with these pieces. */
  readonly bitfield: (pieces: ReadonlyArray<number>) => void
  /** Calls `tick` every `ms` while the connection is open, until it returns `false`. */
  readonly every: (ms: number, tick: () => boolean | void) => void
  /** Closes the connection from the double's side. */
  readonly close: () => void
}

export interface RawScript {
  /** The connection is open (for a listening double: before the session's handshake has arrived). */
  readonly onConnect?: (side: RawSide) => void
  /** The session's 68-byte handshake has arrived. */
  readonly onHandshake?: (side: RawSide) => void
}

export interface RawLog {
  readonly connections: number
  readonly open: number
  /** The session's handshakes received. */
  readonly handshakes: number
  /** Bytes received from the session. */
  readonly received: number
  /** How each connection ended, with the wall-clock time it opened and ended. */
  readonly closes: ReadonlyArray<{
    readonly connection: number
    readonly openedAt: number
    readonly at: number
    readonly by: "client" | "double"
  }>
}

export interface RawPeer {
  readonly peerId: Uint8Array
  readonly log: RawLog
}

export interface RawOptions {
  readonly torrent: TorrentInfo
  readonly script: RawScript
  /** Default: a fresh random id. */
  readonly peerId?: Uint8Array
}

interface MutableLog {
  connections: number
  open: number
  handshakes: number
  received: number
  closes: Array<RawLog["closes"][number]>
}

export const makePeerId = (): Uint8Array => Uint8Array.from([...Buffer.from("-HD0001-"), ...randomBytes(12)])

const makeDouble = (options: RawOptions) => {
  const peerId = options.peerId ?? makePeerId()
  const log: MutableLog = { connections: 0, open: 0, handshakes: 0, received: 0, closes: [] }
  const live = new Set<Connection>()

  const run = (connection: Connection): void => {
    const number = ++log.connections
    const openedAt = Date.now()
    log.open++
    live.add(connection)
    let closed = false
    let closing = false
    let heard = 0
    const timers: Array<ReturnType<typeof setInterval>> = []

    const side: RawSide = {
      number,
      write: (bytes) => {
        if (!closed) connection.write(bytes)
      },
      handshake: () =>
        side.write(encodeHandshake({ reserved: reservedBytes([]), infoHash: options.torrent.infoHash, peerId })),
      bitfield: (pieces) => {
        const bits = new Bitfield(options.torrent.pieceCount)
        for (const index of pieces) bits.set(index)
        side.write(encodeBitfield(bits.toBytes()))
      },
      every: (ms, tick) => {
        const timer = setInterval(() => {
          if (closed || tick() === false) clearInterval(timer)
        }, ms)
        timers.push(timer)
      },
      close: () => {
        closing = true
        connection.destroy()
      }
    }

    connection.start({
      onData: (chunk) => {
        if (closed) return
        log.received += chunk.length
        if (heard < HANDSHAKE_LENGTH) {
          heard += chunk.length
          if (heard >= HANDSHAKE_LENGTH) {
            log.handshakes++
            options.script.onHandshake?.(side)
          }
        }
      },
      onDrain: () => {},
      onClose: () => {
        if (closed) return
        closed = true
        log.open--
        live.delete(connection)
        for (const timer of timers) clearInterval(timer)
        log.closes.push({ connection: number, openedAt, at: Date.now(), by: closing ? "double" : "client" })
      }
    })
    options.script.onConnect?.(side)
  }

  const shutdown = Effect.sync(() => {
    for (const connection of [...live]) connection.destroy()
  })
  return { peerId, log: log as RawLog, run, shutdown }
}

/** A hostile double listening on the memory transport: add its address as a peer. Stops with the scope. */
export const listenRaw = (
  options: RawOptions
): Effect.Effect<RawPeer & { readonly address: Endpoint }, TransportError, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const double = makeDouble(options)
    // A host of its own: bans are by address (IP), and an honest double must not share the offender's.
    const host = `hostile-${Buffer.from(double.peerId.subarray(-4)).toString("hex")}.test`
    const listener = yield* transport.listen({ host, port: 0 }, double.run)
    yield* Effect.addFinalizer(() => double.shutdown)
    return { address: listener.local, peerId: double.peerId, log: double.log }
  })

/** A hostile double that dials `to` (a session) `connections` times (default once), all with one peer id. */
export const dialRaw = (
  options: RawOptions & { readonly to: Endpoint; readonly connections?: number }
): Effect.Effect<RawPeer, TransportError, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const double = makeDouble(options)
    yield* Effect.addFinalizer(() => double.shutdown)
    for (let i = 0; i < (options.connections ?? 1); i++) double.run(yield* transport.connect(options.to))
    return { peerId: double.peerId, log: double.log }
  })
