import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import { isIPv6 } from "node:net"
import { Datagram, type DatagramSocket, type Endpoint } from "../../net/Datagram.js"
import { type TrackerConfig, udpFinalWait, udpRetransmitSchedule } from "../TrackerConfig.js"
import { TrackerError } from "../TrackerError.js"
import type { AnnounceRequest, AnnounceResponse, ScrapeEntry } from "../types.js"
import {
  encodeAnnounce,
  encodeConnect,
  encodeScrape,
  expectResponse,
  MAX_SCRAPE_HASHES,
  randomTransactionId,
  type UdpResponse
} from "./codec.js"

type Family = "ipv4" | "ipv6"

interface Target {
  readonly endpoint: Endpoint
  readonly family: Family
  readonly key: string
}

const parseTarget = (tracker: string): Either.Either<Target, TrackerError> => {
  const bad = (detail: string) => Either.left(new TrackerError({ reason: "BadUrl", url: tracker, detail }))
  let url: URL
  try {
    url = new URL(tracker)
  } catch {
    return bad("not a valid URL")
  }
  if (url.protocol !== "udp:") return bad("not a udp:// URL")
  const port = Number(url.port)
  if (!Number.isInteger(port) || port <= 0) return bad("a udp:// tracker URL needs a port")
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
  // A hostname is resolved by the IPv4 socket; IPv6 trackers are reached through an IPv6 literal.
  const family: Family = isIPv6(host) ? "ipv6" : "ipv4"
  return Either.right({ endpoint: { host, port }, family, key: `${family}|${host}|${port}` })
}

/** UDP trackers (BEP 15): connect, announce and scrape, with retransmission and connection-id reuse. */
export const makeUdpTrackers = (config: TrackerConfig) =>
  Effect.gen(function*() {
    const datagram = yield* Datagram
    const serviceScope = yield* Effect.scope

    /** Requests waiting for an answer, by transaction id. Fed by the socket's message handler. */
    const pending = new Map<number, (bytes: Uint8Array) => void>()
    const onMessage = (bytes: Uint8Array) => {
      if (bytes.length < 8) return
      const transactionId = ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0
      pending.get(transactionId)?.(bytes)
    }

    // One socket per address family, opened on first use and closed with the service.
    const sockets: Record<Family, Effect.Effect<DatagramSocket, TrackerError>> = {
      ipv4: yield* openSocket(datagram, "ipv4", onMessage, serviceScope),
      ipv6: yield* openSocket(datagram, "ipv6", onMessage, serviceScope)
    }

    const connections = yield* Ref.make(new Map<string, { readonly id: Uint8Array; readonly expires: number }>())
    const ttl = Duration.toMillis(config.udpConnectionTtl)

    /**
     * Sends a request and waits for the answer carrying its transaction id, retransmitting on the BEP 15 schedule.
     * An error action becomes a `Rejected` error; anything malformed a `Decode` error.
     */
    const exchange = <A extends "connect" | "announce" | "scrape">(
      tracker: string,
      target: Target,
      build: (transactionId: number) => Uint8Array,
      expected: A
    ) =>
      Effect.gen(function*() {
        const socket = yield* sockets[target.family]
        const transactionId = randomTransactionId()
        const reply = yield* Deferred.make<Uint8Array>()
        pending.set(transactionId, (bytes) => Deferred.unsafeDone(reply, Exit.succeed(bytes)))
        const send = socket.send(build(transactionId), target.endpoint).pipe(
          Effect.mapError((cause) => new TrackerError({ reason: "Network", url: tracker, detail: cause.detail, cause }))
        )
        const giveUp = new TrackerError({
          reason: "Timeout",
          url: tracker,
          detail: `no answer after ${config.udpRetransmits} retransmissions`
        })
        const retransmit = send.pipe(
          Effect.repeat(udpRetransmitSchedule(config)),
          Effect.zipRight(Effect.sleep(udpFinalWait(config))),
          Effect.zipRight(Effect.fail(giveUp))
        )
        const bytes = yield* Effect.raceFirst(Deferred.await(reply), retransmit).pipe(
          Effect.ensuring(Effect.sync(() => pending.delete(transactionId)))
        )
        const response = expectResponse(bytes, target.family, transactionId, expected)
        if (Either.isLeft(response)) {
          return yield* new TrackerError({ reason: "Decode", url: tracker, detail: `bad answer: ${response.left}` })
        }
        const answer: UdpResponse = response.right
        if (answer.action === "error") {
          return yield* new TrackerError({
            reason: "Rejected",
            url: tracker,
            detail: `the tracker refused: ${answer.message || "(no reason given)"}`
          })
        }
        return answer as Extract<UdpResponse, { readonly action: A }>
      })

    const connectionId = (tracker: string, target: Target) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const cached = (yield* Ref.get(connections)).get(target.key)
        if (cached !== undefined && cached.expires > now) return cached.id
        const { connectionId } = yield* exchange(tracker, target, encodeConnect, "connect")
        yield* Ref.update(connections, (map) => new Map(map).set(target.key, { id: connectionId, expires: now + ttl }))
        return connectionId
      })

    /** Runs a request that needs a connection id; a failure forgets the id, which may be what went stale. */
    const withConnection = <A>(tracker: string, use: (target: Target, id: Uint8Array) => Effect.Effect<A, TrackerError>) =>
      Effect.gen(function*() {
        const target = yield* parseTarget(tracker)
        const id = yield* connectionId(tracker, target)
        return yield* use(target, id).pipe(
          Effect.tapError(() =>
            Ref.update(connections, (map) => {
              const next = new Map(map)
              next.delete(target.key)
              return next
            })
          )
        )
      })

    const announce = (tracker: string, request: AnnounceRequest): Effect.Effect<AnnounceResponse, TrackerError> =>
      withConnection(tracker, (target, id) =>
        exchange(tracker, target, (tid) => encodeAnnounce(id, tid, request), "announce").pipe(
          Effect.map((response): AnnounceResponse => ({
            interval: response.interval,
            minInterval: undefined,
            peers: response.peers,
            complete: response.seeders,
            incomplete: response.leechers,
            warning: undefined,
            trackerId: undefined
          }))
        ))

    const scrape = (
      tracker: string,
      infoHashes: ReadonlyArray<Uint8Array>
    ): Effect.Effect<ReadonlyMap<string, ScrapeEntry>, TrackerError> =>
      withConnection(tracker, (target, id) =>
        Effect.forEach(chunks(infoHashes, MAX_SCRAPE_HASHES), (batch) =>
          exchange(tracker, target, (tid) => encodeScrape(id, tid, batch), "scrape").pipe(
            // Entries answer the hashes in order; a short answer leaves the rest unknown, extras are ignored.
            Effect.map((response) =>
              response.entries.slice(0, batch.length).map((entry, i) =>
                [Buffer.from(batch[i]!).toString("hex"), entry] as const
              )
            )
          ))).pipe(Effect.map((batches) => new Map(batches.flat())))

    return { announce, scrape } as const
  })

const openSocket = (
  datagram: Datagram["Type"],
  family: Family,
  onMessage: (bytes: Uint8Array) => void,
  scope: Scope.Scope
) =>
  Effect.cached(
    datagram.bind({ family }, onMessage).pipe(
      Scope.extend(scope),
      Effect.mapError((cause) =>
        new TrackerError({ reason: "Network", url: `udp (${family})`, detail: cause.detail, cause })
      )
    )
  )

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
