/**
 * RC4, for Message Stream Encryption (which drops the first 1024 bytes of keystream).
 *
 * Our own, in plain TypeScript: node:crypto's "rc4" lives in OpenSSL 3's legacy provider, which Node 20 does not
 * load unless started with --openssl-legacy-provider (a library cannot ask for that). Measured on this machine,
 * 16 KiB chunks: this class ~420-460 MB/s, OpenSSL's RC4 (legacy provider loaded) ~380-470 MB/s; no reason to
 * keep two paths. State in a Uint8Array, XOR straight into the caller's output, no allocation per call.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256)
  private i = 0
  private j = 0

  /** `key` of 1 to 256 bytes (a caller's mistake otherwise: throws); `drop` keystream bytes discarded first. */
  constructor(key: Uint8Array, drop = 0) {
    if (key.length < 1 || key.length > 256) throw new RangeError(`RC4 key of ${key.length} bytes (1 to 256)`)
    const s = this.s
    for (let i = 0; i < 256; i++) s[i] = i
    let j = 0
    for (let i = 0; i < 256; i++) {
      const t = s[i]!
      j = (j + t + key[i % key.length]!) & 255
      s[i] = s[j]!
      s[j] = t
    }
    this.skip(drop)
  }

  /**
   * XORs the next `input.length` keystream bytes with `input` into `output` (by default `input` itself, in place;
   * otherwise at least as long). Returns `output`.
   */
  process(input: Uint8Array, output: Uint8Array = input): Uint8Array {
    const s = this.s
    let i = this.i
    let j = this.j
    const n = input.length
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255
      const si = s[i]!
      j = (j + si) & 255
      const sj = s[j]!
      s[i] = sj
      s[j] = si
      output[k] = input[k]! ^ s[(si + sj) & 255]!
    }
    this.i = i
    this.j = j
    return output
  }

  /** Advances the keystream by `n` bytes, as if `n` bytes had been processed. */
  skip(n: number): void {
    const s = this.s
    let i = this.i
    let j = this.j
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255
      const si = s[i]!
      j = (j + si) & 255
      s[i] = s[j]!
      s[j] = si
    }
    this.i = i
    this.j = j
  }
}
