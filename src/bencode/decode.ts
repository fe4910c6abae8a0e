import * as Either from "effect/Either"
import { BencodeError, type BencodeErrorReason } from "./BencodeError.js"
import type { BDict, BList, BValue, Span } from "./value.js"

export interface DecodeOptions {
  /** Deepest nesting of lists and dictionaries accepted. Default 64; a .torrent needs about 5. */
  readonly maxDepth?: number
  /**
   * BEP 3 requires dictionary keys in sorted order. Real-world encoders sometimes get this wrong, and libtorrent
   * accepts such input, so by default unsorted keys are accepted (duplicates never are). `true` rejects them.
   */
  readonly requireSortedKeys?: boolean
}

/** A decoded value plus the exact byte span of every list and dictionary inside it. */
export interface Decoded {
  readonly value: BValue
  readonly spanOf: (container: BList | BDict) => Span | undefined
}

/** A value decoded from the start of an input, and the offset just past it. */
export interface Prefix {
  readonly value: BValue
  readonly end: number
}

const DEFAULT_MAX_DEPTH = 64

const I = 0x69 // i
const L = 0x6c // l
const D = 0x64 // d
const E = 0x65 // e
const COLON = 0x3a
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39

/** Thrown inside the parser only; `run` turns it into the typed result. */
class Failure {
  constructor(readonly error: BencodeError) {}
}

class Parser {
  private pos = 0
  private depth = 0

  constructor(
    private readonly bytes: Uint8Array,
    private readonly maxDepth: number,
    private readonly requireSortedKeys: boolean,
    private readonly spans: WeakMap<object, Span> | undefined
  ) {}

  parseDocument(): BValue {
    const value = this.parseValue()
    if (this.pos !== this.bytes.length) {
      this.fail("TrailingBytes", `${this.bytes.length - this.pos} byte(s) after the end of the value`)
    }
    return value
  }

  /** One value at the start of the input; what follows it is left to the caller. */
  parsePrefix(): Prefix {
    const value = this.parseValue()
    return { value, end: this.pos }
  }

  private fail(reason: BencodeErrorReason, detail: string, offset = this.pos): never {
    throw new Failure(new BencodeError({ reason, offset, detail }))
  }

  private peek(): number {
    const byte = this.bytes[this.pos]
    if (byte === undefined) this.fail("UnexpectedEnd", "input ends inside a value")
    return byte
  }

