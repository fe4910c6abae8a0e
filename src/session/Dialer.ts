import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Endpoint } from "../net/Datagram.js"
import { keyOf } from "../peer/link.js"
import { isFinal, PeerError } from "../peer/PeerError.js"

/** Addresses waiting to be dialled, at most; more are ignored until some are tried (PEX and trackers can flood). */
export const MAX_CANDIDATES = 1000

export interface DialerOptions {
  /** Our listening port: on this machine's own addresses it is us, never dialled. */
  readonly ownPort: number
  /** Whether an address is us (one of our known addresses with our port): never dialled. */
  readonly isSelf?: (address: Endpoint) => boolean
  /** Whether another connection may be opened now (the torrent's and the session's caps, and readiness). */
  readonly roomForPeer: () => boolean
  /** Whether an address is banned (by its IP address); checked before every attempt. */
  readonly banned: (address: Endpoint) => boolean
  /** Runs one connection to the address until it ends, with why. */
  readonly connect: (address: Endpoint) => Effect.Effect<never, PeerError, Scope.Scope>
  /** Between attempts at an address that failed or closed; ends when the schedule does. */
  readonly reconnect: Schedule.Schedule<unknown>
}

/**
 * The peers of one torrent (or of one metadata fetch) as supervised fibers, one per address: candidates from
 * trackers, PEX and the user, dialled while there is room, redialled on the reconnect schedule, and accepted
 * connections run under the same map. A fiber ending frees its slot for the next candidate.
 */
export interface Dialer {
  /** Adds addresses to try (ours, duplicates and running ones are ignored), then dials while there is room. */
  readonly add: (addresses: ReadonlyArray<Endpoint>) => Effect.Effect<void>
  /**
   * Runs a connection's fiber under `key` (an accepted connection, say), counted while it runs; whatever ran under
   * `key` before (a dial attempt, a wait to redial) is interrupted.
   */
  readonly supervise: (key: string, fiber: Effect.Effect<void>) => Effect.Effect<void>
  /** Dials candidates while there is room. */
  readonly connectMore: Effect.Effect<void>
  /** Addresses with a running fiber. */
  readonly active: ReadonlySet<string>
  /** Every address heard of, running or not (for handing on to another dialer). */
  readonly known: () => ReadonlyArray<Endpoint>
}

const isLocalHost = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "0.0.0.0" || host === "::" || host.startsWith("127.")

export const makeDialer = (options: DialerOptions): Effect.Effect<Dialer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string>()
    const active = new Set<string>()
    const candidates = new Map<string, Endpoint>()
    const heard = new Map<string, Endpoint>()

    /** Which run owns each key: a run that was replaced must not free the key its successor holds. */
    const owners = new Map<string, object>()

    const supervise = (key: string, fiber: Effect.Effect<void>): Effect.Effect<void> => {
      const owner = {}
      owners.set(key, owner)
      active.add(key)
      // A fiber already under `key` (an attempt at the address, or its wait to redial) is interrupted.
      return FiberMap.run(
        fibers,
        key,
        fiber.pipe(Effect.ensuring(Effect.suspend(() => {
          if (owners.get(key) !== owner) return Effect.void
          owners.delete(key)
          active.delete(key)
          return connectMore
        })))
      ).pipe(Effect.asVoid)
    }

    const connectMore: Effect.Effect<void> = Effect.suspend(() => {
      const starts: Array<Effect.Effect<void>> = []
      for (const [key, address] of candidates) {
        if (!options.roomForPeer()) break
        candidates.delete(key)
        if (options.banned(address) || active.has(key)) continue
        // Checked at every attempt: a peer may be banned while we wait to redial it (convicted by a later piece).
        const attempt = Effect.suspend(() =>
          options.banned(address)
            ? Effect.fail(new PeerError({ reason: "Banned", peer: key, detail: "banned for sending bad data" }))
            : Effect.scoped(options.connect(address))
        )
        starts.push(supervise(
          key,
          attempt.pipe(
            Effect.tapError((error) => Effect.logDebug(error.message)),
            Effect.retry({ schedule: options.reconnect, while: (error) => !isFinal(error) }),
            Effect.catchTag("PeerError", (error) => Effect.logDebug(`giving up: ${error.message}`))
          )
        ))
      }
      return Effect.all(starts, { discard: true })
    })

    const add = (addresses: ReadonlyArray<Endpoint>): Effect.Effect<void> =>
      Effect.suspend(() => {
        for (const address of addresses) {
          // Trackers list us too; on this machine's own addresses our port is us (the handshake would tell, at
          // the cost of a connection).
          if (address.port === options.ownPort && isLocalHost(address.host)) continue
          if (options.isSelf?.(address) === true) continue
          const key = keyOf(address)
          if (!heard.has(key) && heard.size < MAX_CANDIDATES * 4) heard.set(key, address)
          if (!active.has(key) && (candidates.has(key) || candidates.size < MAX_CANDIDATES)) candidates.set(key, address)
        }
        return connectMore
      })

    return { add, supervise, connectMore, active, known: () => [...heard.values()] }
  })
