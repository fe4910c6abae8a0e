import { copyBytes } from "./bytes.js"
import { decodeHandshake, HANDSHAKE_LENGTH, type Handshake } from "./handshake.js"
import { MAX_BLOCK, type Message, MessageId } from "./messages.js"
import { WireError } from "./WireError.js"

/**
 * The largest bitfield accepted before the piece count is known: 2^22 pieces, beyond any real torrent (BEP 9 caps
 * what we fetch at MAX_METADATA_SIZE, 16 MiB of info dictionary, about 800,000 piece hashes).
 */
export const MAX_UNKNOWN_BITFIELD = 2 ** 22 / 8

export interface DecoderOptions {
  /**
   * Pieces in the torrent: bounds piece indexes and fixes the bitfield's size. `undefined` while it is not known
   * (a magnet link before its metadata arrives): then a bitfield of up to MAX_UNKNOWN_BITFIELD bytes is taken as it
   * is, without the spare-bit check, and piece indexes are not bounded; the caller checks them once it knows.
   */
  readonly pieceCount: number | undefined
  /** Whether the stream starts with a handshake (it does on a fresh connection). */
  readonly expectHandshake: boolean
  /** Largest BEP 10 extended message payload accepted. Default 1 MiB. */
  readonly maxExtendedLength?: number
}

/** Where decoded messages go. Called synchronously from `push`, in order. */
export interface WireSink {
  readonly onHandshake: (handshake: Handshake) => void
  readonly onMessage: (message: Message) => void
}

const KEEP_ALIVE: Message = { type: "keepAlive" }
const CHOKE: Message = { type: "choke" }
const UNCHOKE: Message = { type: "unchoke" }
const INTERESTED: Message = { type: "interested" }
const NOT_INTERESTED: Message = { type: "notInterested" }
const HAVE_ALL: Message = { type: "haveAll" }
const HAVE_NONE: Message = { type: "haveNone" }

/**
 * Incremental peer-wire decoder: feed it socket chunks as they come, it calls the sink for every complete message.
 *
 * Messages that lie whole inside a chunk are decoded in place: a `piece` block is a view into the chunk, to be
 * consumed at once, while a bitfield or an extended message is copied out, as the transport may reuse the chunk's
 * memory (they are rare and small). Only a message split across chunks is assembled: a `piece` message in a buffer
 * the decoder reuses, any other into one buffer of exactly its length. Memory per connection is thus bounded by the largest message allowed, which the
 * length prefix is checked against before anything is kept.
 * After an error the decoder refuses further input: the caller drops the peer.
 */
export class WireDecoder {
  private pieceCount: number | undefined
  private readonly maxExtended: number
  private maxLength: number
  /** Bytes of the handshake or a message still being assembled; `undefined` between messages. */
  private partial: Uint8Array | undefined
  private partialFilled = 0
  /** Where `piece` messages split across chunks are assembled, one after the other (see `assembly`). */
  private blockAssembly: Uint8Array | undefined
  private partialIsHandshake: boolean
  /** A length prefix split across chunks. */
  private readonly prefix = new Uint8Array(4)
  private prefixFilled = 0
  /** The length of a message whose prefix has arrived but not its id byte. */
  private pendingLength = 0
  private failed: WireError | undefined

  constructor(options: DecoderOptions) {
    this.pieceCount = options.pieceCount
    this.maxExtended = options.maxExtendedLength ?? 1024 * 1024
    this.maxLength = this.computeMaxLength()
    this.partialIsHandshake = options.expectHandshake
    this.partial = options.expectHandshake ? new Uint8Array(HANDSHAKE_LENGTH) : undefined
  }

  /** Sets the piece count once it is known (after fetching metadata for a magnet link). */
  setPieceCount(pieceCount: number): void {
    this.pieceCount = pieceCount
    this.maxLength = this.computeMaxLength()
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.partialFilled + this.prefixFilled
  }

  /** Refuses a message longer than its kind allows, before any of it is buffered. */
  private checkLength(id: number, length: number): WireError | undefined {
    if (id === MessageId.bitfield) {
      const error = this.checkBitfieldSize(length - 1)
      if (error !== undefined) return error
    }
    const limit = id === MessageId.piece
      ? 9 + MAX_BLOCK
      : id === MessageId.extended
      ? 2 + this.maxExtended
      : this.maxLength
    return length <= limit
      ? undefined
      : new WireError({ reason: "TooLong", detail: `message ${id} of ${length} bytes is too long` })
  }

