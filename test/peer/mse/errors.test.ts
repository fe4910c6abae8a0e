/** What each side does with a peer that gets the handshake wrong: an error string, never a throw. */
import { describe, expect, it } from "@effect/vitest"
import { PRIME } from "../../../src/peer/mse/dh.js"
import {
  CryptoMethod,
  keyPairFrom,
  looksLikePlaintextHandshake,
  MAX_PAD,
  MseInitiator,
  type MseInitiatorOptions,
  MseResponder,
  type MseResponderOptions,
  type MseStep,
  type Pad,
  selectMethod,
  sharedSecret
} from "../../../src/peer/mse/index.js"
import { encryptedHeader, streamCipher } from "../../../src/peer/mse/protocol.js"
import { concat } from "./driver.js"

const infoHash = new Uint8Array(20).fill(0xab)
const keyA = keyPairFrom(new Uint8Array(20).fill(1))
const keyB = keyPairFrom(new Uint8Array(20).fill(2))
const secret = sharedSecret(keyA.privateKey, keyB.publicKey) as Uint8Array
const pads = (lengths: Partial<Record<Pad, number>>) => (pad: Pad) => lengths[pad] ?? 0
const both = { plaintext: true, rc4: true }

const initiatorOptions: MseInitiatorOptions = { infoHash, provide: both, keyPair: keyA, padLength: pads({}) }
const responderOptions: MseResponderOptions = {
  findTorrent: [infoHash],
  select: selectMethod(both, "rc4"),
  keyPair: keyB,
  padLength: pads({})
}

/** Step 3 as a correct initiator sends it (no pads), from our initiator. */
const validStep3 = (options: Partial<MseInitiatorOptions> = {}): Uint8Array => {
  const initiator = new MseInitiator({ ...initiatorOptions, ...options })
  return initiator.receive(keyB.publicKey).send!
}

/** Step 4 as a responder would send it, with any crypto_select and PadD length. */
const step4 = (select: number, padD = 0): Uint8Array =>
  encryptedHeader(new Uint8Array(0), streamCipher("keyB", secret, infoHash), select, new Uint8Array(padD), undefined)

/** A responder that has read Ya, ready for step 3. */
const responderAfterYa = (options: Partial<MseResponderOptions> = {}) => {
  const responder = new MseResponder({ ...responderOptions, ...options })
  expect(responder.receive(keyA.publicKey).send).toBeDefined()
  return responder
}

/** An initiator that has read Yb and sent step 3, waiting for VC. */
const initiatorAfterYb = (options: Partial<MseInitiatorOptions> = {}) => {
  const initiator = new MseInitiator({ ...initiatorOptions, ...options })
  expect(initiator.receive(keyB.publicKey).send).toBeDefined()
  return initiator
}

/** Each proper prefix of a valid stream leaves a fresh machine waiting: no error, not done, no more held than fed. */
const waitsOnEveryTruncation = (
  make: () => { receive: (chunk: Uint8Array) => MseStep<unknown>; readonly buffered: number },
  stream: Uint8Array
) => {
  for (let length = 0; length < stream.length; length++) {
    const machine = make()
    const step = machine.receive(stream.subarray(0, length))
    expect(step.error).toBeUndefined()
    expect(step.done).toBeUndefined()
    expect(machine.buffered).toBeLessThanOrEqual(length)
  }
}

const garbage = (length: number, seed = 7) => new Uint8Array(length).map((_, i) => (i * 131 + seed * 17 + 1) & 255)

