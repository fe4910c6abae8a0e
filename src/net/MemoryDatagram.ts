import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { isIP } from "node:net"
import { Datagram, DatagramError, type DatagramSocket, type Endpoint } from "./Datagram.js"
import { formatEndpoint } from "./endpoint.js"

/** The largest UDP payload over IPv4, as a real socket would refuse a bigger one. */
const MAX_DATAGRAM = 65_507

export interface MemoryDatagramOptions {
  /** The share of datagrams lost on the way, 0 (default) to 1. */
  readonly loss?: number
  /** Uniform in [0, 1), for losses, delays and duplicates. Default Math.random. */
  readonly random?: () => number
  /**
   * Milliseconds each datagram spends on the way: `delayMs` plus up to `jitterMs`, drawn per datagram, so that
   * datagrams overtake each other. Both 0 by default: delivery on the next turn of the event loop, in order.
   */
  readonly delayMs?: number
  readonly jitterMs?: number
  /** The share of datagrams delivered twice (each copy with its own delay), 0 (default) to 1. */
  readonly duplicate?: number
}

const isWildcard = (host: string | undefined): boolean => host === undefined || host === "0.0.0.0" || host === "::"

/**
 * An in-memory UDP network, for tests and in-process DHT swarms. Fresh per layer build, so every socket of a test
 * must share one provided layer.
 *
 * A socket bound to every interface (no host, "0.0.0.0" or "::") gets an address of its own, as if each socket were
 * a machine: 10.0.0.1, 10.0.0.2, ... for IPv4, fd00::1, ... for IPv6. That way a swarm of nodes has one IP per node
 * (what per-IP limits and tokens expect). A socket bound to a given IP keeps it. Port 0 picks a free port from
 * 40000 up. Datagrams are copied and delivered on a later turn of the event loop (or after a delay, see the options)
 * to whichever socket holds the address then; to an address nobody holds, they vanish, as UDP does. Sending to a
 * host name, or across families, fails as it would on Node.
 */
export const makeMemory = (options: MemoryDatagramOptions = {}): Effect.Effect<Datagram["Type"]> =>
  Effect.sync(() => {
    const loss = options.loss ?? 0
    const random = options.random ?? Math.random
    const delayMs = options.delayMs ?? 0
    const jitterMs = options.jitterMs ?? 0
    const duplicate = options.duplicate ?? 0
    /** Runs `deliver` after the link's delay: on the next turn of the event loop when there is none. */
    const later = (deliver: () => void): void => {
      const ms = delayMs + (jitterMs > 0 ? random() * jitterMs : 0)
      if (ms > 0) setTimeout(deliver, ms)
      else setImmediate(deliver)
    }
    const sockets = new Map<string, (bytes: Uint8Array, from: Endpoint) => void>()
    let nextHost = 1
    let nextPort = 40000

    const freshHost = (family: "ipv4" | "ipv6"): string => {
      const n = nextHost++
      return family === "ipv4" ? `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` : `fd00::${n.toString(16)}`
    }

    const bind: Datagram["Type"]["bind"] = (bindOptions, onMessage) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const family = bindOptions.family
          const host = isWildcard(bindOptions.host) ? freshHost(family) : bindOptions.host!
          if (isIP(host) !== (family === "ipv4" ? 4 : 6)) {
            return Effect.fail(new DatagramError({ reason: "Bind", detail: `cannot bind to ${host}: not an ${family} address` }))
          }
          const local: Endpoint = { host, port: bindOptions.port || nextPort++ }
          const key = formatEndpoint(local)
          if (sockets.has(key)) {
            return Effect.fail(new DatagramError({ reason: "Bind", detail: `cannot bind to ${key}: address in use` }))
          }
          sockets.set(key, onMessage)
          /** Hands `bytes` to the network, in plain code; what is wrong with the send, if anything. */
          const post = (bytes: Uint8Array, to: Endpoint): string | undefined => {
            const problem = isIP(to.host) === 0
              ? "not an IP address"
              : isIP(to.host) !== isIP(host)
              ? "another address family"
              : bytes.length > MAX_DATAGRAM
              ? "message too long"
              : undefined
            if (problem !== undefined) return problem
            if (sockets.get(key) !== onMessage || (loss > 0 && random() < loss)) return undefined
            const copy = Uint8Array.from(bytes)
            const target = formatEndpoint(to)
            const copies = duplicate > 0 && random() < duplicate ? 2 : 1
            for (let i = 0; i < copies; i++) later(() => sockets.get(target)?.(copy, local))
            return undefined
          }
          const send = (bytes: Uint8Array, to: Endpoint): Effect.Effect<void, DatagramError> =>
            Effect.suspend(() => {
              const problem = post(bytes, to)
              return problem === undefined
                ? Effect.void
                : Effect.fail(new DatagramError({ reason: "Send", detail: `cannot send to ${formatEndpoint(to)}: ${problem}` }))
            })
          return Effect.succeed({ socket: { local, send, post } satisfies DatagramSocket, key, onMessage })
        }),
        ({ key, onMessage }) =>
          Effect.sync(() => {
            if (sockets.get(key) === onMessage) sockets.delete(key)
          })
      ).pipe(Effect.map(({ socket }) => socket))

    return Datagram.of({ bind })
  })

/** `Datagram` as a lossless in-memory network (see `makeMemory`). */
export const layerMemory: Layer.Layer<Datagram> = Layer.effect(Datagram, makeMemory())

/** `Datagram` as an in-memory network that may lose, delay, reorder or duplicate datagrams. */
export const layerMemoryWith = (options: MemoryDatagramOptions): Layer.Layer<Datagram> =>
  Layer.effect(Datagram, makeMemory(options))
