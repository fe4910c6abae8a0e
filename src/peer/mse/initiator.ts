/**
 * The side that opened the connection (A). Sends Ya and PadA; on Yb sends step 3 (the torrent, the methods it
 * provides, its initial payload); then finds B's encrypted VC after PadB, reads crypto_select and PadD, and is done.
 * Pure and incremental: feed it chunks as they come, in any sizes.
 */
import { copyBytes } from "../../wire/bytes.js"
import { generateKeyPair, KEY_LENGTH, type KeyPair, sharedSecret } from "./dh.js"
import { HandshakeMachine } from "./machine.js"
import * as Mse from "./protocol.js"
import type { Rc4 } from "./rc4.js"
import { Field, MarkerScanner } from "./reader.js"

export interface MseInitiatorOptions {
  /** SKEY: the torrent's info-hash, 20 bytes. */
  readonly infoHash: Uint8Array
  /** The methods offered in crypto_provide; at least one. */
  readonly provide: Mse.Methods
  /** IA: sent inside step 3, encrypted; typically our BitTorrent handshake. At most MAX_INITIAL_PAYLOAD bytes. */
  readonly initialPayload?: Uint8Array
  /** Our key pair; a fresh one by default (tests fix it). */
  readonly keyPair?: KeyPair
  readonly padLength?: Mse.PadLength
}

export type MseInitiatorDone = Mse.MseDoneBase

/** What the initiator waits for next. */
export type MseInitiatorStage = "Yb" | "VC" | "crypto_select" | "PadD"

export class MseInitiator extends HandshakeMachine<MseInitiatorStage, MseInitiatorDone> {
  private readonly keyPair: KeyPair
  private readonly opening: Uint8Array
  private readonly infoHash: Uint8Array
  private readonly provided: number
  private readonly initialPayload: Uint8Array
  private readonly padLength: Mse.PadLength
  private state: MseInitiatorStage = "Yb"
  private readonly yb = new Field(KEY_LENGTH)
  private scanner: MarkerScanner | undefined
  private readonly selectFields = new Field(4 + 2)
  private cipher: Mse.Cipher = "rc4"
  private outgoing: Rc4 | undefined
  private incoming: Rc4 | undefined

  /** Throws only on a caller's mistake: an info-hash not of 20 bytes, no method provided, IA too long. */
  constructor(options: MseInitiatorOptions) {
    super()
    if (options.infoHash.length !== Mse.HASH_LENGTH) throw new RangeError("the info-hash must be 20 bytes")
    this.provided = Mse.methodBits(options.provide)
    if (this.provided === 0) throw new RangeError("provide at least one method")
    this.initialPayload = options.initialPayload ?? new Uint8Array(0)
    if (this.initialPayload.length > Mse.MAX_INITIAL_PAYLOAD) {
      throw new RangeError(
        `an initial payload of ${this.initialPayload.length} bytes (at most ${Mse.MAX_INITIAL_PAYLOAD})`
      )
    }
    this.infoHash = options.infoHash
    this.padLength = options.padLength ?? Mse.randomPadLength
    this.keyPair = options.keyPair ?? generateKeyPair()
    const pad = Mse.makePad("A", this.padLength)
    this.opening = new Uint8Array(KEY_LENGTH + pad.length)
    this.opening.set(this.keyPair.publicKey)
    this.opening.set(pad, KEY_LENGTH)
  }

  /** Bytes held for the handshake: at most 96 + MAX_PAD + 8 + 6. */
  get buffered(): number {
    return this.yb.held + (this.scanner?.held ?? 0) + this.selectFields.held
  }

  /** Step 1: Ya and PadA, to send first. */
  start(): Uint8Array {
    return this.opening
  }

  protected current(): MseInitiatorStage {
    return this.state
  }

  protected read(chunk: Uint8Array): Mse.MseStep<MseInitiatorDone> {
    let send: Uint8Array | undefined
    let at = 0
    for (;;) {
      switch (this.state) {
        case "Yb": {
          at = this.yb.fill(chunk, at)
          if (!this.yb.complete) return this.pending(send)
          const step3 = this.keysFromYb()
          if (typeof step3 === "string") return this.fail(step3)
          send = step3
          this.state = "VC"
          continue
        }
        case "VC": {
          const found = this.scanner!.scan(chunk, at)
          if (found === "more") return this.pending(send)
          if (found === "missing") {
            return this.fail(`no verification constant within ${Mse.MAX_PAD + Mse.VC_LENGTH} bytes after Yb`)
          }
          at = found
          this.scanner = undefined
          this.state = "crypto_select"
          continue
        }
        case "crypto_select": {
          at = this.selectFields.fill(chunk, at)
          if (!this.selectFields.complete) return this.pending(send)
          const fields = this.incoming!.process(this.selectFields.bytes)
          const selected = Mse.readU32(fields, 0)
          const method = Mse.singleMethod(selected)
          if (method === undefined || (this.provided & Mse.CryptoMethod[method]) === 0) {
            return this.fail(`the peer selected crypto method ${selected}, which we did not provide`)
          }
          this.cipher = method
          this.padRemaining = Mse.readU16(fields, 4)
          if (this.padRemaining > Mse.MAX_PAD) {
            return this.fail(`PadD of ${this.padRemaining} bytes (at most ${Mse.MAX_PAD})`)
          }
          this.state = "PadD"
          continue
        }
        case "PadD": {
          at = this.skipPad(this.incoming!, chunk, at)
          if (this.padRemaining > 0) return this.pending(send)
          const streams = Mse.payloadStreams(this.cipher, this.outgoing!, this.incoming!)
          return this.finish(send, { ...streams, rest: streams.decrypt(copyBytes(chunk, at)) })
        }
      }
    }
  }

  /** S from Yb; the RC4 streams; the encrypted VC to look for; step 3 to send (or what is wrong with Yb). */
  private keysFromYb(): Uint8Array | string {
    const secret = sharedSecret(this.keyPair.privateKey, this.yb.bytes)
    if (typeof secret === "string") return `bad Yb: ${secret}`
    this.outgoing = Mse.streamCipher("keyA", secret, this.infoHash)
    this.incoming = Mse.streamCipher("keyB", secret, this.infoHash)
    // B's stream starts with ENCRYPT(VC): VC is zeros, so it reads as B's first keystream bytes. Computing them
    // moves our decryption past VC, where the stream resumes once it is found.
    const encryptedVc = this.incoming.process(new Uint8Array(Mse.VC_LENGTH))
    this.scanner = new MarkerScanner(encryptedVc, Mse.MAX_PAD + Mse.VC_LENGTH)
    const hashes = new Uint8Array(2 * Mse.HASH_LENGTH)
    hashes.set(Mse.req1Hash(secret))
    hashes.set(Mse.req2xor3(Mse.obfuscatedInfoHash(this.infoHash), secret), Mse.HASH_LENGTH)
    const padC = Mse.makePad("C", this.padLength)
    return Mse.encryptedHeader(hashes, this.outgoing, this.provided, padC, this.initialPayload)
  }
}
