/**
 * A seeder double: a peer in plain code on the memory transport that serves a torrent's content and can be told
 * to misbehave. It records what our client sends it, so tests can assert on the conversation, not only the outcome.
 */
import { Effect, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import { pieceSize, type TorrentInfo } from "../../src/metainfo/index.js"
import type { Endpoint } from "../../src/net/Datagram.js"
import { type Connection, Transport, type TransportError } from "../../src/peer/transport/Transport.js"
import { Bitfield } from "../../src/piece/index.js"
import {
  decodeExtendedHandshake,
  decodeMetadataMessage,
  encodeAllowedFast,
  encodeBitfield,
  encodeExtended,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMetadataMessage,
  encodeReject,
  HAVE_ALL,
  encodePieceHeader,
  type Handshake,
  KEEP_ALIVE,
  type Message,
  reservedBytes,
  METADATA_PIECE_SIZE,
  UNCHOKE,
  WireDecoder,
  WireError
} from "../../src/wire/index.js"

/** The id the double receives `ut_metadata` under (not the client's, to catch a mix-up). */
const DOUBLE_UT_METADATA = 3

export interface SeederOptions {
  readonly torrent: TorrentInfo
  /** The torrent's whole byte space. */
  readonly content: Uint8Array
  /** The host it listens on. Default: one of its own (bans are by address). */
  readonly host?: string
  /** Pieces it has, advertised in its bitfield and served. Default: every piece. */
  readonly pieces?: ReadonlyArray<number>
  /**
   * Serve bad data: the first byte of a block is flipped for blocks of `pieces` (default every piece), for the
   * first `times` blocks served of each such piece (default every time).
   */
  readonly corrupt?: { readonly pieces?: ReadonlyArray<number>; readonly times?: number }
  /** Answer this many requests in all (over every connection), then none; connections stay open. */
  readonly stallAfter?: number
  /** Send a keep-alive on every connection this often (ms). Default: never. */
  readonly keepAliveMs?: number
  /** A slow uplink: answer one request per `delayMs`, requests waiting in a queue (a cancel takes one out). */
  readonly delayMs?: number
  /** Never unchoke. */
  readonly chokeForever?: boolean
  /** Answer the handshake with this info-hash instead of the torrent's. */
  readonly handshakeInfoHash?: Uint8Array
  /**
   * Raw bytes sent after the bitfield and after every block served: messages with ids the client does not know,
   * say, which it must skip.
   */
  readonly chatter?: Uint8Array
  /**
   * Speak BEP 10 and serve the torrent's metadata (BEP 9): `honest`; `corrupt`, one byte flipped; or claim a
   * `metadata_size` of `statedSize` (serving the real bytes if asked).
   */
  readonly metadata?: "honest" | "corrupt" | { readonly statedSize: number }
  /**
   * Speak the Fast extension (BEP 6): `have all` for a full seed, a reject for every request it will not answer,
   * and these pieces allowed fast (served even while choking).
   */
  readonly fast?: { readonly allowed?: ReadonlyArray<number> }
  /** Speak BEP 10 and say this many requests are queued at most (`reqq`). */
  readonly reqq?: number
}

/** A block-sized event, stamped with the connection (numbered from 1) and the wall-clock time. */
export interface BlockEvent {
  readonly connection: number
  readonly at: number
  readonly index: number
  readonly begin: number
  readonly length: number
}

export interface SeederLog {
  /** Connections accepted. */
  readonly connections: number
  /** Connections currently open. */
  readonly open: number
  /** Handshakes received for the right torrent. */
  readonly handshakes: number
  readonly requests: ReadonlyArray<BlockEvent>
  /** Requests that arrived while the double was choking (a client must not send them). */
  readonly requestsWhileChoking: number
  readonly cancels: ReadonlyArray<BlockEvent>
  /** Blocks sent, and whether their data was corrupted. */
  readonly served: ReadonlyArray<BlockEvent & { readonly corrupted: boolean }>
  readonly haves: ReadonlyArray<{ readonly connection: number; readonly index: number }>
  readonly interest: ReadonlyArray<{ readonly connection: number; readonly at: number; readonly interested: boolean }>
  /** How each connection ended: closed by the client, or by the double itself (bad handshake, protocol error). */
  readonly closes: ReadonlyArray<{ readonly connection: number; readonly at: number; readonly by: "client" | "double" }>
  /** Protocol errors in what the client sent. */
  readonly errors: ReadonlyArray<string>
  /** BEP 9 metadata pieces the client asked for. */
  readonly metadataRequests: ReadonlyArray<number>
  /** BEP 6 rejects the double sent. */
  readonly rejects: ReadonlyArray<BlockEvent>
  /** With `delayMs`: the most requests waiting in its queue at once (how deep the client's pipeline went). */
  readonly maxQueued: number
}

export interface SeederDouble {
  readonly address: Endpoint
  readonly peerId: Uint8Array
  readonly log: SeederLog
}

interface MutableLog {
  connections: number
  open: number
  handshakes: number
  requests: Array<BlockEvent>
  requestsWhileChoking: number
  cancels: Array<BlockEvent>
  served: Array<BlockEvent & { readonly corrupted: boolean }>
  haves: Array<{ readonly connection: number; readonly index: number }>
  interest: Array<{ readonly connection: number; readonly at: number; readonly interested: boolean }>
  closes: Array<{ readonly connection: number; readonly at: number; readonly by: "client" | "double" }>
  errors: Array<string>
  metadataRequests: Array<number>
  rejects: Array<BlockEvent>
  maxQueued: number
}

interface Request {
  readonly index: number
  readonly begin: number
  readonly length: number
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b)

/**
 * Starts a seeder double listening on the memory transport (the `Transport` must be the one the client under test
 * uses). It stops, closing its connections, when the scope closes.
 */
export const startSeeder = (
  options: SeederOptions
): Effect.Effect<SeederDouble, TransportError, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const { content, torrent } = options
    const peerId = Uint8Array.from([...Buffer.from("-DB0001-"), ...randomBytes(12)])
    const have = new Bitfield(torrent.pieceCount)
    for (const index of options.pieces ?? Array.from({ length: torrent.pieceCount }, (_, i) => i)) have.set(index)
    const corruptPieces = options.corrupt === undefined
      ? undefined
      : new Set(options.corrupt.pieces ?? Array.from({ length: torrent.pieceCount }, (_, i) => i))
    const corruptedSoFar = new Map<number, number>()
    let answered = 0

    const log: MutableLog = {
      connections: 0,
      open: 0,
      handshakes: 0,
      requests: [],
      requestsWhileChoking: 0,
      cancels: [],
      served: [],
      haves: [],
      interest: [],
      closes: [],
      errors: [],
      metadataRequests: [],
      maxQueued: 0,
      rejects: []
    }
    const allowedFast = new Set(options.fast?.allowed ?? [])
    const metadata = options.metadata === "corrupt"
      ? Uint8Array.from(torrent.infoBytes, (byte, i) => (i === 20 ? byte ^ 1 : byte))
      : torrent.infoBytes
    const statedSize = typeof options.metadata === "object" ? options.metadata.statedSize : metadata.length
    const live = new Set<() => void>()

    const onConnection = (connection: Connection): void => {
      const number = ++log.connections
      log.open++
      let choking = true
      let closed = false
      let closing = false
      const queue: Array<Request> = []
      const timers: Array<ReturnType<typeof setInterval>> = []
      const decoder = new WireDecoder({ pieceCount: torrent.pieceCount, expectHandshake: true })
      /** The id the client wants `ut_metadata` messages under. */
      let clientMetadataId: number | undefined

      const close = (by: "client" | "double") => {
        if (closed) return
        closed = true
        log.open--
        log.closes.push({ connection: number, at: Date.now(), by })
        for (const timer of timers) clearInterval(timer)
        live.delete(shutdown)
      }
      const shutdown = () => {
        closing = true
        connection.destroy()
      }
      live.add(shutdown)

      const serve = (request: Request) => {
        if (closed) return
        if (options.stallAfter !== undefined && answered >= options.stallAfter) return
        answered++
        const start = request.index * torrent.pieceLength + request.begin
        let block = content.subarray(start, start + request.length)
        let corrupted = false
        if (corruptPieces?.has(request.index) === true) {
          const before = corruptedSoFar.get(request.index) ?? 0
          if (before < (options.corrupt?.times ?? Infinity)) {
            corruptedSoFar.set(request.index, before + 1)
            block = Uint8Array.from(block)
            block[0] = block[0]! ^ 0xff
            corrupted = true
          }
        }
        log.served.push({ connection: number, at: Date.now(), ...request, corrupted })
        connection.write(encodePieceHeader(request.index, request.begin, request.length))
        connection.write(block)
        if (options.chatter !== undefined) connection.write(options.chatter)
      }

      if (options.delayMs !== undefined) {
        timers.push(setInterval(() => {
          const next = queue.shift()
          if (next !== undefined) serve(next)
        }, options.delayMs))
      }
      if (options.keepAliveMs !== undefined) {
        timers.push(setInterval(() => connection.write(KEEP_ALIVE), options.keepAliveMs))
      }

      const fail = (error: string) => {
        log.errors.push(error)
        shutdown()
      }

      const onHandshake = (handshake: Handshake) => {
        if (!sameBytes(handshake.infoHash, torrent.infoHash)) return shutdown()
        log.handshakes++
        connection.write(encodeHandshake({
          reserved: reservedBytes([
            ...(options.metadata === undefined && options.reqq === undefined ? [] : ["extensions" as const]),
            ...(options.fast === undefined ? [] : ["fast" as const])
          ]),
          infoHash: options.handshakeInfoHash ?? torrent.infoHash,
          peerId
        }))
        if (options.fast !== undefined && have.isComplete()) connection.write(HAVE_ALL)
        else if (have.count > 0) connection.write(encodeBitfield(have.toBytes()))
        for (const index of allowedFast) connection.write(encodeAllowedFast(index))
        if (options.metadata !== undefined || options.reqq !== undefined) {
          const m = new Map(options.metadata === undefined ? [] : [["ut_metadata", DOUBLE_UT_METADATA]])
          connection.write(encodeExtended(0, encodeExtendedHandshake({
            m,
            ...(options.metadata === undefined ? {} : { metadataSize: statedSize }),
            ...(options.reqq === undefined ? {} : { reqq: options.reqq })
          })))
        }
        if (options.chatter !== undefined) connection.write(options.chatter)
      }

      const onMessage = (message: Message) => {
        const at = Date.now()
        switch (message.type) {
          case "interested":
            log.interest.push({ connection: number, at, interested: true })
            if (choking && options.chokeForever !== true) {
              choking = false
              connection.write(UNCHOKE)
            }
            return
          case "notInterested":
            log.interest.push({ connection: number, at, interested: false })
            return
          case "have":
            log.haves.push({ connection: number, index: message.index })
            return
          case "request": {
            const { begin, index, length } = message
            log.requests.push({ connection: number, at, index, begin, length })
            if (choking && !allowedFast.has(index)) {
              log.requestsWhileChoking++
              if (options.fast !== undefined) {
                log.rejects.push({ connection: number, at, index, begin, length })
                connection.write(encodeReject(index, begin, length))
              }
              return
            }
            if (!have.has(index) || length === 0 || length > 16384 || begin + length > pieceSize(torrent, index)) {
              return fail(`bad request ${index}/${begin}/${length}`)
            }
            if (options.delayMs !== undefined) {
              queue.push({ index, begin, length })
              log.maxQueued = Math.max(log.maxQueued, queue.length)
            }
            else serve({ index, begin, length })
            return
          }
          case "cancel": {
            const { begin, index, length } = message
            log.cancels.push({ connection: number, at, index, begin, length })
            const queued = queue.findIndex((r) => r.index === index && r.begin === begin && r.length === length)
            if (queued >= 0) queue.splice(queued, 1)
            return
          }
          case "extended":
            return gotExtended(message.id, message.payload)
          default:
            return
        }
      }

      const gotExtended = (id: number, payload: Uint8Array) => {
        if (id === 0) {
          const handshake = decodeExtendedHandshake(payload)
          if (handshake instanceof WireError) return fail(handshake.message)
          clientMetadataId = handshake.m.get("ut_metadata")
          return
        }
        if (id !== DOUBLE_UT_METADATA || options.metadata === undefined) return fail(`extended message ${id}`)
        const message = decodeMetadataMessage(payload)
        if (message instanceof WireError) return fail(message.message)
        if (message.type !== "request") return fail(`unexpected metadata ${message.type}`)
        if (clientMetadataId === undefined) return fail("a metadata request before the extended handshake")
        log.metadataRequests.push(message.piece)
        const data = metadata.subarray(message.piece * METADATA_PIECE_SIZE, (message.piece + 1) * METADATA_PIECE_SIZE)
        connection.write(encodeExtended(
          clientMetadataId,
          encodeMetadataMessage({ type: "data", piece: message.piece, totalSize: statedSize, data })
        ))
      }

      const sink = { onHandshake, onMessage }
      connection.start({
        onData: (chunk) => {
          if (closed) return
          const error = decoder.push(chunk, sink)
          if (error !== undefined) fail(error.message)
        },
        onDrain: () => {},
        onClose: () => close(closing ? "double" : "client")
      })
    }

    // A host of its own: bans are by address, so two doubles on one host would share a liar's ban.
    const host = options.host ?? `seeder-${Buffer.from(peerId.subarray(-4)).toString("hex")}.test`
    const listener = yield* transport.listen({ host, port: 0 }, onConnection)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const shutdown of [...live]) shutdown()
      })
    )
    return { address: listener.local, peerId, log }
  })

/** The distinct pieces a list of block events touches. */
export const piecesOf = (events: ReadonlyArray<{ readonly index: number }>): Set<number> =>
  new Set(events.map((event) => event.index))
