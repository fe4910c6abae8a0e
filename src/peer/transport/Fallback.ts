import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import type { Connection, ConnectionHandlers, TransportError } from "./Transport.js"

/**
 * Bytes written before the peer's first byte that are kept to be sent again over the other transport, at most.
 * The dialling side's opening (an MSE handshake with its padding, or a BitTorrent handshake, an extension
 * handshake and a bitfield) fits; a connection that writes more gives up its fallback.
 */
export const MAX_REPLAY = 64 * 1024

type Name = "tcp" | "utp"

export interface FallbackOptions {
  /** What carries `first`, and what `redial` dials. */
  readonly transports: readonly [Name, Name]
  /** Dials the other transport; run at most once. */
  readonly redial: Effect.Effect<Connection, TransportError>
  /** How long the peer may stay silent after `start` before the other transport is dialled beside this one. */
  readonly silentFor: Duration.DurationInput
  readonly runtime: Runtime.Runtime<never>
  /** Called when the connection moved to the other transport. */
  readonly onMoved: () => void
  /**
   * Called when the peer closed the connection it moved to before sending a byte too: it refuses what we sent
   * (an encryption handshake, say) rather than the transport.
   */
  readonly onRefusedBoth: () => void
}

/**
 * A dialled connection that moves to the other transport, once, when the peer has not sent a byte yet and either
 * closes it or stays silent for `silentFor`. Peers do both: libtorrent with incoming TCP off accepts a TCP
 * connection and closes it, or leaves it unanswered, and answers over uTP.
 *
 * Until the peer's first byte, what is written is also kept (up to MAX_REPLAY) and sent again over the new
 * connection: the peer has answered nothing, so starting over is what a fresh dial would do. After a close the
 * other transport is the only hope (if it fails, the close is reported); after a silence the other is dialled
 * beside the first, which is kept if it fails, and dropped if it succeeds. The caller sees one connection
 * throughout; the first byte from the peer ends the watch (one flag per chunk after that).
 */
export const fallbackConnection = (first: Connection, options: FallbackOptions): Connection => {
  const run = Runtime.runFork(options.runtime)
  let current = first
  let carrier = options.transports[0]
  let handlers: ConnectionHandlers | undefined
  let started = false
  let received = false
  let destroyed = false
  let paused = false
  let tried = false
  let moved = false
  /** The first connection closed while the other is dialled: writes are only kept. */
  let closedFirst = false
  let closeError: TransportError | undefined
  let replay: Array<Uint8Array> | undefined = []
  let replayBytes = 0
  let watch: Fiber.RuntimeFiber<unknown, unknown> | undefined

  const stopWatch = () => {
    if (watch !== undefined) run(Fiber.interrupt(watch))
    watch = undefined
  }

  const moveTo = (next: Connection) => {
    const old = current
    current = next
    carrier = options.transports[1]
    moved = true
    forward = forwardFor(next)
    old.destroy()
    current.start(forward)
    for (const bytes of replay!) current.write(bytes)
    if (paused) current.pause()
    options.onMoved()
  }

  /** Dials the other transport, the first connection closed already or not. */
  const tryOther = () => {
    tried = true
    const fiber = run(options.redial)
    watch = fiber
    fiber.addObserver((exit) => {
      if (watch === fiber) watch = undefined
      const usable = Exit.isSuccess(exit) && !destroyed && !received && replay !== undefined
      if (usable) return moveTo(exit.value)
      if (Exit.isSuccess(exit)) exit.value.destroy()
      if (closedFirst && !destroyed) handlers?.onClose(closeError)
    })
  }

  /** Handlers for `connection`: what it reports once it is no longer the current one (closed by us) is dropped. */
  const forwardFor = (connection: Connection): ConnectionHandlers => ({
    onData: (chunk) => {
      if (connection !== current) return
      if (!received) {
        received = true
        replay = undefined
        stopWatch()
      }
      handlers?.onData(chunk)
    },
    onDrain: () => {
      if (connection === current) handlers?.onDrain()
    },
    onClose: (error) => {
      if (connection !== current) return
      if (moved && !received && !destroyed) options.onRefusedBoth()
      if (received || destroyed || replay === undefined) return handlers?.onClose(error)
      closedFirst = true
      closeError = error
      if (!tried) {
        stopWatch()
        return tryOther()
      }
      // The other transport is being dialled after a silence: its answer decides.
      if (watch === undefined) handlers?.onClose(error)
    }
  })
  let forward = forwardFor(first)

  return {
    remote: first.remote,
    get transport() {
      return carrier
    },
    counters: () => current.counters?.() ?? {},
    get encrypted() {
      return current.encrypted === true
    },
    write: (bytes, sent) => {
      if (replay !== undefined) {
        replayBytes += bytes.length
        if (replayBytes > MAX_REPLAY) replay = undefined
        else replay.push(bytes.slice())
      }
      if (closedFirst && watch !== undefined) {
        // Kept for the new connection (or lost with it): the caller may reuse its bytes.
        sent?.()
        return true
      }
      return current.write(bytes, sent)
    },
    start: (given) => {
      handlers = given
      if (!started) {
        started = true
        watch = run(Effect.sleep(options.silentFor).pipe(
          Effect.zipRight(Effect.sync(() => {
            watch = undefined
            if (!received && !destroyed && !tried && replay !== undefined) tryOther()
          }))
        ))
      }
      // Again on every call: a transport may hold what arrived between two handlers until the next `start`.
      current.start(forward)
    },
    cork: () => current.cork(),
    uncork: () => current.uncork(),
    pause: () => {
      paused = true
      current.pause()
    },
    resume: () => {
      paused = false
      current.resume()
    },
    destroy: () => {
      if (destroyed) return
      destroyed = true
      stopWatch()
      current.destroy()
    }
  }
}
