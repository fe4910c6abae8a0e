/** Fuzzing the resume-state decoder: a damaged resume file must only ever cost a recheck. */
import * as Either from "effect/Either"
import fc from "fast-check"
import { describe } from "vitest"
import { decodeResume, encodeResume, type ResumeState } from "../../src/resume/index.js"
import { ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

const states: fc.Arbitrary<ResumeState> = fc.integer({ min: 1, max: 200 }).chain((pieceCount) =>
  fc.record({
    infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    pieceCount: fc.constant(pieceCount),
    bitfield: fc.uint8Array({ minLength: Math.ceil(pieceCount / 8), maxLength: Math.ceil(pieceCount / 8) }),
    files: fc.array(
      fc.option(fc.record({ size: fc.nat(), mtimeMs: fc.integer({ min: 0, max: 2 ** 42 }) }), { nil: undefined }),
      { maxLength: 4 }
    ),
    peers: fc.array(fc.constantFrom("127.0.0.1:6881", "[::1]:51413", "10.0.0.2:1"), { maxLength: 3 })
  })
)

describe("fuzz: resume state", () => {
  fuzzTarget("resume state decode", fuzzInputs(states.map(encodeResume)), (bytes) => {
    const result = decodeResume(bytes)
    if (Either.isLeft(result)) {
      ensure(typeof result.left === "string", "the error is a reason")
      return false
    }
    const state = result.right
    ensure(state.infoHash.length === 20, "a 20-byte info-hash")
    ensure(Number.isSafeInteger(state.pieceCount) && state.pieceCount > 0, "a piece count")
    ensure(state.bitfield.length === Math.ceil(state.pieceCount / 8), "a bitfield of the right size")
    for (const file of state.files) ensure(file === undefined || file.size >= 0, "file sizes are not negative")
    for (const peer of state.peers) ensure(typeof peer === "string", "peers are text")
    // A state read back is one we can write again.
    ensure(Either.isRight(decodeResume(encodeResume(state))), "it survives a round trip")
    return true
  })
})
