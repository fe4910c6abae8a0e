import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { Endpoint } from "../../net/Datagram.js"
import { formatEndpoint } from "../../net/endpoint.js"
import { fallbackConnection } from "./Fallback.js"
import { type Connection, type Listener, Transport, TransportError } from "./Transport.js"

/** Peers whose working transport is remembered, at most (the oldest is forgotten first). */
export const REMEMBERED_PEERS = 4096

export interface DualOptions {
  /**
   * The transport dialled first for a peer whose working transport is not known yet. Default `"tcp"`: see
   * `make` for why.
   */
  readonly prefer?: Name
  /**
   * How long the preferred transport has to connect before the other is tried beside it (the first to connect
   * wins, the other is abandoned); if the preferred one fails sooner (refused), the other is tried at once.
   * Default 500 ms: a live peer answers a TCP SYN or a uTP SYN in a round trip, and a peer that drops one (a
   * firewall, a NAT only uTP's hole punching gets through) then costs half a second, not the connect timeout.
   */
  readonly headStart?: Duration.DurationInput
  /**
   * How long the other transport has to connect when the peer closed the first, or left it silent, before
   * sending a byte (see `make`). Default 1 s: a peer that closed a TCP connection on us and listens on uTP answers in a round trip;
   * one that does not (a TCP peer refusing our encryption handshake) costs this once, then the plaintext redial.
   */
  readonly fallbackTimeout?: Duration.DurationInput
  /**
   * How long a peer just connected to may stay silent before the other transport is dialled beside (see `make`).
   * Default 2 s: a peer answers an opening in a round trip; the session gives up on a silent one after its
   * handshake timeout (10 s).
   */
  readonly silentFor?: Duration.DurationInput
}

type Name = "tcp" | "utp"

const other = (name: Name): Name => (name === "tcp" ? "utp" : "tcp")

/** A connection made in a scope of its own, which closes it. */
interface Made {
  readonly connection: Connection
  readonly scope: Scope.CloseableScope
  readonly name: Name
}

/**
 * TCP and uTP side by side (BEP 29): `listen` takes both on the same port number (failing if either cannot, so
 * a caller that tries several ports moves both), and `connect` dials the preferred transport first, the other
 * beside it after `headStart` (or at once if the first is refused), and keeps whichever connects first. A peer's
 * working transport is remembered: later dials try it first, the same way (so a wrong guess costs a head start).
 *
 * TCP is preferred by default. uTP exists to yield: its LEDBAT congestion control backs off as soon as queues grow,
 * so a background transfer leaves room for a household's other traffic; TCP takes its fair share. libtorrent dials
 * uTP first and, beside TCP, by default throttles uTP in favour of TCP (`mixed_mode_algorithm = prefer_tcp`); a bt
 * uTP connection moves a fraction of a TCP one's bytes for several times the CPU (docs/BENCHMARKS.md, `defaults`
 * and `utp`). So a default that picks uTP makes every user pay for a yielding nobody asked for. Peers that dial us
 * over uTP are still accepted, and `prefer: "utp"` (or `--transport utp`) asks for uTP.
 *
 * A peer may accept a TCP connection and then close it or leave it unanswered (libtorrent with incoming TCP off
 * does both): a connection the peer closes before sending a byte, or leaves silent for `silentFor`, moves to the
 * other transport if that connects, what was written replayed (./Fallback.ts), and that transport is remembered.
 */