  /** A bitfield has a bit per piece, rounded up to bytes; before the count is known, MAX_UNKNOWN_BITFIELD at most. */
  private checkBitfieldSize(size: number): WireError | undefined {
    if (this.pieceCount === undefined) {
      return size <= MAX_UNKNOWN_BITFIELD ? undefined : new WireError({
        reason: "BadBitfield",
        detail: `bitfield of ${size} bytes, over the ${MAX_UNKNOWN_BITFIELD} allowed before the piece count is known`
      })
    }
    const expected = Math.ceil(this.pieceCount / 8)
    return size === expected ? undefined : new WireError({
      reason: "BadBitfield",
      detail: `bitfield of ${size} bytes for ${this.pieceCount} pieces (expected ${expected})`
    })
  }

  private computeMaxLength(): number {
    const bitfield = this.pieceCount === undefined ? MAX_UNKNOWN_BITFIELD : Math.ceil(this.pieceCount / 8)
    return Math.max(9 + MAX_BLOCK, 1 + bitfield, 2 + this.maxExtended)
  }

  /** Decodes what `chunk` completes. Returns the protocol violation that ends the connection, if any. */
  push(chunk: Uint8Array, sink: WireSink): WireError | undefined {
    if (this.failed !== undefined) return this.failed
    let at = 0
    while (at < chunk.length) {
      if (this.partial !== undefined) {
        const take = Math.min(this.partial.length - this.partialFilled, chunk.length - at)
        this.partial.set(chunk.subarray(at, at + take), this.partialFilled)
        this.partialFilled += take
        at += take
        if (this.partialFilled < this.partial.length) break
        const complete = this.partial
        this.partial = undefined
        this.partialFilled = 0
        const error = this.partialIsHandshake
          ? this.handshake(complete, sink)
          : this.dispatch(complete, 0, complete.length, sink)
        this.partialIsHandshake = false
        if (error !== undefined) return this.fail(error)
        continue
      }

      let length: number
      if (this.pendingLength > 0) {
        length = this.pendingLength
        this.pendingLength = 0
        const tooLong = this.checkLength(chunk[at]!, length)
        if (tooLong !== undefined) return this.fail(tooLong)
        this.partial = this.assembly(chunk[at]!, length)
        continue
      }
      if (this.prefixFilled === 0 && chunk.length - at >= 4) {
        length = ((chunk[at]! << 24) | (chunk[at + 1]! << 16) | (chunk[at + 2]! << 8) | chunk[at + 3]!) >>> 0
        at += 4
      } else {
        while (this.prefixFilled < 4 && at < chunk.length) this.prefix[this.prefixFilled++] = chunk[at++]!
        if (this.prefixFilled < 4) break
        const p = this.prefix
        length = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0
        this.prefixFilled = 0
      }

      if (length === 0) {
        sink.onMessage(KEEP_ALIVE)
        continue
      }
      if (length > this.maxLength) {
        return this.fail(new WireError({ reason: "TooLong", detail: `message of ${length} bytes is too long` }))
      }
      if (at === chunk.length) {
        // The id byte is in the next chunk: remember the length, check it against the id before buffering.
        this.pendingLength = length
        break
      }
      const tooLong = this.checkLength(chunk[at]!, length)
      if (tooLong !== undefined) return this.fail(tooLong)
      if (chunk.length - at >= length) {
        const error = this.dispatch(chunk, at, length, sink)
        if (error !== undefined) return this.fail(error)
        at += length
      } else {
        this.partial = this.assembly(chunk[at]!, length)
        this.partialFilled = 0
      }
    }
    return undefined
  }

  /**
   * Where a message of `length` bytes split across chunks is put together. A `piece` message (a block is consumed
   * before the next chunk, see `Message`) goes into one buffer kept for the purpose: a fast peer splits about every
   * fourth block across chunks, and a new buffer for each would be garbage by the next chunk. Other messages get a
   * buffer of their own, as their contents may be kept.
   */
  private assembly(id: number, length: number): Uint8Array {
    if (id !== MessageId.piece) return new Uint8Array(length)
    this.blockAssembly ??= new Uint8Array(9 + MAX_BLOCK)
    return this.blockAssembly.subarray(0, length)
  }

  private fail(error: WireError): WireError {
    this.failed = error
    this.partial = undefined
    return error
  }

  private handshake(bytes: Uint8Array, sink: WireSink): WireError | undefined {
    const handshake = decodeHandshake(bytes)
    if (typeof handshake === "string") return new WireError({ reason: "BadHandshake", detail: handshake })
    sink.onHandshake(handshake)
    return undefined
  }

