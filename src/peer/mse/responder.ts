/**
 * The side that accepted the connection (B). On Ya sends Yb and PadB; finds HASH('req1', S) after PadA; learns the
 * torrent from HASH('req2', SKEY) xor HASH('req3', S); checks VC, picks a method from crypto_provide and answers
 * with step 4; then reads PadC and the initial payload, and is done. Pure and incremental: feed it chunks as they
 * come, in any sizes.
 */
import { generateKeyPair, KEY_LENGTH, type KeyPair, sharedSecret } from "./dh.js"
import { HandshakeMachine } from "./machine.js"
import * as Mse from "./protocol.js"
import type { Rc4 } from "./rc4.js"
import { Field, MarkerScanner } from "./reader.js"

/**
 * Finds the torrent a peer asks for: the info-hashes we serve, or a lookup by HASH('req2', info-hash) (see
 * `obfuscatedInfoHash`) that answers the info-hash, or undefined for a torrent we don't have.
 */
export type FindTorrent = ReadonlyArray<Uint8Array> | ((obfuscated: Uint8Array) => Uint8Array | undefined)

/**
 * Picks one method from the crypto_provide bits the peer sent (unknown bits included): a CryptoMethod value, or
 * undefined if none will do. See `selectMethod`.
 */
export type SelectMethod = (provided: number) => number | undefined

/** A SelectMethod that takes `prefer` when offered and allowed, else the other method if allowed. */
export const selectMethod = (allow: Mse.Methods, prefer: Mse.Cipher): SelectMethod => (provided) => {
  const order: ReadonlyArray<Mse.Cipher> = prefer === "rc4" ? ["rc4", "plaintext"] : ["plaintext", "rc4"]
  const chosen = order.find((method) => allow[method] && (provided & Mse.CryptoMethod[method]) !== 0)
  return chosen === undefined ? undefined : Mse.CryptoMethod[chosen]
}

export interface MseResponderOptions {
  readonly findTorrent: FindTorrent
  readonly select: SelectMethod
  /** Our key pair; a fresh one by default (tests fix it). */
  readonly keyPair?: KeyPair
  readonly padLength?: Mse.PadLength
}

export interface MseResponderDone extends Mse.MseDoneBase {
  /** SKEY: the info-hash of the torrent the peer asked for. */
  readonly infoHash: Uint8Array
  /** How many bytes at the start of `rest` were the initial payload (IA). */
  readonly initialPayloadLength: number
}

/** What the responder waits for next. */
export type MseResponderStage = "Ya" | "req1" | "SKEY" | "crypto_provide" | "PadC" | "len(IA)" | "IA"

export class MseResponder extends HandshakeMachine<MseResponderStage, MseResponderDone> {
  private readonly keyPair: KeyPair
  private readonly padLength: Mse.PadLength
  private state: MseResponderStage = "Ya"
  private readonly ya = new Field(KEY_LENGTH)
  private scanner: MarkerScanner | undefined
  private readonly skey = new Field(Mse.HASH_LENGTH)
  private readonly provideFields = new Field(Mse.VC_LENGTH + 4 + 2)
  private readonly iaLength = new Field(2)
  private ia: Field | undefined
  private secret: Uint8Array | undefined
  private infoHash: Uint8Array | undefined
  private cipher: Mse.Cipher = "rc4"
  private outgoing: Rc4 | undefined
  private incoming: Rc4 | undefined

  constructor(private readonly options: MseResponderOptions) {
    super()
    this.padLength = options.padLength ?? Mse.randomPadLength
    this.keyPair = options.keyPair ?? generateKeyPair()
  }

  /** Bytes held for the handshake: at most 96 + MAX_PAD + 20 before the marker, then IA and 36 bytes of fields. */
  get buffered(): number {
    return this.ya.held + (this.scanner?.held ?? 0) + this.skey.held + this.provideFields.held +
      this.iaLength.held + (this.ia?.held ?? 0)
  }

  protected current(): MseResponderStage {
    return this.state
  }