describe("MSE responder errors", () => {
  it("finds no req1 marker within 512 + 20 bytes after Ya: an error at the bound, not before", () => {
    const responder = responderAfterYa()
    expect(responder.receive(garbage(MAX_PAD + 19))).toEqual({})
    expect(responder.stage).toBe("req1")
    expect(responder.receive(garbage(1)).error).toMatch(/no HASH\('req1', S\) within 532 bytes after Ya/)
    expect(responder.stage).toBe("failed")
  })

  it("takes req1 when it ends exactly at the bound", () => {
    const responder = responderAfterYa()
    const step = responder.receive(concat(garbage(MAX_PAD), validStep3()))
    expect(step.error).toBeUndefined()
    expect(step.done?.cipher).toBe("rc4")
  })

  it("drops a peer asking for a torrent we don't have", () => {
    const responder = responderAfterYa({ findTorrent: [new Uint8Array(20).fill(0xcd)] })
    expect(responder.receive(validStep3()).error).toMatch(/torrent we don't have/)
    const lookup = responderAfterYa({ findTorrent: () => undefined })
    expect(lookup.receive(validStep3()).error).toMatch(/torrent we don't have/)
  })

  it("drops garbage where the torrent's hash or the verification constant should be", () => {
    const step3 = validStep3()
    const badSkey = step3.slice()
    badSkey[25]! ^= 1
    expect(responderAfterYa().receive(badSkey).error).toMatch(/torrent we don't have/)
    const badVc = step3.slice()
    badVc[40 + 3]! ^= 1
    expect(responderAfterYa().receive(badVc).error).toMatch(/wrong verification constant/)
  })

  it("drops a peer that provides nothing we accept, or nothing at all", () => {
    const plaintextOnly = validStep3({ provide: { plaintext: true, rc4: false } })
    const rc4Only = responderAfterYa({ select: selectMethod({ plaintext: false, rc4: true }, "rc4") })
    expect(rc4Only.receive(plaintextOnly).error).toMatch(/no method we accept among those provided \(crypto_provide 1\)/)
    const nothing = responderAfterYa({ select: () => undefined })
    expect(nothing.receive(validStep3()).error).toMatch(/no method we accept/)
  })

  it("refuses a select function that picks a method not provided, or several", () => {
    const plaintextOnly = validStep3({ provide: { plaintext: true, rc4: false } })
    expect(responderAfterYa({ select: () => CryptoMethod.rc4 }).receive(plaintextOnly).error).toMatch(/no method/)
    expect(responderAfterYa({ select: () => 3 }).receive(validStep3()).error).toMatch(/no method/)
  })

  it("drops a PadC over 512 bytes", () => {
    const hashes = validStep3().subarray(0, 40)
    const header = encryptedHeader(hashes, streamCipher("keyA", secret, infoHash), 2, new Uint8Array(MAX_PAD + 1), undefined)
    expect(responderAfterYa().receive(header).error).toMatch(/PadC of 513 bytes/)
  })

  it("drops a Ya of 0, 1 or P-1 before answering", () => {
    for (const ya of [new Uint8Array(96), new Uint8Array(96).fill(0).map((_, i) => (i === 95 ? 1 : 0)), PRIME]) {
      const step = new MseResponder(responderOptions).receive(ya)
      expect(step.error).toMatch(/bad Ya/)
      expect(step.send).toBeUndefined()
    }
  })

  it("waits without error on every truncation of a valid stream, and holds no more than it got", () => {
    const stream = concat(keyA.publicKey, garbage(MAX_PAD), validStep3({ initialPayload: garbage(300) }))
    waitsOnEveryTruncation(() => new MseResponder(responderOptions), stream)
  })

  it("keeps its error, and refuses input once done", () => {
    const failed = responderAfterYa()
    const error = failed.receive(garbage(MAX_PAD + 20)).error
    expect(error).toBeDefined()
    expect(failed.receive(validStep3())).toEqual({ error })
    const done = responderAfterYa()
    expect(done.receive(validStep3()).done).toBeDefined()
    expect(done.receive(new Uint8Array(1)).error).toMatch(/already over/)
  })
})

describe("MSE initiator errors", () => {
  it("finds no verification constant within 512 + 8 bytes after Yb: an error at the bound, not before", () => {
    const initiator = initiatorAfterYb()
    expect(initiator.receive(garbage(MAX_PAD + 7))).toEqual({})
    expect(initiator.stage).toBe("VC")
    expect(initiator.receive(garbage(1)).error).toMatch(/no verification constant within 520 bytes after Yb/)
  })

  it("takes VC when it ends exactly at the bound", () => {
    const step = initiatorAfterYb().receive(concat(garbage(MAX_PAD), step4(CryptoMethod.rc4)))
    expect(step.error).toBeUndefined()
    expect(step.done?.cipher).toBe("rc4")
  })

  it("drops a responder that selects a method we did not provide, none, or both", () => {
    const rc4Only = initiatorAfterYb({ provide: { plaintext: false, rc4: true } })
    expect(rc4Only.receive(step4(CryptoMethod.plaintext)).error).toMatch(/selected crypto method 1, which we did not provide/)
    expect(initiatorAfterYb().receive(step4(0)).error).toMatch(/selected crypto method 0/)
    expect(initiatorAfterYb().receive(step4(3)).error).toMatch(/selected crypto method 3/)
  })

  it("ignores unknown bits in crypto_select", () => {
    expect(initiatorAfterYb().receive(step4(0x0100 | CryptoMethod.rc4)).done?.cipher).toBe("rc4")
  })

  it("drops a PadD over 512 bytes", () => {
    expect(initiatorAfterYb().receive(step4(CryptoMethod.rc4, MAX_PAD + 1)).error).toMatch(/PadD of 513 bytes/)
  })

  it("drops a Yb of 0, 1 or P-1 without sending step 3", () => {
    for (const yb of [new Uint8Array(96), new Uint8Array(96).map((_, i) => (i === 95 ? 1 : 0)), PRIME]) {
      const step = new MseInitiator(initiatorOptions).receive(yb)
      expect(step.error).toMatch(/bad Yb/)
      expect(step.send).toBeUndefined()
    }
  })

  it("waits without error on every truncation of a valid answer, and holds no more than it got", () => {
    const answer = concat(keyB.publicKey, garbage(MAX_PAD), step4(CryptoMethod.rc4, MAX_PAD))
    waitsOnEveryTruncation(() => new MseInitiator(initiatorOptions), answer)
  })

  it("throws only on a caller's mistake", () => {
    expect(() => new MseInitiator({ ...initiatorOptions, infoHash: new Uint8Array(19) })).toThrow(RangeError)
    expect(() => new MseInitiator({ ...initiatorOptions, provide: { plaintext: false, rc4: false } })).toThrow(RangeError)
    expect(() => new MseInitiator({ ...initiatorOptions, initialPayload: new Uint8Array(65536) })).toThrow(RangeError)
    expect(() => new MseInitiator({ ...initiatorOptions, initialPayload: new Uint8Array(65535) })).not.toThrow()
  })
})

describe("telling a plaintext handshake from MSE", () => {
  const header = new Uint8Array(Buffer.from("\x13BitTorrent protocol\0\0\0\0\0\x10\0\0", "latin1"))
  it("says plaintext for 19 'BitTorrent protocol', MSE for anything else, and waits while it can't tell", () => {
    expect(looksLikePlaintextHandshake(header)).toBe(true)
    expect(looksLikePlaintextHandshake(header.subarray(0, 20))).toBe(true)
    expect(looksLikePlaintextHandshake(header.subarray(0, 19))).toBeUndefined()
    expect(looksLikePlaintextHandshake(header.subarray(0, 1))).toBeUndefined()
    expect(looksLikePlaintextHandshake(new Uint8Array(0))).toBeUndefined()
    expect(looksLikePlaintextHandshake(Uint8Array.from([0x13, 0x42, 0x69, 0x74, 0x00]))).toBe(false)
    expect(looksLikePlaintextHandshake(Uint8Array.from([0x14]))).toBe(false)
    expect(looksLikePlaintextHandshake(keyA.publicKey)).toBe(false)
  })
})
