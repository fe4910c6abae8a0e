/**
 * A leecher double: a peer in plain code on the memory transport that dials a bt session, as a downloader would,
 * and records what the session does to it: choke and unchoke (with the Effect clock's time, so `TestClock` times),
 * every block received, whether the session dropped the connection. The test drives it step by step: declare
 * interest, send requests or cancels (or raw bytes), and, when it holds pieces, let the session download from it
 * at a pace the test sets (`serve(n)` answers up to n of the session's queued requests).
 */
import { Effect, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import { pieceSize, type TorrentInfo } from "../../src/metainfo/index.js"
import type { Endpoint } from "../../src/net/Datagram.js"
import { type Connection, Transport, type TransportError } from "../../src/peer/transport/Transport.js"
import { Bitfield } from "../../src/piece/index.js"
import {
  CHOKE,
  encodeBitfield,
  encodeCancel,
  encodeHandshake,
  encodePieceHeader,
  encodeRequest,
  type Handshake,
  INTERESTED,
  type Message,
  NOT_INTERESTED,
  reservedBytes,
  UNCHOKE,
  WireDecoder
} from "../../src/wire/index.js"

export interface LeecherOptions {
  readonly torrent: TorrentInfo
  /** The torrent's whole byte space: received blocks are checked against it, served blocks cut from it. */
  readonly content: Uint8Array
  /** Where the session listens. */
  readonly address: Endpoint
  /** A label for assertion messages. */
  readonly name: string
  /** Pieces it has: advertised in a bitfield right after the handshake, and served. Default none (no bitfield). */
  readonly pieces?: ReadonlyArray<number>
  /** Speak the Fast extension (BEP 6): a choke then discards nothing; each request the session drops is rejected. */
  readonly fast?: boolean
  /** Send the bitfield in the handshake's write (one chunk), rather than in a write of its own. */
  readonly bitfieldWithHandshake?: boolean
}

export interface Block {
  readonly index: number
  readonly begin: number
  readonly length: number
}

export interface ReceivedBlock extends Block {
  /** Clock time (ms) of arrival. */
  readonly at: number
  /** The bytes match the content. */
  readonly intact: boolean
  /** It answered a request of ours that the session had not discarded (by choking us) or we had not cancelled. */
  readonly expected: boolean
  /** It arrived while the session had us choked: the session must never send one. */
  readonly whileChoked: boolean
}

const keyOf = (block: Block) => `${block.index}/${block.begin}/${block.length}`
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b)

export class LeecherDouble {
  readonly peerId = Uint8Array.from([...Buffer.from("-LD0001-"), ...randomBytes(12)])
  /** The session's handshake arrived, for the right torrent. */
  handshaken = false
  /** The connection ended (by either side). */
  closed = false
  /** The session chokes us: true until it unchokes us. */
  choked = true
  /** Choke and unchoke messages from the session, in order. */
  readonly chokes: Array<{ readonly at: number; readonly choked: boolean }> = []
  readonly blocks: Array<ReceivedBlock> = []
  /** Pieces the session has, from its bitfield and haves. */
  readonly sessionPieces: Bitfield
  /** The session is interested in us. */
  sessionInterested = false
  /** We choke the session (until `unchoke`). */
  choking = true
  /** Blocks served to the session. */
  served = 0
  /** Protocol errors in what the session sent. */
  readonly errors: Array<string> = []
  /** BEP 6 rejects from the session. */
  readonly rejects: Array<Block> = []

  /** Our requests not answered yet, by key, with how many are pending of each. */
  private readonly pending = new Map<string, number>()
  /** The session's requests waiting for `serve`. */
  private readonly queue: Array<Block> = []
  private readonly have: Bitfield
  private readonly decoder: WireDecoder

  constructor(
    private readonly connection: Connection,
    private readonly options: LeecherOptions,
    private readonly now: () => number
  ) {
    const { torrent } = options
    this.sessionPieces = new Bitfield(torrent.pieceCount)
    this.have = new Bitfield(torrent.pieceCount)
    for (const index of options.pieces ?? []) this.have.set(index)
    this.decoder = new WireDecoder({ pieceCount: torrent.pieceCount, expectHandshake: true })
    const sink = {
      onHandshake: (handshake: Handshake) => this.gotHandshake(handshake),
      onMessage: (message: Message) => this.gotMessage(message)
    }
    connection.start({
      onData: (chunk) => {
        if (this.closed) return
        const error = this.decoder.push(chunk, sink)
        if (error !== undefined) {
          this.errors.push(error.message)
          this.close()
        }
      },
      onDrain: () => {},
      onClose: () => {
        this.closed = true
      }
    })
    // Each message its own write by default, as a peer may send them: the session must not lose what follows its
    // handshake.
    const handshake = encodeHandshake({
      reserved: reservedBytes(options.fast === true ? ["fast"] : []),
      infoHash: torrent.infoHash,
      peerId: this.peerId
    })
    const bitfield = this.have.count > 0 ? encodeBitfield(this.have.toBytes()) : new Uint8Array(0)
    if (options.bitfieldWithHandshake === true) {
      this.write(Buffer.concat([handshake, bitfield]))
    } else {
      this.write(handshake)
      if (bitfield.length > 0) this.write(bitfield)
    }
  }

  get name(): string {
    return this.options.name
  }

  /** Requests sent that no block answered yet (and that a choke did not discard). */
  get outstanding(): number {
    let total = 0
    for (const count of this.pending.values()) total += count
    return total
  }

