import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import type { Connection, ConnectionHandlers } from "./Transport.js"
import type { Direction } from "./RateLimit.js"

/** Runs `f` after `ms`; returns a cancel. */
export type Later = (ms: number, f: () => void) => () => void

/**
 * Timers for `throttle` on the Effect Clock (so TestClock drives them), as fibers of the current scope, with the
 * Clock's `now`.
 */
export const clockTimers: Effect.Effect<{ readonly later: Later; readonly now: () => number }, never, Scope.Scope> = Effect
  .gen(function*() {
    const clock = yield* Effect.clock
    const run = yield* FiberSet.makeRuntime<never>()
    const later: Later = (ms, f) => {
      const fiber = run(Effect.sleep(Duration.millis(ms)).pipe(Effect.zipRight(Effect.sync(f))))
      return () => fiber.unsafeInterruptAsFork(fiber.id())
    }
    return { later, now: () => clock.unsafeCurrentTimeMillis() }
  })

/**
 * A Connection held to rate limits. Reading: every chunk is counted against `down`; when that leaves it in debt, the
 * socket is paused until the debt is paid, so the peer's sending slows to our rate (TCP flow control). Writing: while
 * `up` has no tokens, writes are queued here and `write` answers `false` (the caller waits for `onDrain`), then sent
 * as tokens come. With neither direction limited, each chunk and each write costs one boolean test.
 */
export const throttle = (inner: Connection, down: Direction, up: Direction, later: Later): Connection => {
  let handlers: ConnectionHandlers | undefined
  /** Paused by the owner (back-pressure), and by us (the limit). */
  let pausedByOwner = false
  let pausedByLimit = false
  let cancelResume: (() => void) | undefined
  const queue: Array<readonly [Uint8Array, (() => void) | undefined]> = []
  let cancelFlush: (() => void) | undefined
  let closed = false

  const resumeLater = (wait: number) => {
    pausedByLimit = true
    inner.pause()
    cancelResume = later(wait, () => {
      cancelResume = undefined
      const again = down.limited ? down.waitMs() : 0
      if (again > 0 && !closed) return resumeLater(again)
      pausedByLimit = false
      if (!pausedByOwner && !closed) inner.resume()
    })
  }

  const onData = (chunk: Uint8Array) => {
    if (down.limited) {
      down.take(chunk.length)
      if (!pausedByLimit) {
        const wait = down.waitMs()
        if (wait > 0) resumeLater(wait)
      }
    }
    handlers?.onData(chunk)
  }

  const flush = () => {
    cancelFlush = undefined
    if (closed) return
    while (queue.length > 0) {
      const wait = up.limited ? up.waitMs() : 0
      if (wait > 0) {
        cancelFlush = later(wait, flush)
        return
      }
      const [bytes, sent] = queue.shift()!
      up.take(bytes.length)
      inner.write(bytes, sent)
    }
    handlers?.onDrain()
  }

  const write = (bytes: Uint8Array, sent?: () => void): boolean => {
    if (queue.length === 0 && (!up.limited || up.waitMs() === 0)) {
      if (up.limited) up.take(bytes.length)
      return inner.write(bytes, sent)
    }
    queue.push([bytes, sent])
    if (cancelFlush === undefined) cancelFlush = later(up.waitMs(), flush)
    return false
  }

  const stopTimers = () => {
    closed = true
    cancelResume?.()
    cancelFlush?.()
    queue.length = 0
  }

  const connection: Connection = {
    remote: inner.remote,
    ...(inner.transport === undefined ? {} : { transport: inner.transport }),
    ...(inner.encrypted === undefined ? {} : { encrypted: inner.encrypted }),
    ...(inner.counters === undefined ? {} : { counters: inner.counters }),
    write,
    start: (next) => {
      handlers = next
      inner.start({
        onData,
        onDrain: () => {
          if (queue.length === 0) handlers?.onDrain()
        },
        onClose: (error) => {
          stopTimers()
          handlers?.onClose(error)
        }
      })
    },
    cork: inner.cork,
    uncork: inner.uncork,
    pause: () => {
      pausedByOwner = true
      inner.pause()
    },
    resume: () => {
      pausedByOwner = false
      if (!pausedByLimit) inner.resume()
    },
    destroy: () => {
      stopTimers()
      inner.destroy()
    }
  }
  return connection
}