  /** Decodes the message at `bytes[start, start + length)`: id byte, then payload. */
  private dispatch(bytes: Uint8Array, start: number, length: number, sink: WireSink): WireError | undefined {
    const id = bytes[start]!
    const u32 = (offset: number) =>
      ((bytes[start + offset]! << 24) | (bytes[start + offset + 1]! << 16) | (bytes[start + offset + 2]! << 8) |
        bytes[start + offset + 3]!) >>> 0
    const expectLength = (name: string, expected: number) =>
      length === expected
        ? undefined
        : new WireError({ reason: "BadLength", detail: `${name} message of ${length} bytes (expected ${expected})` })
    const emit = (message: Message): undefined => {
      sink.onMessage(message)
      return undefined
    }
    const checkIndex = (index: number) =>
      this.pieceCount === undefined || index < this.pieceCount
        ? undefined
        : new WireError({ reason: "BadIndex", detail: `piece ${index} is past the end (${this.pieceCount} pieces)` })

    switch (id) {
      case MessageId.choke:
        return expectLength("choke", 1) ?? emit(CHOKE)
      case MessageId.unchoke:
        return expectLength("unchoke", 1) ?? emit(UNCHOKE)
      case MessageId.interested:
        return expectLength("interested", 1) ?? emit(INTERESTED)
      case MessageId.notInterested:
        return expectLength("not interested", 1) ?? emit(NOT_INTERESTED)
      case MessageId.have: {
        const error = expectLength("have", 5)
        if (error !== undefined) return error
        const index = u32(1)
        return checkIndex(index) ?? emit({ type: "have", index })
      }
      case MessageId.bitfield: {
        // Its size was checked with the length prefix; its spare bits can be checked only against a piece count.
        const size = length - 1
        const spare = this.pieceCount === undefined ? 0 : size * 8 - this.pieceCount
        if (spare > 0 && (bytes[start + length - 1]! & ((1 << spare) - 1)) !== 0) {
          return new WireError({ reason: "BadBitfield", detail: "bitfield has spare bits set" })
        }
        return emit({ type: "bitfield", bits: copyBytes(bytes, start + 1, start + length) })
      }
      case MessageId.haveAll:
        return expectLength("have all", 1) ?? emit(HAVE_ALL)
      case MessageId.haveNone:
        return expectLength("have none", 1) ?? emit(HAVE_NONE)
      case MessageId.suggest:
      case MessageId.allowedFast: {
        const name = id === MessageId.suggest ? "suggest" : "allowedFast"
        const error = expectLength(name, 5)
        if (error !== undefined) return error
        const index = u32(1)
        // Hints: one past the end is dropped, not worth the connection.
        return checkIndex(index) === undefined ? emit({ type: name, index }) : undefined
      }
      case MessageId.request:
      case MessageId.cancel:
      case MessageId.reject: {
        const name = id === MessageId.request ? "request" : id === MessageId.cancel ? "cancel" : "reject"
        const error = expectLength(name, 13)
        if (error !== undefined) return error
        const index = u32(1)
        return checkIndex(index) ??
          emit({ type: name, index, begin: u32(5), length: u32(9) })
      }
      case MessageId.piece: {
        if (length < 9 || length > 9 + MAX_BLOCK) {
          return new WireError({ reason: "BadLength", detail: `piece message of ${length} bytes` })
        }
        const index = u32(1)
        return checkIndex(index) ??
          emit({ type: "piece", index, begin: u32(5), block: bytes.subarray(start + 9, start + length) })
      }
      case MessageId.port: {
        const error = expectLength("port", 3)
        if (error !== undefined) return error
        return emit({ type: "port", port: (bytes[start + 1]! << 8) | bytes[start + 2]! })
      }
      case MessageId.extended:
        if (length < 2) return new WireError({ reason: "BadLength", detail: "empty extended message" })
        if (length - 2 > this.maxExtended) {
          return new WireError({ reason: "TooLong", detail: `extended message of ${length} bytes is too long` })
        }
        return emit({ type: "extended", id: bytes[start + 1]!, payload: copyBytes(bytes, start + 2, start + length) })
      case MessageId.hashRequest:
      case MessageId.hashes:
      case MessageId.hashReject: {
        const type = id === MessageId.hashRequest ? "hashRequest" : id === MessageId.hashes ? "hashes" : "hashReject"
        return emit({ type, payload: copyBytes(bytes, start + 1, start + length) })
      }
      default:
        // Unknown ids (extensions we did not negotiate) are skipped; their length was bounded above.
        return undefined
    }
  }
}
