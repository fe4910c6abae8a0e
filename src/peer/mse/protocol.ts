/**
 * The pieces of Message Stream Encryption shared by both sides: constants, the hashes that derive keys and markers,
 * and the streams a finished handshake hands over.
 *
 *   1 A->B: Ya, PadA
 *   2 B->A: Yb, PadB
 *   3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
 *   5 A->B: ENCRYPT2(payload)
 *
 * HASH is SHA-1; SKEY is the torrent's info-hash; ENCRYPT is RC4 keyed HASH('keyA', S, SKEY) from A and
 * HASH('keyB', S, SKEY) from B, first 1024 bytes of keystream dropped; ENCRYPT2 the method B selected (plaintext
 * after the handshake, or the same RC4 streams going on). Lengths are 2 bytes and crypto fields 4, big-endian.
 */
import { createHash, randomBytes, randomInt } from "node:crypto"
import { Rc4 } from "./rc4.js"

/** crypto_provide / crypto_select bits. Others are reserved: ignored when received. */
export const CryptoMethod = { plaintext: 0x01, rc4: 0x02 } as const
export type Cipher = keyof typeof CryptoMethod
const KNOWN_METHODS = CryptoMethod.plaintext | CryptoMethod.rc4

/** Which methods a side offers or accepts. */
export interface Methods {
  readonly plaintext: boolean
  readonly rc4: boolean
}

export const methodBits = (methods: Methods): number =>
  (methods.plaintext ? CryptoMethod.plaintext : 0) | (methods.rc4 ? CryptoMethod.rc4 : 0)

/** The one known method in `bits`, or undefined if there is none or more than one. */
export const singleMethod = (bits: number): Cipher | undefined => {
  const known = bits & KNOWN_METHODS
  return known === CryptoMethod.plaintext ? "plaintext" : known === CryptoMethod.rc4 ? "rc4" : undefined
}

/** Most bytes of padding (PadA, PadB, PadC, PadD). */
export const MAX_PAD = 512
/**
 * Most bytes of initial payload (IA): what its 2-byte length can say. The spec lets A buffer up to this much; a
 * responder holds at most this plus the fixed fields while reading it.
 */
export const MAX_INITIAL_PAYLOAD = 0xffff
export const VC_LENGTH = 8
export const HASH_LENGTH = 20
/** The first bytes of each RC4 stream that are thrown away. */
export const RC4_DROP = 1024

export type Pad = "A" | "B" | "C" | "D"
/** Pad lengths: random in 0..MAX_PAD by default. A given function's answer is clamped to that range. */
export type PadLength = (pad: Pad) => number
export const randomPadLength: PadLength = () => randomInt(0, MAX_PAD + 1)
const clampPad = (length: number): number => Math.max(0, Math.min(MAX_PAD, Math.floor(length) || 0))

/** A pad to send: PadA and PadB random bytes; PadC and PadD zeros, as the spec asks of padding-only use. */
export const makePad = (pad: Pad, padLength: PadLength): Uint8Array => {
  const length = clampPad(padLength(pad))
  return pad === "A" || pad === "B" ? new Uint8Array(randomBytes(length)) : new Uint8Array(length)
}

export const hash = (...parts: ReadonlyArray<string | Uint8Array>): Uint8Array => {
  const sha1 = createHash("sha1")
  for (const part of parts) sha1.update(typeof part === "string" ? Buffer.from(part, "latin1") : part)
  return new Uint8Array(sha1.digest())
}

/** HASH('req1', S): B finds where step 3 starts by looking for it. */
export const req1Hash = (secret: Uint8Array): Uint8Array => hash("req1", secret)

/**
 * HASH('req2', SKEY): what names a torrent in step 3 without showing its info-hash. A responder serving many
 * torrents indexes them by it.
 */
export const obfuscatedInfoHash = (infoHash: Uint8Array): Uint8Array => hash("req2", infoHash)

export const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((byte, i) => byte ^ b[i]!)

/** HASH('req2', SKEY) xor HASH('req3', S), as sent in step 3; xor it with HASH('req3', S) again to undo. */
export const req2xor3 = (obfuscated: Uint8Array, secret: Uint8Array): Uint8Array =>
  xor(obfuscated, hash("req3", secret))

/** The RC4 stream A encrypts with (`"keyA"`) or B does (`"keyB"`). */
export const streamCipher = (label: "keyA" | "keyB", secret: Uint8Array, infoHash: Uint8Array): Rc4 =>
  new Rc4(hash(label, secret, infoHash), RC4_DROP)

export const writeU16 = (out: Uint8Array, at: number, value: number): void => {
  out[at] = value >>> 8
  out[at + 1] = value & 0xff
}
export const writeU32 = (out: Uint8Array, at: number, value: number): void => {
  writeU16(out, at, value >>> 16)
  writeU16(out, at + 2, value & 0xffff)
}
export const readU16 = (bytes: Uint8Array, at: number): number => (bytes[at]! << 8) | bytes[at + 1]!
export const readU32 = (bytes: Uint8Array, at: number): number =>
  ((readU16(bytes, at) << 16) | readU16(bytes, at + 2)) >>> 0

/**
 * `ENCRYPT(VC, crypto bits, len(pad), pad)`, optionally followed by `len(IA), IA`: the encrypted part of steps 3
 * and 4, appended to `prefix`.
 */
export const encryptedHeader = (
  prefix: Uint8Array,
  cipher: Rc4,
  methods: number,
  pad: Uint8Array,
  initialPayload: Uint8Array | undefined
): Uint8Array => {
  const tail = initialPayload === undefined ? 0 : 2 + initialPayload.length
  const out = new Uint8Array(prefix.length + VC_LENGTH + 4 + 2 + pad.length + tail)
  out.set(prefix)
  let at = prefix.length + VC_LENGTH
  writeU32(out, at, methods)
  writeU16(out, at + 4, pad.length)
  out.set(pad, at + 6)
  at += 6 + pad.length
  if (initialPayload !== undefined) {
    writeU16(out, at, initialPayload.length)
    out.set(initialPayload, at + 2)
  }
  cipher.process(out.subarray(prefix.length))
  return out
}

/** The payload streams of a finished handshake (ENCRYPT2). */
export interface PayloadStreams {
  readonly cipher: Cipher
  /** Encrypts bytes to send into a new array (the input is left alone); plaintext: the input itself. */
  readonly encrypt: (bytes: Uint8Array) => Uint8Array
  /** Decrypts received bytes in place and returns them: the chunk must be the caller's to change. */
  readonly decrypt: (bytes: Uint8Array) => Uint8Array
}

const identity = (bytes: Uint8Array): Uint8Array => bytes

export const payloadStreams = (cipher: Cipher, outgoing: Rc4, incoming: Rc4): PayloadStreams =>
  cipher === "plaintext"
    ? { cipher, encrypt: identity, decrypt: identity }
    : {
      cipher,
      encrypt: (bytes) => outgoing.process(bytes, new Uint8Array(bytes.length)),
      decrypt: (bytes) => incoming.process(bytes)
    }

/** What one call to `receive` (or `start`) asks of the caller. */
export interface MseStep<Done> {
  /** Bytes to send to the peer, before anything else. */
  readonly send?: Uint8Array
  /** The handshake is over: from here on, the streams carry the payload. */
  readonly done?: Done
  /** The handshake failed: drop the connection. Set alone. */
  readonly error?: string
}

/** A finished handshake on either side. */
export interface MseDoneBase extends PayloadStreams {
  /** Payload bytes that arrived with the end of the handshake, decrypted, in a new array. */
  readonly rest: Uint8Array
}
