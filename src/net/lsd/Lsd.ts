import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { randomBytes } from "node:crypto"
import { Datagram, type DatagramSocket, type Endpoint } from "../Datagram.js"
import { formatEndpoint } from "../endpoint.js"
import { decodeAnnounce, encodeAnnounce, LSD_GROUP_V4, LSD_GROUP_V6 } from "./codec.js"
import { LsdError } from "./LsdError.js"

/** One socket of LSD: where it listens and which group its announces go to. */
export interface LsdChannel {
  readonly family: "ipv4" | "ipv6"
  /** The local port listened on (6771), or 0 in tests. */
  readonly port: number
  /** The local address bound (default: every interface); 127.0.0.1 in tests. */
  readonly host?: string
  /** Where announces go, and the `Host` they carry. */
  readonly group: Endpoint
  /** Join `group.host` as a multicast group (false in tests that send unicast on loopback). */
  readonly join: boolean
}

export interface LsdConfig {
  readonly channels: ReadonlyArray<LsdChannel>
  /** When each torrent is announced again: every 5 minutes (BEP 14 asks for no more than one a minute). */
  readonly announce: Schedule.Schedule<unknown>
  /** Announces accepted per source address per minute; the rest are counted and dropped. */
  readonly perSourcePerMinute: number
  /** The same peer (address and port) for the same torrent is passed on at most once per this. */
  readonly repeatPeerAfter: Duration.Duration
}

/** Announce once, then every 5 minutes. */
export const announceSchedule: Schedule.Schedule<unknown> = Schedule.spaced(Duration.minutes(5))

export const defaultLsdConfig: LsdConfig = {
  channels: [
    { family: "ipv4", port: LSD_GROUP_V4.port, group: LSD_GROUP_V4, join: true },
    { family: "ipv6", port: LSD_GROUP_V6.port, group: LSD_GROUP_V6, join: true }
  ],
  announce: announceSchedule,
  perSourcePerMinute: 20,
  repeatPeerAfter: Duration.minutes(1)
}

/** What was received and what was not passed on. */
export interface LsdStats {
  readonly received: number
  readonly peers: number
  readonly ownAnnounces: number
  readonly malformed: number
  readonly rateLimited: number
}

/**
 * Local Service Discovery (BEP 14): announces our torrents to the LAN's multicast groups and passes on the peers
 * that others announce for them.
 */
export class Lsd extends Context.Tag("bt/Lsd")<Lsd, {
  /**
   * Announces `infoHash` (20 bytes) with our listening `port` until the scope closes, and hands peers announced for
   * it on the LAN to `onPeers`. Never call it for a private torrent.
   */
  readonly add: (
    infoHash: Uint8Array,
    port: number,
    onPeers: (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void>
  ) => Effect.Effect<void, never, Scope.Scope>
  readonly stats: Effect.Effect<LsdStats>
}>() {}

/** LSD on the Datagram service; fails only if no channel could be opened. */
export const make = (
  options: Partial<LsdConfig> = {}
): Effect.Effect<Lsd["Type"], LsdError, Datagram | Scope.Scope> =>
  Effect.gen(function*() {
    const config = { ...defaultLsdConfig, ...options }
    const datagram = yield* Datagram
    const clock = yield* Effect.clock
    const cookie = randomBytes(6).toString("hex")
    const stats = { received: 0, peers: 0, ownAnnounces: 0, malformed: 0, rateLimited: 0 }
    const handlers = new Map<string, (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void>>()
    const perSource = new Map<string, { windowStart: number; count: number }>()
    const lastSeen = new Map<string, number>()
    const found = yield* Queue.dropping<readonly [string, Endpoint]>(256)
    const repeatMs = Duration.toMillis(config.repeatPeerAfter)

    const onMessage = (bytes: Uint8Array, from: Endpoint) => {
      stats.received++
      const now = clock.unsafeCurrentTimeMillis()
      const source = perSource.get(from.host)
      if (source === undefined || now - source.windowStart >= 60_000) {
        if (perSource.size >= 1024) perSource.clear()
        perSource.set(from.host, { windowStart: now, count: 1 })
      } else if (++source.count > config.perSourcePerMinute) {
        stats.rateLimited++
        return
      }
      const announce = decodeAnnounce(bytes)
      if (typeof announce === "string") {
        stats.malformed++
        return
      }
      if (announce.cookie === cookie) {
        stats.ownAnnounces++
        return
      }
      for (const hash of announce.infoHashes) {
        if (!handlers.has(hash)) continue
        const peer = { host: from.host, port: announce.port }
        const key = `${hash} ${formatEndpoint(peer)}`
        const seen = lastSeen.get(key)
        if (seen !== undefined && now - seen < repeatMs) continue
        if (lastSeen.size >= 4096) lastSeen.clear()
        lastSeen.set(key, now)
        stats.peers++
        Queue.unsafeOffer(found, [hash, peer])
      }
    }

    const sockets: Array<readonly [LsdChannel, DatagramSocket]> = []
    for (const channel of config.channels) {
      const bound = yield* datagram.bind({
        family: channel.family,
        port: channel.port,
        ...(channel.host === undefined ? {} : { host: channel.host }),
        ...(channel.join ? { multicast: channel.group.host } : {})
      }, onMessage).pipe(Effect.either)
      if (bound._tag === "Right") sockets.push([channel, bound.right])
      else yield* Effect.logDebug(`LSD on ${channel.family} unavailable: ${bound.left.message}`)
    }
    if (sockets.length === 0) {
      return yield* new LsdError({ reason: "Bind", detail: "no LSD socket could be opened" })
    }

    // Peers found go to their torrent's handler, one at a time, off the receive path.
    yield* Queue.take(found).pipe(
      Effect.flatMap(([hash, peer]) => handlers.get(hash)?.([peer]) ?? Effect.void),
      Effect.forever,
      Effect.forkScoped
    )

    const announceOnce = (hash: string, port: number) =>
      Effect.forEach(sockets, ([channel, socket]) =>
        socket.send(encodeAnnounce(formatEndpoint(channel.group), { port, infoHashes: [hash], cookie }), channel.group).pipe(
          Effect.catchAll((error) => Effect.logDebug(`LSD announce not sent: ${error.message}`))
        ), { discard: true })

    return Lsd.of({
      stats: Effect.sync(() => ({ ...stats })),
      add: (infoHash, port, onPeers) =>
        Effect.gen(function*() {
          const hash = Buffer.from(infoHash).toString("hex")
          yield* Effect.acquireRelease(
            Effect.sync(() => handlers.set(hash, onPeers)),
            () => Effect.sync(() => handlers.delete(hash))
          )
          yield* announceOnce(hash, port).pipe(
            Effect.repeat(config.announce),
            Effect.annotateLogs("module", "lsd"),
            Effect.forkScoped
          )
        })
    })
  })

export const layerConfig = (config: Partial<LsdConfig> = {}): Layer.Layer<Lsd, LsdError, Datagram> =>
  Layer.scoped(Lsd, make(config))

export const layer = layerConfig()

/** No LSD (`--no-lsd`, tests). */
export const layerOff: Layer.Layer<Lsd> = Layer.succeed(
  Lsd,
  Lsd.of({
    add: () => Effect.void,
    stats: Effect.succeed({ received: 0, peers: 0, ownAnnounces: 0, malformed: 0, rateLimited: 0 })
  })
)
