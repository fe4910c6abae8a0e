import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Endpoint } from "../net/Datagram.js"
import { formatEndpoint } from "../net/endpoint.js"
import type { Handshake } from "../wire/index.js"
import { readHandshake } from "./handshakeReader.js"
import { dial, keyOf } from "./link.js"
import {
  looksLikePlaintextHandshake,
  MseInitiator,
  MseResponder,
  selectMethod,
  type SelectMethod
} from "./mse/index.js"
import { continuedConnection } from "./mse/stream.js"
import { PeerError } from "./PeerError.js"
import type { Connection, Transport } from "./transport/Transport.js"

/**
 * Message Stream Encryption with peers:
 * - `prefer` dials with the encrypted handshake (offering RC4 and plaintext for what follows) and falls back to a
 *   plaintext handshake once for a peer that does not speak it; it accepts both. As libtorrent does by default,
 *   the payload is RC4 only when the peer asks for it: the handshake hides what the connection is, and RC4 costs
 *   half the throughput here.
 * - `require` speaks the encrypted handshake with an RC4 payload only, both ways.
 * - `disable` speaks plaintext only.
 */
export type EncryptionPolicy = "prefer" | "require" | "disable"

/** What we pick among the methods an incoming peer provides. */
const selectFor: Record<Exclude<EncryptionPolicy, "disable">, SelectMethod> = {
  prefer: selectMethod({ plaintext: true, rc4: true }, "plaintext"),
  require: selectMethod({ plaintext: false, rc4: true }, "rc4")
}

/**
 * The MSE handshake as the side that dialled: resolves with the connection to speak the peer wire on (RC4 or
 * plaintext after the exchange, as the peer selected). A peer that closes on our first bytes fails with reason
 * `Encryption`: it may speak plaintext only.
 */
export const initiateEncryption = (
  connection: Connection,
  infoHash: Uint8Array,
  policy: Exclude<EncryptionPolicy, "disable">
): Effect.Effect<Connection, PeerError> =>
  Effect.async<Connection, PeerError>((resume) => {
    const peer = formatEndpoint(connection.remote)
    const initiator = new MseInitiator({ infoHash, provide: { plaintext: policy === "prefer", rc4: true } })
    let settled = false
    const settle = (result: Effect.Effect<Connection, PeerError>) => {
      if (settled) return
      settled = true
      resume(result)
    }
    connection.start({
      onData: (chunk) => {
        if (settled) return
        const step = initiator.receive(chunk)
        if (step.send !== undefined) connection.write(step.send)
        if (step.error !== undefined) {
          settle(Effect.fail(new PeerError({ reason: "Protocol", peer, detail: `encryption handshake: ${step.error}` })))
        } else if (step.done !== undefined) {
          // Hold what follows until the peer-wire link takes the connection over.
          connection.pause()
          settle(Effect.succeed(continuedConnection(connection, step.done.rest, step.done)))
        }
      },
      onDrain: () => {},
      onClose: () =>
        settle(Effect.fail(
          new PeerError({
            reason: "Encryption",
            peer,
            detail: `closed during the encryption handshake (at ${initiator.stage})`
          })
        ))
    })
    connection.write(initiator.start())
  })

/**
 * Dials a peer and runs `run` on the connection, encrypted as the policy says. With `prefer`, a peer that closes
 * on our encryption handshake is dialled again at once in plaintext; if it answers that, it is remembered in
 * `plaintextPeers` and later attempts skip the encrypted handshake. A remembered peer that closes a plaintext
 * attempt before answering is forgotten: the next attempt is encrypted again. A peer may drop one connection for
 * reasons of its own (Transmission does, now and then, just after it starts), and one such close must not settle
 * how we speak to it for good: a peer that requires encryption would then be dialled in plaintext, and refuse,
 * at every attempt after.
 */
