/**
 * The KRPC transport of a DHT node: one UDP socket; queries go out with a 2-byte transaction id each, unique among
 * those waiting, and an answer is matched back by that id and by the address it was sent to; incoming queries are
 * decoded in the socket's handler and handed to a bounded queue for the node to answer. Nothing here knows of the
 * routing table.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { isIP } from "node:net"
import { Datagram, type Endpoint } from "../net/Datagram.js"
import { type AddressFamily, addressKey } from "./DhtNode.js"
import { DhtError } from "./DhtError.js"
import {
  checkResponse,
  decodeKrpc,
  encodeKrpc,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcResponse,
  type Want
} from "./krpc.js"
import { KrpcDecodeError } from "./KrpcError.js"
import type { NodeId } from "./NodeId.js"

/** Our client and version in `v` (BEP 20 style): "BT" and 0.0.1.0, as in our peer id `-BT0010-`. */
const VERSION = Uint8Array.from([0x42, 0x54, 0x00, 0x10])

/** Incoming queries waiting to be answered; past this, more are dropped (and counted). */
const INCOMING_CAPACITY = 512

/** A query's arguments other than our id. */
export type QueryBody =
  | { readonly method: "ping" }
  | { readonly method: "find_node"; readonly target: NodeId; readonly want?: ReadonlyArray<Want> }
  | { readonly method: "get_peers"; readonly infoHash: Uint8Array; readonly want?: ReadonlyArray<Want> }
  | {
    readonly method: "announce_peer"
    readonly infoHash: Uint8Array
    readonly port: number
    readonly token: Uint8Array
  }

/** An answer to one of our queries, and the address it came from (the one we sent to, or for a host name, its IP). */
export interface Reply {
  readonly response: KrpcResponse
  readonly from: Endpoint
}

export type Incoming =
  | { readonly kind: "query"; readonly query: KrpcQuery; readonly from: Endpoint }
  /** A query we could not read, to be answered with error 203 (204 for an unknown method). */
  | { readonly kind: "malformed"; readonly error: KrpcDecodeError; readonly transactionId: Uint8Array; readonly from: Endpoint }

/** Counted by the socket's handler (plain fields: it runs synchronously, outside any fiber). */
export interface Counters {
  queriesReceived: number
  /** Malformed packets, answers nobody waits for (or from the wrong address), and queries over a limit. */
  dropped: number
}

export interface Rpc {
  readonly local: Endpoint
  /** Queries waiting for answers. */
  readonly pending: () => number
  /**
   * Sends a query and waits for its answer: a `Reply`, or a `DhtError` (`Timeout`, `Overloaded` when too many wait
   * already, `Rejected` for a KRPC error, `BadResponse`, `Send`).
   */
  readonly query: (to: Endpoint, body: QueryBody) => Effect.Effect<Reply, DhtError>
  /** Sends an answer; a failure to send is logged, not raised (the querier will retry or time out). */
  readonly send: (message: KrpcMessage, to: Endpoint) => Effect.Effect<void>
  readonly incoming: Queue.Dequeue<Incoming>
}

export interface RpcOptions {
  readonly ownId: NodeId
  /** The socket's family: an IPv4 node, or BEP 32's IPv6 one. */
  readonly family: AddressFamily
  readonly host: string
  readonly port: number
  readonly queryTimeout: Duration.DurationInput
  readonly maxPending: number
  readonly counters: Counters
}

interface Pending {
  /** The address the answer must come from: `host:port`, or `*:port` for a host name we did not resolve. */
  readonly from: string
  readonly method: QueryBody["method"]
  readonly answer: Deferred.Deferred<Reply, DhtError>
}

const transactionNumber = (t: Uint8Array | undefined): number | undefined =>
  t !== undefined && t.length === 2 ? (t[0]! << 8) | t[1]! : undefined

/** A KRPC message is a bencoded dictionary: on a UDP port shared with uTP, that tells them apart (BEP 29). */
export const isKrpcDatagram = (bytes: Uint8Array): boolean => bytes[0] === 0x64 // "d"

const anyHost = (port: number) => `*:${port}`

