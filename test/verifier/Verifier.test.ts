import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { createHash, randomBytes } from "node:crypto"
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

behaves("Verifier.layer (calling thread)", layer)
behaves("Verifier.layerThreads (worker pool)", layerThreads(2))
