import { assert, describe, it } from "@effect/vitest"
import { contentRange, parseRange } from "../../src/stream/range.js"

describe("parseRange", () => {
  const size = 1000
  it("serves the whole resource without a Range", () => {
    assert.deepStrictEqual(parseRange(undefined, size), { _tag: "Whole" })
  })
  it("reads bytes=a-b, a- and -n", () => {
    assert.deepStrictEqual(parseRange("bytes=0-499", size), { _tag: "Partial", start: 0, end: 499 })
    assert.deepStrictEqual(parseRange("bytes=500-", size), { _tag: "Partial", start: 500, end: 999 })
    assert.deepStrictEqual(parseRange("bytes=-100", size), { _tag: "Partial", start: 900, end: 999 })
    assert.deepStrictEqual(parseRange("BYTES = 10 - 20", size), { _tag: "Partial", start: 10, end: 20 })
  })
  it("clamps an end past the resource and a suffix longer than it", () => {
    assert.deepStrictEqual(parseRange("bytes=900-5000", size), { _tag: "Partial", start: 900, end: 999 })
    assert.deepStrictEqual(parseRange("bytes=-5000", size), { _tag: "Partial", start: 0, end: 999 })
    assert.deepStrictEqual(parseRange("bytes=999-999", size), { _tag: "Partial", start: 999, end: 999 })
  })
  it("answers a start past the end, and an empty suffix, as unsatisfiable", () => {
    assert.deepStrictEqual(parseRange("bytes=1000-", size), { _tag: "Unsatisfiable" })
    assert.deepStrictEqual(parseRange("bytes=5000-6000", size), { _tag: "Unsatisfiable" })
    assert.deepStrictEqual(parseRange("bytes=-0", size), { _tag: "Unsatisfiable" })
    assert.deepStrictEqual(parseRange("bytes=0-", 0), { _tag: "Unsatisfiable" })
    assert.deepStrictEqual(parseRange("bytes=-5", 0), { _tag: "Unsatisfiable" })
    assert.deepStrictEqual(parseRange("bytes=99999999999999999999999-", size), { _tag: "Unsatisfiable" })
  })
  it("ignores what it does not serve: several ranges, other units, bad syntax, backwards ranges", () => {
    for (
      const header of [
        "bytes=0-1,5-6",
        "items=0-5",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=5-1",
        "bytes=1.5-2",
        "bytes 0-5",
        "0-5",
        "bytes=--5",
        `bytes=0-${"9".repeat(300)}`
      ]
    ) assert.deepStrictEqual(parseRange(header, size), { _tag: "Whole" }, header)
  })
  it("writes Content-Range", () => {
    assert.strictEqual(contentRange({ _tag: "Partial", start: 0, end: 9 }, size), "bytes 0-9/1000")
    assert.strictEqual(contentRange({ _tag: "Unsatisfiable" }, size), "bytes */1000")
    assert.strictEqual(contentRange({ _tag: "Whole" }, size), undefined)
  })
})