export const make = (tcp: Transport["Type"], utp: Transport["Type"], options: DualOptions = {}): Transport["Type"] => {
  const prefer = options.prefer ?? "tcp"
  const headStart = options.headStart ?? Duration.millis(500)
  const fallbackTimeout = options.fallbackTimeout ?? Duration.seconds(1)
  const silentFor = options.silentFor ?? Duration.seconds(2)
  const works = new Map<string, Name>()

  const remember = (key: string, transport: Name) => {
    works.delete(key)
    works.set(key, transport)
    if (works.size > REMEMBERED_PEERS) works.delete(works.keys().next().value!)
  }

  const bothFailed = (first: TransportError, second: TransportError) =>
    new TransportError({ reason: "Connect", detail: `${first.message}; ${second.message}`, cause: second })

  /** One attempt in a scope of its own under `outer`: closed at once unless it connects. */
  const attempt = (outer: Scope.Scope, name: Name, to: Endpoint): Effect.Effect<Made, TransportError> =>
    Effect.gen(function*() {
      const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      const connection = yield* (name === "tcp" ? tcp : utp).connect(to).pipe(
        Scope.extend(scope),
        Effect.mapError((error) => new TransportError({ reason: "Connect", detail: `${name}: ${error.message}`, cause: error })),
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)))
      )
      return { connection, scope, name }
    })

  /** The first of two attempts to connect; the other is interrupted, or closed if it connected too. */
  const first = (a: Effect.Effect<Made, TransportError>, b: Effect.Effect<Made, TransportError>) => {
    const settle = (exit: Exit.Exit<Made, TransportError>, loser: Fiber.Fiber<Made, TransportError>) =>
      Exit.isSuccess(exit)
        ? Fiber.interrupt(loser).pipe(
          Effect.flatMap((lost) => (Exit.isSuccess(lost) ? Scope.close(lost.value.scope, Exit.void) : Effect.void)),
          Effect.as(exit.value)
        )
        : Option.match(Cause.failureOption(exit.cause), {
          onNone: () => Effect.zipRight(Fiber.interrupt(loser), Effect.failCause(exit.cause)),
          onSome: (error) => Effect.mapError(Fiber.join(loser), (second) => bothFailed(error, second))
        })
    return Effect.raceWith(a, b, { onSelfDone: settle, onOtherDone: settle })
  }

  /** `firstChoice`, and the other after the head start or as soon as `firstChoice` fails. */
  const race = (outer: Scope.Scope, to: Endpoint, firstChoice: Name) =>
    Effect.gen(function*() {
      const refused = yield* Deferred.make<void>()
      const preferred = attempt(outer, firstChoice, to).pipe(Effect.tapError(() => Deferred.succeed(refused, undefined)))
      const second = Effect.raceFirst(Effect.sleep(headStart), Deferred.await(refused)).pipe(
        Effect.zipRight(attempt(outer, other(firstChoice), to))
      )
      return yield* first(preferred, second)
    })

  /**
   * The transport remembered for the peer (else the preferred one) first, the other beside it after the head
   * start; the connection moves to the other transport, once, if the peer closes it or stays silent before
   * sending a byte.
   */
  const connect = (to: Endpoint): Effect.Effect<Connection, TransportError, Scope.Scope> =>
    Effect.gen(function*() {
      const outer = yield* Effect.scope
      const runtime = yield* Effect.runtime<never>()
      const key = formatEndpoint(to)
      const made = yield* race(outer, to, works.get(key) ?? prefer)
      remember(key, made.name)
      const redial = attempt(outer, other(made.name), to).pipe(
        Effect.timeoutFail({
          duration: fallbackTimeout,
          onTimeout: () => new TransportError({ reason: "Connect", detail: `${other(made.name)}: no answer in time` })
        }),
        Effect.map((fallback) => fallback.connection)
      )
      return fallbackConnection(made.connection, {
        transports: [made.name, other(made.name)],
        redial,
        silentFor,
        runtime,
        onMoved: () => remember(key, other(made.name)),
        // The peer refused our bytes, not the transport: the first choice stays the first.
        onRefusedBoth: () => remember(key, made.name)
      })
    })

  const listen = (at: Endpoint, onConnection: (connection: Connection) => void): Effect.Effect<Listener, TransportError, Scope.Scope> =>
    Effect.gen(function*() {
      // Both or neither: a TCP listener whose uTP twin failed must not stay open.
      const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      return yield* Effect.gen(function*() {
        const listener = yield* tcp.listen(at, onConnection)
        yield* utp.listen({ host: at.host, port: listener.local.port }, onConnection)
        return listener
      }).pipe(
        Scope.extend(scope),
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
    })

  return Transport.of({ connect, listen })
}