  private parseValue(): BValue {
    const byte = this.peek()
    if (byte === I) return this.parseInteger()
    if (byte >= ZERO && byte <= NINE) return this.parseBytes()
    if (byte === L) return this.parseList()
    if (byte === D) return this.parseDict()
    return this.fail("UnexpectedByte", `unexpected byte 0x${byte.toString(16).padStart(2, "0")}`)
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) this.fail("TooDeep", `nesting deeper than ${this.maxDepth}`)
  }

  private parseInteger(): number {
    const start = this.pos
    this.pos++ // 'i'
    const negative = this.peek() === MINUS
    if (negative) this.pos++
    const value = this.parseDigits(E, "InvalidInteger", start)
    this.pos++ // 'e'
    if (negative && value === 0) this.fail("InvalidInteger", "negative zero", start)
    return negative ? -value : value
  }

  /**
   * Reads a run of decimal digits up to `terminator` (left unconsumed). BEP 3 forbids leading zeros and empty
   * runs; values past 2^53 - 1 are refused rather than silently rounded.
   */
  private parseDigits(terminator: number, reason: BencodeErrorReason, start: number): number {
    const first = this.pos
    let value = 0
    for (;;) {
      const byte = this.peek()
      if (byte === terminator) break
      if (byte < ZERO || byte > NINE) {
        this.fail(reason, `unexpected byte 0x${byte.toString(16).padStart(2, "0")} in a number`)
      }
      value = value * 10 + (byte - ZERO)
      if (value > Number.MAX_SAFE_INTEGER) this.fail("IntegerOutOfRange", "number beyond 2^53 - 1", start)
      this.pos++
    }
    const digits = this.pos - first
    if (digits === 0) this.fail(reason, "missing digits", start)
    if (digits > 1 && this.bytes[first] === ZERO) this.fail(reason, "leading zero", start)
    return value
  }

  private parseBytes(): Uint8Array {
    const start = this.pos
    const length = this.parseDigits(COLON, "InvalidStringLength", start)
    this.pos++ // ':'
    const end = this.pos + length
    if (end > this.bytes.length) {
      this.fail("UnexpectedEnd", `string of ${length} bytes runs past the end of the input`, start)
    }
    const value = this.bytes.subarray(this.pos, end)
    this.pos = end
    return value
  }

  private parseList(): BList {
    const start = this.pos
    this.enter()
    this.pos++ // 'l'
    const list: Array<BValue> = []
    while (this.peek() !== E) list.push(this.parseValue())
    this.pos++ // 'e'
    this.depth--
    this.spans?.set(list, { start, end: this.pos })
    return list
  }

  private parseDict(): BDict {
    const start = this.pos
    this.enter()
    this.pos++ // 'd'
    const dict = new Map<string, BValue>()
    let previous: string | undefined
    while (this.peek() !== E) {
      const keyStart = this.pos
      const byte = this.peek()
      if (byte < ZERO || byte > NINE) this.fail("KeyNotString", "dictionary key is not a byte string")
      const key = latin1(this.parseBytes())
      if (dict.has(key)) this.fail("DuplicateKey", `duplicate key "${printable(key)}"`, keyStart)
      if (this.requireSortedKeys && previous !== undefined && key < previous) {
        this.fail("UnsortedKeys", `key "${printable(key)}" out of order`, keyStart)
      }
      previous = key
      dict.set(key, this.parseValue())
    }
    this.pos++ // 'e'
    this.depth--
    this.spans?.set(dict, { start, end: this.pos })
    return dict
  }
}

const latin1 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")

const printable = (key: string): string => {
  const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key
  return shown.replace(/[^\x20-\x7e]/g, "?")
}

const run = <A>(thunk: () => A): Either.Either<A, BencodeError> => {
  try {
    return Either.right(thunk())
  } catch (e) {
    if (e instanceof Failure) return Either.left(e.error)
    throw e
  }
}

const parser = (bytes: Uint8Array, options: DecodeOptions | undefined, spans: WeakMap<object, Span> | undefined) =>
  new Parser(bytes, options?.maxDepth ?? DEFAULT_MAX_DEPTH, options?.requireSortedKeys ?? false, spans)

/** Decodes exactly one bencoded value filling the whole input. Byte strings in the result are views into it. */
export const decode = (bytes: Uint8Array, options?: DecodeOptions): Either.Either<BValue, BencodeError> =>
  run(() => parser(bytes, options, undefined).parseDocument())

/**
 * Decodes the one bencoded value at the start of `bytes` and says where it ends, for formats that append raw bytes
 * after a bencoded header (BEP 9's metadata `data` message). Byte strings in the result are views into the input.
 */
export const decodePrefix = (bytes: Uint8Array, options?: DecodeOptions): Either.Either<Prefix, BencodeError> =>
  run(() => parser(bytes, options, undefined).parsePrefix())

/**
 * Like `decode`, and also records where each list and dictionary lay in the input, so that a caller can hash the
 * original bytes of a value (the info-hash is the SHA-1 of the `info` dictionary exactly as it was encoded).
 */
export const decodeWithSpans = (bytes: Uint8Array, options?: DecodeOptions): Either.Either<Decoded, BencodeError> =>
  run(() => {
    const spans = new WeakMap<object, Span>()
    const value = parser(bytes, options, spans).parseDocument()
    return { value, spanOf: (container: BList | BDict) => spans.get(container) }
  })