export const dialPeer = <A>(
  transport: Transport["Type"],
  config: {
    readonly encryption: EncryptionPolicy
    readonly connectTimeout: Duration.DurationInput
    readonly handshakeTimeout: Duration.DurationInput
  },
  address: Endpoint,
  infoHash: Uint8Array,
  plaintextPeers: Set<string>,
  run: (connection: Connection) => Effect.Effect<A, PeerError, Scope.Scope>
): Effect.Effect<A, PeerError, Scope.Scope> => {
  const policy = config.encryption
  const key = keyOf(address)
  if (policy === "disable") return dial(transport, config, address, run)
  const plaintext = Effect.suspend(() => {
    let answered = false
    return dial(transport, config, address, (connection) =>
      run(onFirstByte(connection, () => {
        answered = true
        plaintextPeers.add(key)
      }))).pipe(
        Effect.tapError(() => Effect.sync(() => answered || plaintextPeers.delete(key)))
      )
  })
  if (plaintextPeers.has(key)) return plaintext
  const encrypted = dial(transport, config, address, (connection) =>
    initiateEncryption(connection, infoHash, policy).pipe(
      Effect.timeoutFail({
        duration: config.handshakeTimeout,
        onTimeout: () => new PeerError({ reason: "Handshake", peer: key, detail: "no encryption handshake in time" })
      }),
      Effect.flatMap(run)
    ))
  return policy === "require"
    ? encrypted
    : encrypted.pipe(Effect.catchIf((error) => error.reason === "Encryption", () => plaintext))
}

/** `connection`, calling `first` when the peer's first byte arrives (once; one flag per chunk after that). */
const onFirstByte = (connection: Connection, first: () => void): Connection => {
  let seen = false
  return {
    remote: connection.remote,
    get transport() {
      return connection.transport
    },
    get encrypted() {
      return connection.encrypted === true
    },
    ...(connection.counters === undefined ? {} : { counters: connection.counters }),
    write: connection.write,
    start: (handlers) =>
      connection.start({
        ...handlers,
        onData: (chunk) => {
          if (!seen) {
            seen = true
            first()
          }
          handlers.onData(chunk)
        }
      }),
    cork: connection.cork,
    uncork: connection.uncork,
    pause: connection.pause,
    resume: connection.resume,
    destroy: connection.destroy
  }
}

/** An accepted connection, its handshake read: the connection to go on with (decrypting if it is MSE). */
export interface Accepted {
  readonly connection: Connection
  readonly handshake: Handshake
  /** Bytes that followed the handshake, decrypted. */
  readonly rest: Uint8Array
}

/**
 * Reads what opens an accepted connection: a plaintext BitTorrent handshake, or an MSE handshake (told apart by
 * the first bytes), which is answered, the torrent found by its obfuscated info-hash, and the BitTorrent handshake
 * then read from the decrypted stream. Plain code on the connection's handlers; the caller bounds it in time.
 */
export const acceptHandshake = (
  connection: Connection,
  options: {
    readonly policy: EncryptionPolicy
    /** The info-hash of a torrent we run whose obfuscated hash (MSE's `HASH('req2', SKEY)`) this is. */
    readonly findTorrent: (obfuscated: Uint8Array) => Uint8Array | undefined
  },
  onAccepted: (accepted: Accepted) => void,
  onFailure: (detail: string) => void
): void => {
  const handshakeOn = (stream: Connection, expectedInfoHash?: Uint8Array) =>
    readHandshake(stream, (handshake, rest) => {
      if (expectedInfoHash !== undefined && !Buffer.from(handshake.infoHash).equals(expectedInfoHash)) {
        return onFailure("its handshake names another torrent than its encryption did")
      }
      onAccepted({ connection: stream, handshake, rest })
    }, onFailure)

  let head = new Uint8Array(0)
  let responder: MseResponder | undefined
  let failed = false
  const fail = (detail: string) => {
    if (failed) return
    failed = true
    onFailure(detail)
  }
  connection.start({
    onData: (chunk) => {
      if (failed) return
      if (responder === undefined) {
        head = Buffer.concat([head, chunk])
        const plaintext = looksLikePlaintextHandshake(head)
        if (plaintext === undefined) return
        if (plaintext) {
          if (options.policy === "require") return fail("plaintext, and we require encryption")
          connection.pause()
          return handshakeOn(continuedConnection(connection, head))
        }
        if (options.policy === "disable") return fail("encrypted, and we have encryption disabled")
        responder = new MseResponder({ findTorrent: options.findTorrent, select: selectFor[options.policy] })
        chunk = head
      }
      const step = responder.receive(chunk)
      if (step.send !== undefined) connection.write(step.send)
      if (step.error !== undefined) return fail(`encryption handshake: ${step.error}`)
      if (step.done !== undefined) {
        connection.pause()
        handshakeOn(continuedConnection(connection, step.done.rest, step.done), step.done.infoHash)
      }
    },
    onDrain: () => {},
    onClose: () => fail("closed before its handshake")
  })
}
