/** Helpers for the DHT node tests: raw KRPC sockets on the in-memory UDP network, and nodes started in a scope. */
import { Effect, Queue } from "effect"
import { createHash } from "node:crypto"
import { decodeKrpc, encodeKrpc, type KrpcMessage, type KrpcQuery, type KrpcResponse } from "../../src/dht/index.js"
import { KrpcDecodeError } from "../../src/dht/KrpcError.js"
import { Datagram, type Endpoint } from "../../src/net/Datagram.js"

export const sha1 = (text: string): Uint8Array => new Uint8Array(createHash("sha1").update(text).digest())

/**
 * Waits a few milliseconds of real time: the memory network delivers on later turns of the event loop, and a test
 * that expects no answer has to give one a chance to come. (Schedules are still driven by the TestClock.)
 */
export const turns = (ms = 15) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/**
 * What `read` gives once it reaches `want`, or what it gives after about two seconds of turns if it never does:
 * datagrams here are delivered on the event loop, which a loaded machine turns slowly, so a test waits for the
 * state it expects (bounded) instead of for a fixed time.
 */
export const settled = <A>(read: Effect.Effect<A>, want: A): Effect.Effect<A> =>
  Effect.gen(function*() {
    let value = yield* read
    for (let turn = 0; turn < 200 && value !== want; turn++) {
      yield* turns(10)
      value = yield* read
    }
    return value
  })

export interface Received {
  readonly message: KrpcMessage | KrpcDecodeError
  readonly from: Endpoint
}

let transactions = 0

/** A transaction id of our own, two bytes. */
export const tid = (): Uint8Array => Uint8Array.from([(transactions >> 8) & 255, transactions++ & 255])

/** A query's method and arguments (each method's own: the Omit distributes over the union). */
type QueryArgs = KrpcQuery extends infer Q ? Q extends KrpcQuery ? Omit<Q, "kind" | "transactionId" | "id"> : never : never

/**
 * A bare UDP socket on the memory network speaking KRPC by hand: for queries a node must answer, and for answers a
 * node must not believe. Its id is fixed; its queries are read-only (BEP 43) unless asked otherwise, so that the
 * node under test does not ping it back.
 */
export const rawSocket = Effect.gen(function*() {
  const datagram = yield* Datagram
  const inbox = yield* Queue.unbounded<Received>()
  const socket = yield* datagram.bind({ family: "ipv4" }, (bytes, from) => {
    inbox.unsafeOffer({ message: decodeKrpc(bytes), from })
  })
  const id = sha1(`raw ${socket.local.host}:${socket.local.port}`)
  const sendBytes = (bytes: Uint8Array, to: Endpoint) => socket.send(bytes, to).pipe(Effect.orDie)
  const send = (message: KrpcMessage, to: Endpoint) => sendBytes(encodeKrpc(message), to)
  /** Sends a query and returns its transaction id. */
  const query = (to: Endpoint, args: QueryArgs, options: { readonly readOnly?: boolean } = {}) =>
    Effect.gen(function*() {
      const transactionId = tid()
      const message = { kind: "query", transactionId, id, readOnly: options.readOnly ?? true, ...args } as KrpcQuery
      yield* send(message, to)
      return transactionId
    })
  /** The next message received (waits for it). */
  const next = Queue.take(inbox)
  /** The answer to transaction `t` (waits for it; other messages are thrown away). */
  const answerTo = (t: Uint8Array): Effect.Effect<KrpcMessage> =>
    Effect.gen(function*() {
      for (;;) {
        const { message } = yield* next
        if (message instanceof KrpcDecodeError) continue
        if (message.kind !== "query" && Buffer.from(message.transactionId).equals(t)) return message
      }
    })
  /** Sends a query and waits for its answer. */
  const ask = (to: Endpoint, args: QueryArgs, options: { readonly readOnly?: boolean } = {}) =>
    Effect.flatMap(query(to, args, options), answerTo)
  /** Everything received until the network has been quiet for a few turns (for "nothing more came"). */
  const drain = Effect.gen(function*() {
    let size = yield* Queue.size(inbox)
    for (let quiet = 0, i = 0; quiet < 3 && i < 100; i++) {
      yield* turns(10)
      const now = yield* Queue.size(inbox)
      quiet = now === size ? quiet + 1 : 0
      size = now
    }
    return [...(yield* Queue.takeAll(inbox))]
  })
  /** The next `n` messages (waits for them). */
  const take = (n: number) => Queue.takeBetween(inbox, n, n).pipe(Effect.map((chunk) => [...chunk]))
  return { local: socket.local, id, send, sendBytes, query, next, answerTo, ask, drain, take }
})

export const asResponse = (message: KrpcMessage): KrpcResponse => {
  if (message.kind !== "response") throw new Error(`expected a response, got ${JSON.stringify(message)}`)
  return message
}
