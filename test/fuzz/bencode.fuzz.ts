/** Fuzzing the bencode decoder: random bytes and mutated valid documents. */
import * as Either from "effect/Either"
import fc from "fast-check"
import { describe } from "vitest"
import { BencodeError, type BValue, decode, decodeWithSpans, encode } from "../../src/bencode/index.js"
import { ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

/** Valid bencode values, a few levels deep: integers at the safe limits, byte strings, lists, dictionaries. */
const value: fc.Arbitrary<BValue> = fc.letrec<{ value: BValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.integer(), fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER)),
    fc.uint8Array({ maxLength: 24 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.uniqueArray(fc.tuple(fc.string({ unit: "binary-ascii", maxLength: 8 }), tie("value")), {
      maxLength: 5,
      selector: ([key]) => key
    }).map((entries): BValue => new Map(entries))
  )
})).value

const validDocuments = value.map((v) => encode(v))

describe("fuzz: bencode", () => {
  fuzzTarget("bencode decode", fuzzInputs(validDocuments), (bytes) => {
    const result = decode(bytes)
    if (Either.isLeft(result)) {
      ensure(result.left instanceof BencodeError, "the error is a BencodeError")
      ensure(result.left.offset >= 0 && result.left.offset <= bytes.length, "the error's offset lies in the input")
      ensure(Either.isLeft(decodeWithSpans(bytes)), "the spans decoder refuses it too")
      return false
    }
    // What decodes re-encodes to the same bytes whenever the input had its keys in order (canonical bencode).
    const strict = decode(bytes, { requireSortedKeys: true })
    if (Either.isRight(strict)) {
      ensure(Buffer.from(encode(strict.right)).equals(bytes), "canonical input re-encodes the same")
    }
    ensure(Either.isRight(decodeWithSpans(bytes)), "the spans decoder accepts it too")
    return true
  })
})