  protected read(chunk: Uint8Array): Mse.MseStep<MseResponderDone> {
    let send: Uint8Array | undefined
    let at = 0
    for (;;) {
      switch (this.state) {
        case "Ya": {
          at = this.ya.fill(chunk, at)
          if (!this.ya.complete) return this.pending(send)
          const secret = sharedSecret(this.keyPair.privateKey, this.ya.bytes)
          if (typeof secret === "string") return this.fail(`bad Ya: ${secret}`)
          this.secret = secret
          this.scanner = new MarkerScanner(Mse.req1Hash(secret), Mse.MAX_PAD + Mse.HASH_LENGTH)
          const pad = Mse.makePad("B", this.padLength)
          send = new Uint8Array(KEY_LENGTH + pad.length)
          send.set(this.keyPair.publicKey)
          send.set(pad, KEY_LENGTH)
          this.state = "req1"
          continue
        }
        case "req1": {
          const found = this.scanner!.scan(chunk, at)
          if (found === "more") return this.pending(send)
          if (found === "missing") {
            return this.fail(`no HASH('req1', S) within ${Mse.MAX_PAD + Mse.HASH_LENGTH} bytes after Ya`)
          }
          at = found
          this.scanner = undefined
          this.state = "SKEY"
          continue
        }
        case "SKEY": {
          at = this.skey.fill(chunk, at)
          if (!this.skey.complete) return this.pending(send)
          const infoHash = this.findTorrent(Mse.req2xor3(this.skey.bytes, this.secret!))
          if (infoHash === undefined) return this.fail("the peer asked for a torrent we don't have")
          this.infoHash = infoHash
          this.incoming = Mse.streamCipher("keyA", this.secret!, infoHash)
          this.outgoing = Mse.streamCipher("keyB", this.secret!, infoHash)
          this.state = "crypto_provide"
          continue
        }
        case "crypto_provide": {
          at = this.provideFields.fill(chunk, at)
          if (!this.provideFields.complete) return this.pending(send)
          const step4 = this.answer(this.incoming!.process(this.provideFields.bytes))
          if (typeof step4 === "string") return this.fail(step4)
          send = send === undefined ? step4 : concat(send, step4)
          this.state = "PadC"
          continue
        }
        case "PadC": {
          at = this.skipPad(this.incoming!, chunk, at)
          if (this.padRemaining > 0) return this.pending(send)
          this.state = "len(IA)"
          continue
        }
        case "len(IA)": {
          at = this.iaLength.fill(chunk, at)
          if (!this.iaLength.complete) return this.pending(send)
          // At most MAX_INITIAL_PAYLOAD, as two bytes can say.
          this.ia = new Field(Mse.readU16(this.incoming!.process(this.iaLength.bytes), 0))
          this.state = "IA"
          continue
        }
        case "IA": {
          at = this.ia!.fill(chunk, at)
          if (!this.ia!.complete) return this.pending(send)
          const ia = this.incoming!.process(this.ia!.bytes)
          this.ia = undefined
          // IA is always RC4; what follows it is in the selected method.
          const streams = Mse.payloadStreams(this.cipher, this.outgoing!, this.incoming!)
          return this.finish(send, {
            ...streams,
            rest: concat(ia, streams.decrypt(chunk.slice(at))),
            infoHash: this.infoHash!,
            initialPayloadLength: ia.length
          })
        }
      }
    }
  }

  private findTorrent(obfuscated: Uint8Array): Uint8Array | undefined {
    const find = this.options.findTorrent
    if (typeof find === "function") return find(obfuscated)
    return find.find((infoHash) => equal(Mse.obfuscatedInfoHash(infoHash), obfuscated))
  }

  /** Checks VC, crypto_provide and len(PadC) (decrypted); picks the method; step 4 to send, or what is wrong. */
  private answer(fields: Uint8Array): Uint8Array | string {
    if (!fields.subarray(0, Mse.VC_LENGTH).every((byte) => byte === 0)) {
      return "a wrong verification constant (the peer does not know S, or the torrent)"
    }
    const provided = Mse.readU32(fields, Mse.VC_LENGTH)
    const selected = this.options.select(provided)
    const method = selected === undefined ? undefined : Mse.singleMethod(selected)
    if (method === undefined || (provided & Mse.CryptoMethod[method]) === 0) {
      return `no method we accept among those provided (crypto_provide ${provided})`
    }
    this.cipher = method
    this.padRemaining = Mse.readU16(fields, Mse.VC_LENGTH + 4)
    if (this.padRemaining > Mse.MAX_PAD) return `PadC of ${this.padRemaining} bytes (at most ${Mse.MAX_PAD})`
    const padD = Mse.makePad("D", this.padLength)
    return Mse.encryptedHeader(new Uint8Array(0), this.outgoing!, Mse.CryptoMethod[method], padD, undefined)
  }
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, i) => byte === b[i])

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