export const makeRpc = (options: RpcOptions): Effect.Effect<Rpc, DhtError, Datagram | Scope.Scope> =>
  Effect.gen(function*() {
    const { counters, maxPending } = options
    const timeout = Duration.decode(options.queryTimeout)
    const pending = new Map<number, Pending>()
    const incoming = yield* Queue.dropping<Incoming>(INCOMING_CAPACITY)

    const hand = (item: Incoming) => {
      if (!incoming.unsafeOffer(item)) counters.dropped++
    }

    /** The query `t` answers, if it waits for an answer from `from`; taken out of the table. */
    const claim = (t: Uint8Array | undefined, from: Endpoint): Pending | undefined => {
      const number = transactionNumber(t)
      const query = number === undefined ? undefined : pending.get(number)
      if (query === undefined || (query.from !== addressKey(from) && query.from !== anyHost(from.port))) return undefined
      pending.delete(number!)
      return query
    }

    const settle = (query: Pending, exit: Exit.Exit<Reply, DhtError>) => Deferred.unsafeDone(query.answer, exit)
    const badResponse = (detail: string) => Exit.fail(new DhtError({ reason: "BadResponse", detail }))

    const onMessage = (bytes: Uint8Array, from: Endpoint): void => {
      const message = decodeKrpc(bytes)
      if (message instanceof KrpcDecodeError) {
        counters.dropped++
        const { transactionId, messageType } = message
        if (messageType === "query" && transactionId !== undefined) {
          hand({ kind: "malformed", error: message, transactionId, from })
        } else if (messageType !== undefined) {
          const query = claim(transactionId, from)
          if (query !== undefined) settle(query, badResponse(`${addressKey(from)} answered: ${message.detail}`))
        }
        return
      }
      if (message.kind === "query") return hand({ kind: "query", query: message, from })
      const query = claim(message.transactionId, from)
      if (query === undefined) {
        counters.dropped++
        return
      }
      if (message.kind === "error") {
        const detail = `${addressKey(from)} refused ${query.method}: ${message.code} ${message.message.slice(0, 100)}`
        return settle(query, Exit.fail(new DhtError({ reason: "Rejected", detail })))
      }
      const misfit = checkResponse(query.method, message)
      if (misfit !== undefined) {
        counters.dropped++
        return settle(query, badResponse(`${addressKey(from)} answered ${query.method}: ${misfit.detail}`))
      }
      settle(query, Exit.succeed({ response: message, from }))
    }

    const datagram = yield* Datagram
    const socket = yield* datagram.bind(
      { family: options.family, host: options.host, port: options.port, accepts: isKrpcDatagram },
      onMessage
    ).pipe(
      Effect.mapError((cause) =>
        new DhtError({
          reason: "Bind",
          detail: `cannot open UDP port ${options.port} on ${options.host}: ${cause.detail}`,
          cause
        })
      )
    )

    /** A free transaction id: random, then (in a crowded table) the next free one after a random start. */
    const freeTransaction = (): number => {
      for (let tries = 0; tries < 8; tries++) {
        const number = Math.floor(Math.random() * 0x10000)
        if (!pending.has(number)) return number
      }
      const start = Math.floor(Math.random() * 0x10000)
      for (let i = 0; i < 0x10000; i++) {
        const number = (start + i) & 0xffff
        if (!pending.has(number)) return number
      }
      // `maxPending` is at most 65536 and checked before this is called.
      throw new Error("no free transaction id")
    }

    /** Registers the query, all in one synchronous step so that no other fiber sees the table half-updated. */
    const register = (to: Endpoint, body: QueryBody) =>
      Effect.sync(() => {
        if (pending.size >= maxPending) return undefined
        const number = freeTransaction()
        const entry: Pending = {
          from: isIP(to.host) === 0 ? anyHost(to.port) : addressKey(to),
          method: body.method,
          answer: Deferred.unsafeMake<Reply, DhtError>(FiberId.none)
        }
        pending.set(number, entry)
        const transactionId = Uint8Array.from([number >> 8, number & 0xff])
        const message = { ...body, kind: "query", transactionId, id: options.ownId, version: VERSION } as KrpcQuery
        return { number, entry, bytes: encodeKrpc(message) }
      })

    const query = (to: Endpoint, body: QueryBody): Effect.Effect<Reply, DhtError> =>
      Effect.flatMap(register(to, body), (registered) => {
        if (registered === undefined) {
          const detail = `${maxPending} queries wait for answers already; ${body.method} to ${addressKey(to)} not sent`
          return Effect.fail(new DhtError({ reason: "Overloaded", detail }))
        }
        const { number, entry, bytes } = registered
        return socket.send(bytes, to).pipe(
          Effect.mapError((cause) => new DhtError({ reason: "Send", detail: cause.detail, cause })),
          Effect.zipRight(Deferred.await(entry.answer)),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new DhtError({
                reason: "Timeout",
                detail: `no answer to ${body.method} from ${addressKey(to)} in ${Duration.format(timeout)}`
              })
          }),
          Effect.ensuring(Effect.sync(() => {
            if (pending.get(number) === entry) pending.delete(number)
          }))
        )
      })

    const send = (message: KrpcMessage, to: Endpoint): Effect.Effect<void> =>
      Effect.suspend(() => socket.send(encodeKrpc({ ...message, version: VERSION }), to)).pipe(
        Effect.catchAll((error) => Effect.logDebug(`cannot answer ${addressKey(to)}: ${error.detail}`))
      )

    return { local: socket.local, pending: () => pending.size, query, send, incoming } satisfies Rpc
  })
