import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { Merkle } from "../../src/metainfo/index.js"
import { layer, layerThreads, Verifier } from "../../src/verifier/index.js"

const sha1 = (data: Uint8Array) => createHash("sha1").update(data).digest()

const behaves = (name: string, verifierLayer: Layer.Layer<Verifier>) =>
  describe(name, () => {
    it.scoped("accepts data matching its hash and refuses anything else", () =>
      Effect.gen(function*() {
        const verifier = yield* Verifier
        const data = randomBytes(256 * 1024)
        expect(yield* verifier.verify(data, sha1(data))).toBe(true)
        const spoiled = Buffer.from(data)
        spoiled[12345]! ^= 1
        expect(yield* verifier.verify(spoiled, sha1(data))).toBe(false)
        // The caller's buffer is left as it was.
        expect(sha1(data).equals(sha1(Buffer.from(data)))).toBe(true)
      }).pipe(Effect.provide(verifierLayer)))

    it.scoped("answers each of many concurrent pieces with its own result", () =>
      Effect.gen(function*() {
        const verifier = yield* Verifier
        const pieces = Array.from({ length: 64 }, (_, i) => {
          const data = randomBytes(16384 + i)
          return { data, expected: i % 3 === 0 ? sha1(randomBytes(8)) : sha1(data), good: i % 3 !== 0 }
        })
        const results = yield* Effect.forEach(pieces, (p) => verifier.verify(p.data, p.expected), { concurrency: 16 })
        expect(results).toEqual(pieces.map((p) => p.good))
      }).pipe(Effect.provide(verifierLayer)))
  })

/** v2 checks (BEP 52): a piece of a large file against its piece-layer hash, a small file's piece with padding. */
const v2Cases = () => {
  const big = randomBytes(64 * 1024)
  const small = Buffer.concat([randomBytes(20_000), Buffer.alloc(64 * 1024 - 20_000)]) // the rest is padding
  const smallRoot = Merkle.fileRoot(Merkle.blockHashes(small.subarray(0, 20_000)))
  return [
    { data: big, expected: { sha256: { root: Merkle.pieceRoot(big, 64 * 1024), dataLength: big.length, width: 4 } } },
    { data: small, expected: { sha1: sha1(small), sha256: { root: smallRoot, dataLength: 20_000, width: 2 } } },
    { data: small, expected: { sha256: { root: smallRoot, dataLength: 20_000, width: 2 } } }
  ]
}

const behavesV2 = (name: string, verifierLayer: Layer.Layer<Verifier>) =>
  describe(name, () => {
    it.scoped("checks SHA-256 merkle subtrees (v2) and both kinds at once (hybrid)", () =>
      Effect.gen(function*() {
        const verifier = yield* Verifier
        for (const { data, expected } of v2Cases()) {
          expect(yield* verifier.verify(data, expected)).toBe(true)
          const spoiled = Buffer.from(data)
          spoiled[100]! ^= 1
          expect(yield* verifier.verify(spoiled, expected)).toBe(false)
          // A flipped byte in the padding escapes the merkle check (it hashes file bytes only), not the SHA-1.
          const padded = Buffer.from(data)
          padded[padded.length - 1]! ^= 1
          const inData = expected.sha256.dataLength === data.length
          expect(yield* verifier.verify(padded, expected)).toBe(!inData && expected.sha1 === undefined)
        }
        expect(yield* verifier.verify(randomBytes(10), {})).toBe(false) // nothing to check against: never good
      }).pipe(Effect.provide(verifierLayer)))
  })

behavesV2("Verifier.layer, v2", layer)
behavesV2("Verifier.layerThreads, v2", layerThreads(2))
behaves("Verifier.layer (calling thread)", layer)
behaves("Verifier.layerThreads (worker pool)", layerThreads(2))

describe("Verifier.layerThreads, data handed over", () => {
  it.scoped("moves a whole buffer to the worker, and copies a view into a larger one", () =>
    Effect.gen(function*() {
      const verifier = yield* Verifier
      const whole = new Uint8Array(randomBytes(64 * 1024))
      const hash = sha1(whole)
      expect(yield* verifier.verify(whole, hash, { handOver: true })).toBe(true)
      // Moved: this thread's view of it is detached.
      expect(whole.byteLength).toBe(0)
      const larger = randomBytes(8192)
      const view = larger.subarray(100, 4100)
      expect(yield* verifier.verify(view, sha1(view), { handOver: true })).toBe(true)
      // A view may share its buffer with others (Node's pool): it stays.
      expect(view.byteLength).toBe(4000)
      expect(larger.byteLength).toBe(8192)
    }).pipe(Effect.provide(layerThreads(1))))
})
