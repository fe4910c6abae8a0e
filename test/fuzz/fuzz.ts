/**
 * Shared pieces of the fuzz targets (`test/fuzz/*.fuzz.ts`). Each target feeds a decoder random bytes and mutated
 * valid inputs and checks that it answers with a value or its typed error: never a throw, never a hang (inputs are
 * bounded in size).
 *
 * The same files run in two sizes: a small slice (FUZZ_DEFAULT_RUNS cases per target) inside the unit project, so
 * `npm test` exercises them on every run, and a big one with `npm run fuzz` (FUZZ_RUNS, default 1,000,000). At the
 * end each file prints one line per target: "<target>: N cases in S s". FUZZ_SEED repeats a run.
 */
import fc from "fast-check"
import { afterAll, it } from "vitest"

const FUZZ_DEFAULT_RUNS = 2_000

const envInteger = (name: string): number | undefined => {
  const text = process.env[name]
  if (text === undefined || text === "") return undefined
  const value = Number(text.replace(/_/g, ""))
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name}=${text}: expected a positive integer`)
  return value
}

/** Cases per target. */
export const fuzzRuns: number = envInteger("FUZZ_RUNS") ?? FUZZ_DEFAULT_RUNS
const fuzzSeed: number | undefined = envInteger("FUZZ_SEED")

/**
 * A generous bound on a target's run time, so a hang fails the test instead of stalling the suite: the slowest
 * target (metainfo) ran ~20,000 cases a second here, all targets at once on 2 cores; allow ten times as long, and
 * at least 60 s.
 */
const timeoutFor = (runs: number): number => Math.max(60_000, Math.ceil(runs / 2))

const report: Array<string> = []
afterAll(() => {
  // One line per target, for `npm run fuzz` to show (vitest prints a file's console output with it).
  if (report.length > 0) console.log(report.join("\n"))
})

/**
 * Cases run in one go. Between slices the worker's event loop gets a turn: a worker busy for a minute on end misses
 * vitest's RPC deadline ("Timeout calling onTaskUpdate") and the run fails though every case passed (the MSE
 * targets, a Diffie-Hellman operation a case, took ~60 s for 1,000,000).
 */
const SLICE = 100_000

/**
 * Declares a fuzz target: `check` runs on `fuzzRuns` inputs from `inputs` and must not throw (it asserts on the
 * result itself); it returns whether the input was accepted (decoded to a value), so the report shows that the
 * success path was reached too. Counts the cases actually run. The cases run in slices of SLICE; with FUZZ_SEED,
 * slice k is seeded FUZZ_SEED + k (a failure's message gives its slice's seed: rerun that with FUZZ_RUNS <= SLICE).
 */
export const fuzzTarget = <A>(name: string, inputs: fc.Arbitrary<A>, check: (input: A) => boolean): void => {
  it(`${name} never throws and answers a value or its typed error`, async () => {
    let cases = 0
    let accepted = 0
    const started = performance.now()
    const property = fc.property(inputs, (input) => {
      cases++
      if (check(input)) accepted++
    })
    for (let slice = 0; slice * SLICE < fuzzRuns; slice++) {
      if (slice > 0) await new Promise((resolve) => setImmediate(resolve))
      const numRuns = Math.min(SLICE, fuzzRuns - slice * SLICE)
      fc.assert(property, { numRuns, ...(fuzzSeed === undefined ? {} : { seed: fuzzSeed + slice }) })
    }
    const seconds = (performance.now() - started) / 1000
    report.push(`${name}: ${cases} cases in ${seconds.toFixed(1)} s (${accepted} decoded to a value)`)
  }, timeoutFor(fuzzRuns))
}

/**
 * Fails the case with `what` unless `condition` holds. Cheap where vitest's `expect` costs microseconds a call,
 * which a million cases turn into minutes; fast-check reports the input that failed.
 */
export const ensure = (condition: boolean, what: string): void => {
  if (!condition) throw new Error(what)
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs

/** Bytes that matter to the formats fuzzed here: bencode's markers and digits, and the usual edge values. */
const interesting = [
  0x00, 0x01, 0x13, 0x7f, 0x80, 0xff,
  ...Buffer.from("ilde:-0123456789")
]

type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "set"; readonly at: number; readonly value: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "delete"; readonly at: number; readonly length: number }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "duplicate"; readonly at: number; readonly length: number; readonly to: number }

const position = fc.nat({ max: 0xffff })

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant("set" as const),
    at: position,
    value: fc.oneof(fc.constantFrom(...interesting), fc.integer({ min: 0, max: 255 }))
  }),
  fc.record({ kind: fc.constant("insert" as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: position }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: position,
    length: fc.integer({ min: 1, max: 64 }),
    to: position
  })
)

const apply = (input: Uint8Array, change: Mutation): Uint8Array => {
  const bytes = Buffer.from(input)
  const at = bytes.length === 0 ? 0 : change.at % (bytes.length + 1)
  switch (change.kind) {
    case "flip":
      if (at < bytes.length) bytes[at] = bytes[at]! ^ (1 << change.bit)
      return bytes
    case "set":
      if (at < bytes.length) bytes[at] = change.value
      return bytes
    case "insert":
      return Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)])
    case "delete":
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + change.length)])
    case "truncate":
      return bytes.subarray(0, at)
    case "duplicate": {
      const slice = bytes.subarray(at, at + change.length)
      const to = bytes.length === 0 ? 0 : change.to % (bytes.length + 1)
      return Buffer.concat([bytes.subarray(0, to), slice, bytes.subarray(to)])
    }
  }
}

/** A valid input with one to eight mutations applied: the inputs that get past a decoder's first checks. */
export const mutated = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 8 })).map(([bytes, changes]) =>
    new Uint8Array(changes.reduce(apply, bytes))
  )

/**
 * What a target is fed: random bytes (a quarter), valid inputs as they are (a quarter, so the success path is
 * fuzzed too) and mutated valid inputs (half).
 */
export const fuzzInputs = (valid: fc.Arbitrary<Uint8Array>, maxRandomLength = 512): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: maxRandomLength }), weight: 1 },
    { arbitrary: valid, weight: 1 },
    { arbitrary: mutated(valid), weight: 2 }
  )

/** The chunks of `stream` between the cut points (taken modulo its length + 1, sorted, repeats dropped). */
export const chunksOf = (stream: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const point of [...points, stream.length]) {
    chunks.push(stream.subarray(from, point))
    from = point
  }
  return chunks
}

/** Byte strings, mostly short. */
export const bytesArb = (maxLength = 32): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength })
