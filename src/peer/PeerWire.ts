/**
 * The PeerWire service: one peer connection for programs that talk to peers without a torrent session (a metadata
 * fetcher, a crawler, a test double). Dial a peer or take an accepted connection, run the BitTorrent handshake
 * (plaintext or MSE) and the BEP 10 extended handshake, and get back a scoped connection with a typed `send` and a
 * `Stream` of decoded messages.
 *
 * It shares the session's pieces rather than repeating them: the dial with MSE and its plaintext fallback
 * (`dialPeer`), the accepting side's handshake reader (`acceptHandshake`, `readHandshake`), the keep-alive check
 * (`keepAlive`) and the wire codec. The session keeps its own plain hot path; this one crosses into Effect once per
 * message, which is fine for control traffic and a few blocks, not for 500 MB/s.
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Endpoint } from "../net/Datagram.js"
import {
  copyBytes,
  decodeExtendedHandshake,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  type ExtendedHandshake,
  type Handshake,
  type Message,
  OUR_EXTENSIONS,
  OUR_RESERVED,
  supports,
  WireDecoder,
  WireError
} from "../wire/index.js"
import { acceptHandshake, dialPeer, type EncryptionPolicy } from "./encryption.js"
import { readHandshake } from "./handshakeReader.js"
import { closedBy, keepAlive, keyOf, Written } from "./link.js"
import { obfuscatedInfoHash } from "./mse/index.js"
import { PeerError } from "./PeerError.js"
import { makePeerId } from "./peerId.js"
import { type Connection, Transport } from "./transport/Transport.js"

export { PeerError, type PeerErrorReason } from "./PeerError.js"

/** Timeouts and keep-alives of every connection the service opens; `defaultConfig` holds what the session uses. */
export interface PeerWireConfig {
  readonly connectTimeout: Duration.DurationInput
  /** The BitTorrent handshake, and the extended one after it, must be over within this (each). */
  readonly handshakeTimeout: Duration.DurationInput
  /** A keep-alive goes out when nothing was sent for this long. */
  readonly keepAliveAfter: Duration.DurationInput
  /** When to look whether a keep-alive is due, and whether the peer has gone quiet past `idleTimeout`. */
  readonly keepAlive: Schedule.Schedule<unknown>
  /** A peer that sends nothing (not even a keep-alive) for this long: the connection fails with `Timeout`. */
  readonly idleTimeout: Duration.DurationInput
  /** Messages received and not yet taken from `messages` past which we stop reading from the socket. */
  readonly highWater: number
}

export const defaultConfig: PeerWireConfig = {
  connectTimeout: Duration.seconds(10),
  handshakeTimeout: Duration.seconds(10),
  keepAliveAfter: Duration.seconds(60),
  keepAlive: Schedule.spaced(Duration.seconds(5)),
  idleTimeout: Duration.seconds(180),
  highWater: 256
}

/** What we say in a handshake. */
export interface HandshakeOptions {
  readonly infoHash: Uint8Array
  /** 20 bytes; a fresh `-BT…` id by default. */
  readonly peerId?: Uint8Array
  /** The 8 reserved bytes (capabilities); BEP 10 and BEP 6 by default. */
  readonly reserved?: Uint8Array
  /** Our extended handshake, sent when both sides set the BEP 10 bit; ut_metadata and ut_pex by default. */
  readonly extended?: ExtendedHandshake
  /** MSE/PE: `disable` (plaintext, the default), `prefer` (falls back to plaintext) or `require`. */
  readonly encryption?: EncryptionPolicy
  /** Pieces in the torrent, if known: bounds indexes and the bitfield's size. */
  readonly pieceCount?: number
}

/** One peer, handshaken. Closes with the scope it was opened in. */
export interface PeerConnection {
  readonly remote: Endpoint
  readonly transport: "tcp" | "utp" | undefined
  readonly encrypted: boolean
  /** The peer's BitTorrent handshake. */
  readonly handshake: Handshake
  /** The peer's extended handshake (BEP 10), when both sides speak it. */
  readonly extended: ExtendedHandshake | undefined
  /**
   * Sends a message. Waits while the transport's send buffer is past its high-water mark (back-pressure); fails
   * once the connection is over.
   */
  readonly send: (message: Message) => Effect.Effect<void, PeerError>
  /** Sends a BEP 10 extension message by name, under the id the peer asked for; fails if it does not speak it. */
  readonly sendExtended: (name: string, payload: Uint8Array) => Effect.Effect<void, PeerError>
  /**
   * The peer's messages after its BitTorrent handshake, decoded: keep-alives and the extended handshake included,
   * `piece` blocks copied. Read it once.
   * Reading slows the peer: past `highWater` messages not taken, the socket is paused. Ends when the peer closes,
   * fails with why when the connection breaks (a protocol error, a timeout).
   */
  readonly messages: Stream.Stream<Message, PeerError>
  /** Closes the connection now (it also closes with its scope). */
  readonly close: Effect.Effect<void>
}

export class PeerWire extends Context.Tag("bt/PeerWire")<PeerWire, {
  /** Dials `to` (TCP or uTP, as the Transport does) and runs both handshakes. */
  readonly connect: (
    to: Endpoint,
    options: HandshakeOptions
  ) => Effect.Effect<PeerConnection, PeerError, Scope.Scope>
  /**
   * Takes a connection a `Transport` listener accepted, reads the peer's handshake (plaintext, or MSE as the
   * policy allows), answers for the info-hash it names if that is one of `infoHashes`, and runs the extended one.
   */
  readonly accept: (
    connection: Connection,
    options: Omit<HandshakeOptions, "infoHash"> & { readonly infoHashes: ReadonlyArray<Uint8Array> }
  ) => Effect.Effect<PeerConnection, PeerError, Scope.Scope>
}>() {}

const defaultExtended: ExtendedHandshake = { m: new Map(Object.entries(OUR_EXTENSIONS)), v: "bt" }

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b)

/**
 * Runs the wire on a connection whose peer handshake is read (`rest`: the bytes after it): sends ours if we have
 * not, starts decoding into a mailbox, waits for the peer's extended handshake, forks the keep-alive check.
 */
const open = (
  config: PeerWireConfig,
  connection: Connection,
  peer: Handshake,
  rest: Uint8Array,
  ours: Handshake,
  options: Omit<HandshakeOptions, "infoHash">
): Effect.Effect<PeerConnection, PeerError, Scope.Scope> =>
  Effect.gen(function*() {
    const key = keyOf(connection.remote)
    const mailbox = yield* Mailbox.make<Message, PeerError>()
    const extendedHandshake = yield* Deferred.make<ExtendedHandshake>()
    const written = new Written()
    const clock = yield* Effect.clock
    let lastReceived = clock.unsafeCurrentTimeMillis()
    let drained: Deferred.Deferred<void> | undefined
    let paused = false
    let over = false

    const end = (error: PeerError | undefined) => {
      if (over) return
      over = true
      connection.destroy()
      if (drained !== undefined) Deferred.unsafeDone(drained, Exit.void)
      mailbox.unsafeDone(error === undefined ? Exit.void : Exit.fail(error))
    }
    const protocol = (detail: string) => new PeerError({ reason: "Protocol", peer: key, detail })

    const decoder = new WireDecoder({ pieceCount: options.pieceCount, expectHandshake: false })
    const sink = {
      onHandshake: () => {},
      onMessage: (message: Message) => {
        lastReceived = clock.unsafeCurrentTimeMillis()
        if (message.type === "extended" && message.id === 0) {
          const decoded = decodeExtendedHandshake(message.payload)
          if (!(decoded instanceof WireError)) Deferred.unsafeDone(extendedHandshake, Exit.succeed(decoded))
          else return end(protocol(decoded.message))
        }
        // A block is a view into bytes the decoder reuses: the reader takes it later.
        mailbox.unsafeOffer(message.type === "piece" ? { ...message, block: copyBytes(message.block) } : message)
        if (!paused && (Option.getOrElse(mailbox.unsafeSize(), () => 0)) >= config.highWater) {
          paused = true
          connection.pause()
        }
      }
    }
    const onData = (chunk: Uint8Array) => {
      if (over) return
      const error = decoder.push(chunk, sink)
      if (error !== undefined) end(protocol(error.message))
    }

    const write = (bytes: Uint8Array): Effect.Effect<void, PeerError> =>
      Effect.suspend(() => {
        if (over) return Effect.fail(new PeerError({ reason: "Connection", peer: key, detail: "the connection is closed" }))
        written.mark()
        if (connection.write(bytes)) return Effect.void
        drained ??= Deferred.unsafeMake<void>(FiberId.none)
        return Deferred.await(drained)
      })

    const bothExtend = supports(peer.reserved, "extensions") && supports(ours.reserved, "extensions")
    const extended = options.extended ?? defaultExtended
    connection.start({
      onData,
      onDrain: () => {
        const waiting = drained
        drained = undefined
        if (waiting !== undefined) Deferred.unsafeDone(waiting, Exit.void)
      },
      onClose: (error) => end(error === undefined ? undefined : closedBy(key, error))
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => end(undefined)))
    if (rest.length > 0) onData(rest)
    if (bothExtend) yield* write(encodeMessage({ type: "extended", id: 0, payload: encodeExtendedHandshake(extended) }))

    const peerExtended = bothExtend
      ? yield* Effect.raceFirst(
        Deferred.await(extendedHandshake),
        mailbox.await.pipe(Effect.zipRight(Effect.fail(closedBy(key, undefined))))
      ).pipe(
        Effect.timeoutFail({
          duration: config.handshakeTimeout,
          onTimeout: () => new PeerError({ reason: "Handshake", peer: key, detail: "no extended handshake in time" })
        }),
        Effect.tapError((error) => Effect.sync(() => end(error)))
      )
      : undefined

    const idleMs = Duration.toMillis(config.idleTimeout)
    yield* keepAlive(config, {
      sendKeepAlive: () => {
        if (!over) connection.write(encodeMessage({ type: "keepAlive" }))
      },
      takeSent: () => {
        if (clock.unsafeCurrentTimeMillis() - lastReceived >= idleMs) {
          end(new PeerError({ reason: "Timeout", peer: key, detail: "silent past the idle timeout" }))
        }
        return written.take()
      }
    })

    const send = (message: Message) => write(encodeMessage(message))
    return {
      remote: connection.remote,
      transport: connection.transport,
      encrypted: connection.encrypted === true,
      handshake: peer,
      extended: peerExtended,
      send,
      sendExtended: (name, payload) => {
        const id = peerExtended?.m.get(name)
        return id === undefined || id === 0
          ? Effect.fail(new PeerError({ reason: "Protocol", peer: key, detail: `the peer does not speak ${name}` }))
          : send({ type: "extended", id, payload })
      },
      messages: Mailbox.toStream(mailbox).pipe(Stream.mapChunks((chunk) => {
        // Taking empties the mailbox: read on.
        if (paused && !over) {
          paused = false
          connection.resume()
        }
        return chunk
      })),
      close: Effect.sync(() => end(undefined))
    } satisfies PeerConnection
  })

/** Reads the peer's handshake on a connection we dialled (ours is already sent), checking it names our torrent. */
const readPeerHandshake = (
  config: PeerWireConfig,
  connection: Connection,
  infoHash: Uint8Array
): Effect.Effect<{ readonly handshake: Handshake; readonly rest: Uint8Array }, PeerError> => {
  const key = keyOf(connection.remote)
  return Effect.async<{ readonly handshake: Handshake; readonly rest: Uint8Array }, PeerError>((resume) => {
    readHandshake(connection, (handshake, rest) =>
      resume(
        same(handshake.infoHash, infoHash)
          ? Effect.succeed({ handshake, rest })
          : Effect.fail(new PeerError({ reason: "Handshake", peer: key, detail: "its handshake names another torrent" }))
      ), (detail) => resume(Effect.fail(new PeerError({ reason: "Handshake", peer: key, detail }))))
  }).pipe(
    Effect.timeoutFail({
      duration: config.handshakeTimeout,
      onTimeout: () => new PeerError({ reason: "Handshake", peer: key, detail: "no handshake in time" })
    })
  )
}

const ourHandshake = (infoHash: Uint8Array, options: Omit<HandshakeOptions, "infoHash">): Handshake => ({
  reserved: options.reserved ?? OUR_RESERVED,
  infoHash,
  peerId: options.peerId ?? makePeerId()
})

export const make = (config: PeerWireConfig = defaultConfig): Effect.Effect<PeerWire["Type"], never, Transport> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const plaintextPeers = new Set<string>()

    const connect = (to: Endpoint, options: HandshakeOptions) => {
      const ours = ourHandshake(options.infoHash, options)
      const dialConfig = { ...config, encryption: options.encryption ?? "disable" }
      return dialPeer(transport, dialConfig, to, options.infoHash, plaintextPeers, (connection) =>
        Effect.gen(function*() {
          connection.write(encodeHandshake(ours))
          const { handshake, rest } = yield* readPeerHandshake(config, connection, options.infoHash)
          return yield* open(config, connection, handshake, rest, ours, options)
        }).pipe(Effect.tapError(() => Effect.sync(() => connection.destroy()))))
    }

    const accept: PeerWire["Type"]["accept"] = (connection, options) => {
      const key = keyOf(connection.remote)
      return Effect.async<{ connection: Connection; handshake: Handshake; rest: Uint8Array }, PeerError>((resume) =>
        acceptHandshake(connection, {
          policy: options.encryption ?? "disable",
          findTorrent: (obfuscated) => options.infoHashes.find((hash) => same(obfuscatedInfoHash(hash), obfuscated))
        }, (accepted) => {
          if (options.infoHashes.some((hash) => same(hash, accepted.handshake.infoHash))) resume(Effect.succeed(accepted))
          else resume(Effect.fail(new PeerError({ reason: "Handshake", peer: key, detail: "an unknown torrent" })))
        }, (detail) => resume(Effect.fail(new PeerError({ reason: "Handshake", peer: key, detail }))))
      ).pipe(
        Effect.timeoutFail({
          duration: config.handshakeTimeout,
          onTimeout: () => new PeerError({ reason: "Handshake", peer: key, detail: "no handshake in time" })
        }),
        Effect.tapError(() => Effect.sync(() => connection.destroy())),
        Effect.flatMap((accepted) => {
          const ours = ourHandshake(accepted.handshake.infoHash, options)
          accepted.connection.write(encodeHandshake(ours))
          return open(config, accepted.connection, accepted.handshake, accepted.rest, ours, options)
        })
      )
    }

    return { connect, accept }
  })

/** The service over the `Transport` given at the edge (TCP, uTP, both, or a memory network). */
export const layer: Layer.Layer<PeerWire, never, Transport> = Layer.effect(PeerWire, make())

/** The same with other timeouts or keep-alives. */
export const layerConfig = (config: Partial<PeerWireConfig>): Layer.Layer<PeerWire, never, Transport> =>
  Layer.effect(PeerWire, make({ ...defaultConfig, ...config }))