  /** The session's requests waiting to be served. */
  get queued(): number {
    return this.queue.length
  }

  /** Blocks that arrived unasked, or while choked: a session that honours choking sends none. */
  get unexpectedBlocks(): number {
    return this.blocks.filter((block) => !block.expected || block.whileChoked).length
  }

  interested(): void {
    this.write(INTERESTED)
  }

  notInterested(): void {
    this.write(NOT_INTERESTED)
  }

  /**
   * Sends the requests in one write. While choked they are sent all the same (a misbehaving or slow peer does) but
   * not expected to be answered.
   */
  request(blocks: ReadonlyArray<Block>): void {
    if (blocks.length === 0) return
    const out = Buffer.allocUnsafe(17 * blocks.length)
    blocks.forEach((block, i) => {
      out.set(encodeRequest(block.index, block.begin, block.length), i * 17)
      if (!this.choked || this.options.fast === true) {
        this.pending.set(keyOf(block), (this.pending.get(keyOf(block)) ?? 0) + 1)
      }
    })
    this.write(out)
  }

  /** Cancels requests (in one write); a block cancelled is no longer expected. */
  cancel(blocks: ReadonlyArray<Block>): void {
    const out = Buffer.allocUnsafe(17 * blocks.length)
    blocks.forEach((block, i) => {
      out.set(encodeCancel(block.index, block.begin, block.length), i * 17)
      const count = this.pending.get(keyOf(block)) ?? 0
      if (count <= 1) this.pending.delete(keyOf(block))
      else this.pending.set(keyOf(block), count - 1)
    })
    this.write(out)
  }

  /** Raw bytes, for messages in one chunk. */
  write(bytes: Uint8Array): void {
    if (!this.closed) this.connection.write(bytes)
  }

  /** Lets the session download from us. */
  unchoke(): void {
    if (!this.choking) return
    this.choking = false
    this.write(UNCHOKE)
  }

  /** Stops the session downloading from us; its queued requests are dropped (BEP 3). */
  choke(): void {
    if (this.choking) return
    this.choking = true
    this.queue.length = 0
    this.write(CHOKE)
  }

  /** Answers up to `max` of the session's queued requests, oldest first. Returns how many it answered. */
  serve(max: number): number {
    let answered = 0
    while (answered < max && this.queue.length > 0 && !this.choking && !this.closed) {
      const block = this.queue.shift()!
      const start = block.index * this.options.torrent.pieceLength + block.begin
      this.write(encodePieceHeader(block.index, block.begin, block.length))
      this.write(this.options.content.subarray(start, start + block.length))
      answered++
    }
    this.served += answered
    return answered
  }

  close(): void {
    this.connection.destroy()
  }

  private gotHandshake(handshake: Handshake): void {
    if (!sameBytes(handshake.infoHash, this.options.torrent.infoHash)) {
      this.errors.push("handshake for another torrent")
      return this.close()
    }
    this.handshaken = true
  }

  private gotMessage(message: Message): void {
    switch (message.type) {
      case "choke":
        this.choked = true
        this.chokes.push({ at: this.now(), choked: true })
        // BEP 3: a choke discards every request pending. With BEP 6 each is rejected instead.
        if (this.options.fast !== true) this.pending.clear()
        return
      case "reject": {
        const block = { index: message.index, begin: message.begin, length: message.length }
        this.rejects.push(block)
        this.pending.delete(keyOf(block))
        return
      }
      case "unchoke":
        this.choked = false
        this.chokes.push({ at: this.now(), choked: false })
        return
      case "interested":
        this.sessionInterested = true
        return
      case "notInterested":
        this.sessionInterested = false
        return
      case "have":
        this.sessionPieces.set(message.index)
        return
      case "bitfield":
        Bitfield.fromBytes(message.bits, this.options.torrent.pieceCount).forEachSet((index) => this.sessionPieces.set(index))
        return
      case "piece":
        return this.gotBlock(message.index, message.begin, message.block)
      case "request": {
        const { begin, index, length } = message
        if (this.choking) return
        if (!this.have.has(index) || length === 0 || length > 16384 || begin + length > pieceSize(this.options.torrent, index)) {
          this.errors.push(`bad request ${index}/${begin}/${length}`)
          return
        }
        this.queue.push({ index, begin, length })
        return
      }
      case "cancel": {
        const at = this.queue.findIndex((q) =>
          q.index === message.index && q.begin === message.begin && q.length === message.length
        )
        if (at !== -1) this.queue.splice(at, 1)
        return
      }
      default:
        return
    }
  }

  private gotBlock(index: number, begin: number, data: Uint8Array): void {
    const block = { index, begin, length: data.length }
    const key = keyOf(block)
    const count = this.pending.get(key) ?? 0
    if (count <= 1) this.pending.delete(key)
    else this.pending.set(key, count - 1)
    const start = index * this.options.torrent.pieceLength + begin
    this.blocks.push({
      ...block,
      at: this.now(),
      intact: sameBytes(data, this.options.content.subarray(start, start + data.length)),
      expected: count > 0,
      whileChoked: this.choked
    })
  }
}

/**
 * Dials the session and sends the handshake (and a bitfield if it has pieces). The connection closes with the scope.
 * The `Transport` must be the memory network the session listens on.
 */
export const connectLeecher = (
  options: LeecherOptions
): Effect.Effect<LeecherDouble, TransportError, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    const clock = yield* Effect.clock
    const connection = yield* transport.connect(options.address)
    return new LeecherDouble(connection, options, () => clock.unsafeCurrentTimeMillis())
  })
