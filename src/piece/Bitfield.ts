/** Set bits per byte value, so counting a whole bitfield is one table lookup per byte. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, byte) => {
  let bits = 0
  for (let b = byte; b !== 0; b &= b - 1) bits++
  return bits
})

/**
 * A fixed-size set of piece indexes in the BEP 3 wire layout: piece 0 is the high bit of the first byte, and the
 * spare bits at the end of the last byte are always zero.
 *
 * Invariants: `count` equals the number of set bits; bits at positions >= `size` are never set.
 */
export class Bitfield {
  readonly size: number
  private readonly bytes: Uint8Array
  private setBits = 0

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid bitfield size ${size}`)
    this.size = size
    this.bytes = new Uint8Array(Math.ceil(size / 8))
  }

  /**
   * Copies a wire bitfield. The caller has checked the length (ceil(size / 8) bytes) and that the spare bits are
   * zero; extra bytes are ignored and spare bits are masked off anyway, so the invariants hold whatever arrives.
   */
  static fromBytes(bytes: Uint8Array, size: number): Bitfield {
    const field = new Bitfield(size)
    field.bytes.set(bytes.subarray(0, field.bytes.length))
    const spare = field.bytes.length * 8 - size
    if (spare > 0) field.bytes[field.bytes.length - 1]! &= (0xff << spare) & 0xff
    for (const byte of field.bytes) field.setBits += POPCOUNT[byte]!
    return field
  }

  /** A bitfield with every piece set (a seeder's). */
  static full(size: number): Bitfield {
    return Bitfield.fromBytes(new Uint8Array(Math.ceil(size / 8)).fill(0xff), size)
  }

  /** Number of set bits, O(1). */
  get count(): number {
    return this.setBits
  }

  /** False for anything but an integer in [0, size), so untrusted indexes are safe to ask about. */
  has(index: number): boolean {
    if (index >>> 0 !== index || index >= this.size) return false
    return (this.bytes[index >> 3]! & (0x80 >> (index & 7))) !== 0
  }

  set(index: number): void {
    this.check(index)
    const mask = 0x80 >> (index & 7)
    const byte = this.bytes[index >> 3]!
    if ((byte & mask) !== 0) return
    this.bytes[index >> 3] = byte | mask
    this.setBits++
  }

  clear(index: number): void {
    this.check(index)
    const mask = 0x80 >> (index & 7)
    const byte = this.bytes[index >> 3]!
    if ((byte & mask) === 0) return
    this.bytes[index >> 3] = byte & ~mask
    this.setBits--
  }

  isComplete(): boolean {
    return this.setBits === this.size
  }

  /** Calls `f` with each set index in increasing order, skipping empty bytes. */
  forEachSet(f: (index: number) => void): void {
    for (let at = 0; at < this.bytes.length; at++) {
      const byte = this.bytes[at]!
      if (byte === 0) continue
      for (let bit = 0; bit < 8; bit++) if ((byte & (0x80 >> bit)) !== 0) f(at * 8 + bit)
    }
  }

  copy(): Bitfield {
    return Bitfield.fromBytes(this.bytes, this.size)
  }

  /** The wire form (a copy): ceil(size / 8) bytes, spare bits zero. */
  toBytes(): Uint8Array {
    return this.bytes.slice()
  }

  private check(index: number): void {
    if (!(Number.isInteger(index) && index >= 0 && index < this.size)) {
      throw new RangeError(`piece index ${index} outside a bitfield of ${this.size}`)
    }
  }
}
