/**
 * Fuzzing the MSE handshakes: the responder fed what an initiator might send (random bytes, valid openings, mutated
 * ones) and the initiator fed what a responder might answer, each cut into random chunks. Neither may throw, and
 * neither may hold more than the spec's bounds allow.
 */
import fc from "fast-check"
import { describe } from "vitest"
import {
  CryptoMethod,
  keyPairFrom,
  MAX_INITIAL_PAYLOAD,
  MAX_PAD,
  MseInitiator,
  MseResponder,
  type MseStep,
  type Pad,
  selectMethod,
  sharedSecret
} from "../../src/peer/mse/index.js"
import { encryptedHeader, streamCipher } from "../../src/peer/mse/protocol.js"
import { chunksOf, ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

const infoHash = new Uint8Array(20).fill(0x5a)
const keyA = keyPairFrom(new Uint8Array(20).fill(3))
const keyB = keyPairFrom(new Uint8Array(20).fill(4))
const secret = sharedSecret(keyA.privateKey, keyB.publicKey) as Uint8Array

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))
const padLengths = (lengths: Record<Pad, number>) => (pad: Pad) => lengths[pad]

/** What a valid initiator sends (fixed keys, so our responder's Yb fits), for a few pad lengths and payloads. */
const openings: ReadonlyArray<Uint8Array> = [
  [0, 0, undefined],
  [7, 3, new Uint8Array(68).fill(0x13)],
  [MAX_PAD, MAX_PAD, new Uint8Array(300).fill(1)],
  [100, 0, new Uint8Array(1)]
].map(([padA, padC, initialPayload]) => {
  const initiator = new MseInitiator({
    infoHash,
    provide: { plaintext: true, rc4: true },
    ...(initialPayload === undefined ? {} : { initialPayload: initialPayload as Uint8Array }),
    keyPair: keyA,
    padLength: padLengths({ A: padA as number, B: 0, C: padC as number, D: 0 })
  })
  return concat(initiator.start(), initiator.receive(keyB.publicKey).send!, new Uint8Array(16).fill(9))
})

/** What a valid responder answers our fixed initiator: Yb, PadB, step 4, some payload. */
const answers: ReadonlyArray<Uint8Array> = [
  [0, 0, CryptoMethod.rc4],
  [11, 5, CryptoMethod.plaintext],
  [MAX_PAD, MAX_PAD, CryptoMethod.rc4]
].map(([padB, padD, select]) =>
  concat(
    keyB.publicKey,
    new Uint8Array(padB!).fill(0xbb),
    encryptedHeader(new Uint8Array(0), streamCipher("keyB", secret, infoHash), select!, new Uint8Array(padD!), undefined),
    new Uint8Array(16).fill(8)
  )
)

const cases = (valid: ReadonlyArray<Uint8Array>) =>
  fc.record({
    stream: fuzzInputs(fc.constantFrom(...valid), 1400),
    cuts: fc.array(fc.nat({ max: 2048 }), { maxLength: 8 })
  })

/**
 * Feeds the chunks; checks each answer's shape, the bound on held bytes, and that an error sticks. Returns whether
 * the handshake finished.
 */
const drive = <Done>(
  machine: { receive: (chunk: Uint8Array) => MseStep<Done>; readonly buffered: number },
  chunks: ReadonlyArray<Uint8Array>,
  bound: number,
  onDone: (done: Done) => void
): boolean => {
  let fed = 0
  let error: string | undefined
  let finished = false
  for (const chunk of chunks) {
    if (finished) break
    fed += chunk.length
    const step = machine.receive(chunk)
    ensure(machine.buffered <= Math.min(fed, bound), "holds no more than it got, and within the bound")
    if (step.error !== undefined) {
      ensure(typeof step.error === "string" && step.send === undefined && step.done === undefined, "an error alone")
      ensure(error === undefined || step.error === error, "the same error after the first")
      error = step.error
      continue
    }
    ensure(error === undefined, "nothing but the error after an error")
    if (step.done !== undefined) {
      finished = true
      onDone(step.done)
    }
  }
  return finished
}

describe("fuzz: mse", () => {
  fuzzTarget("MSE responder (random chunks)", cases(openings), ({ cuts, stream }) => {
    const responder = new MseResponder({
      findTorrent: [new Uint8Array(20), infoHash],
      select: selectMethod({ plaintext: true, rc4: true }, "rc4"),
      keyPair: keyB
    })
    const bound = 96 + MAX_PAD + 20 + 20 + 14 + 2 + MAX_INITIAL_PAYLOAD
    return drive(responder, chunksOf(stream, cuts), bound, (done) => {
      ensure(Buffer.from(done.infoHash).equals(infoHash), "the torrent asked for")
      ensure(done.initialPayloadLength <= done.rest.length, "IA at the start of rest")
    })
  })

  fuzzTarget("MSE initiator (random chunks)", cases(answers), ({ cuts, stream }) => {
    const initiator = new MseInitiator({
      infoHash,
      provide: { plaintext: true, rc4: true },
      keyPair: keyA
    })
    initiator.start()
    return drive(initiator, chunksOf(stream, cuts), 96 + MAX_PAD + 8 + 6, (done) => {
      ensure(done.cipher === "rc4" || done.cipher === "plaintext", "a method we provided")
    })
  })
})
