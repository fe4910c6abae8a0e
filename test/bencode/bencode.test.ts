import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import fc from "fast-check"
import { createHash } from "node:crypto"
import {
  type BencodeErrorReason,
  type BValue,
  decode,
  decodePrefix,
  decodeWithSpans,
  encode,
  isDict
} from "../../src/bencode/index.js"

const bytes = (text: string): Uint8Array => Buffer.from(text, "latin1")
const text = (value: BValue | undefined): string => Buffer.from(value as Uint8Array).toString("latin1")

const decodeOk = (input: string): BValue => Either.getOrThrow(decode(bytes(input)))

const errorOf = (input: string | Uint8Array, options?: Parameters<typeof decode>[1]) => {
  const result = decode(typeof input === "string" ? bytes(input) : input, options)
  if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(input)} to be rejected`)
  return result.left
}

describe("bencode golden vectors", () => {
  it("decodes integers", () => {
    expect(decodeOk("i0e")).toBe(0)
    expect(decodeOk("i42e")).toBe(42)
    expect(decodeOk("i-42e")).toBe(-42)
    expect(decodeOk("i9007199254740991e")).toBe(Number.MAX_SAFE_INTEGER)
    expect(decodeOk("i-9007199254740991e")).toBe(-Number.MAX_SAFE_INTEGER)
  })

  it("decodes byte strings as views, including non-UTF-8 bytes", () => {
    expect(text(decodeOk("4:spam"))).toBe("spam")
    expect(text(decodeOk("0:"))).toBe("")
    const input = new Uint8Array([0x32, 0x3a, 0xff, 0x00])
    const value = Either.getOrThrow(decode(input)) as Uint8Array
    expect([...value]).toEqual([0xff, 0x00])
    expect(value.buffer).toBe(input.buffer)
  })

  it("decodes lists and dictionaries", () => {
    const list = decodeOk("l4:spami42ee") as ReadonlyArray<BValue>
    expect(list.length).toBe(2)
    expect(text(list[0])).toBe("spam")
    expect(list[1]).toBe(42)
    const dict = decodeOk("d3:bar4:spam3:fooi42ee")
    expect(isDict(dict)).toBe(true)
    if (!isDict(dict)) return
    expect([...dict.keys()]).toEqual(["bar", "foo"])
    expect(text(dict.get("bar"))).toBe("spam")
    expect(dict.get("foo")).toBe(42)
    expect(decodeOk("le")).toEqual([])
    expect(decodeOk("de")).toEqual(new Map())
  })

  it("keeps binary dictionary keys exact", () => {
    const dict = decodeOk("d2:\xff\x01i1ee")
    expect(isDict(dict) && [...dict.keys()]).toEqual(["\xff\x01"])
    expect(Buffer.from(encode(dict)).toString("latin1")).toBe("d2:\xff\x01i1ee")
  })

  it("encodes canonically, sorting keys bytewise and skipping undefined entries", () => {
    const out = encode({ zeta: 1, alpha: "é", mid: [1, "x"], skip: undefined, "\xff": new Uint8Array([1]) })
    expect(Buffer.from(out).toString("latin1")).toBe("d5:alpha2:\xc3\xa93:midli1e1:xe4:zetai1e1:\xff1:\x01e")
  })

  it("refuses to encode what bencode cannot carry", () => {
    expect(() => encode(1.5)).toThrow(RangeError)
    expect(() => encode(2 ** 60)).toThrow(RangeError)
    expect(() => encode({ "☃": 1 })).toThrow(RangeError)
  })
})

describe("bencode rejects what BEP 3 forbids, with the offset", () => {
  const cases: ReadonlyArray<readonly [string, BencodeErrorReason, number]> = [
    ["i03e", "InvalidInteger", 0],
    ["i-0e", "InvalidInteger", 0],
    ["ie", "InvalidInteger", 0],
    ["i-e", "InvalidInteger", 0],
    ["i1x2e", "InvalidInteger", 2],
    ["i9007199254740992e", "IntegerOutOfRange", 0],
    ["i12", "UnexpectedEnd", 3],
    ["05:hello", "InvalidStringLength", 0],
    ["5:hell", "UnexpectedEnd", 0],
    ["99999999999999999999:x", "IntegerOutOfRange", 0],
    ["3", "UnexpectedEnd", 1],
    ["l4:spam", "UnexpectedEnd", 7],
    ["d3:fooi1e", "UnexpectedEnd", 9],
    ["d3:foo", "UnexpectedEnd", 6],
    ["di1ei2ee", "KeyNotString", 1],
    ["d1:ai1e1:ai2ee", "DuplicateKey", 7],
    ["i1ei2e", "TrailingBytes", 3],
    ["4:spamx", "TrailingBytes", 6],
    ["x", "UnexpectedByte", 0],
    ["", "UnexpectedEnd", 0]
  ]
  for (const [input, reason, offset] of cases) {
    it(`${JSON.stringify(input)} → ${reason} at ${offset}`, () => {
      const error = errorOf(input)
      expect(error._tag).toBe("BencodeError")
      expect(error.reason).toBe(reason)
      expect(error.offset).toBe(offset)
      expect(error.message).toContain(`byte ${offset}`)
    })
  }

  it("accepts unsorted keys by default and rejects them on request", () => {
    expect(isDict(decodeOk("d1:bi1e1:ai2ee"))).toBe(true)
    expect(errorOf("d1:bi1e1:ai2ee", { requireSortedKeys: true }).reason).toBe("UnsortedKeys")
  })

  it("bounds nesting depth", () => {
    const deep = "l".repeat(65) + "e".repeat(65)
    expect(errorOf(deep).reason).toBe("TooDeep")
    expect(decode(bytes("l".repeat(64) + "e".repeat(64)))._tag).toBe("Right")
    expect(errorOf("llee", { maxDepth: 1 }).reason).toBe("TooDeep")
    // Far past any sane depth: a typed error, not a stack overflow.
    expect(errorOf("l".repeat(1_000_000)).reason).toBe("TooDeep")
  })
})

describe("bencode spans", () => {
  it("reports the original bytes of a nested dictionary, even when keys are unsorted", () => {
    const infoBytes = "d6:lengthi5e4:name1:x12:piece lengthi16384ee"
    const unsortedInfo = "d4:name1:x6:lengthi5e12:piece lengthi16384ee"
    for (const info of [infoBytes, unsortedInfo]) {
      const input = bytes(`d8:announce3:url4:info${info}e`)
      const decoded = Either.getOrThrow(decodeWithSpans(input))
      const root = decoded.value
      if (!isDict(root)) throw new Error("root is not a dictionary")
      const infoDict = root.get("info")
      if (!isDict(infoDict)) throw new Error("info is not a dictionary")
      const span = decoded.spanOf(infoDict)
      expect(span).toBeDefined()
      const raw = input.subarray(span!.start, span!.end)
      expect(Buffer.from(raw).toString("latin1")).toBe(info)
      expect(createHash("sha1").update(raw).digest("hex")).toBe(
        createHash("sha1").update(bytes(info)).digest("hex")
      )
      expect(decoded.spanOf(root)).toEqual({ start: 0, end: input.length })
    }
  })
})

describe("bencode prefix", () => {
  it("decodes the value at the start and says where it ends, leaving the rest", () => {
    const header = "d8:msg_typei1e5:piecei0ee"
    const input = bytes(`${header}RAW BYTES`)
    const { end, value } = Either.getOrThrow(decodePrefix(input))
    expect(end).toBe(header.length)
    expect(isDict(value) && value.get("msg_type")).toBe(1)
    expect(Either.getOrThrow(decodePrefix(bytes("i7e"))).end).toBe(3)
  })

  it("refuses what is not a value at the start, and a value cut short", () => {
    for (const input of ["", "x", "d8:msg_type", "i12"]) {
      expect(Either.isLeft(decodePrefix(bytes(input)))).toBe(true)
    }
  })
})

describe("bencode every split point", () => {
  const samples = [
    "d8:announce20:http://t.example/ann4:infod6:lengthi1234e4:name5:a.bin12:piece lengthi16384e6:pieces0:ee",
    "l i-17e 0: 3:abc d e l e e".replace(/ /g, ""),
    "i123456789e"
  ]
  for (const sample of samples) {
    it(`every strict prefix of a ${sample.length}-byte value is a typed error, never a throw`, () => {
      const full = bytes(sample)
      expect(Either.isRight(decode(full))).toBe(true)
      for (let cut = 0; cut < full.length; cut++) {
        const result = decode(full.subarray(0, cut))
        expect(Either.isLeft(result)).toBe(true)
      }
    })
  }
})

const bvalue: fc.Arbitrary<BValue> = fc.letrec<{ value: BValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.array(fc.tuple(fc.uint8Array({ maxLength: 12 }), tie("value")), { maxLength: 5 }).map(
      (entries) => new Map(entries.map(([k, v]) => [Buffer.from(k).toString("latin1"), v]))
    )
  )
})).value

/** Structural equality where byte strings compare by content. */
const same = (a: BValue, b: BValue): boolean => {
  if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.from(a).equals(b)
  if (typeof a === "number") return a === b
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]!))
  if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false
  for (const [k, v] of a) if (!b.has(k) || !same(v, b.get(k)!)) return false
  return true
}

describe("bencode properties", () => {
  it("round-trips random values, and re-encoding is byte-identical (canonical)", () => {
    fc.assert(
      fc.property(bvalue, (value) => {
        const encoded = encode(value)
        const decoded = Either.getOrThrow(decode(encoded, { requireSortedKeys: true }))
        expect(same(decoded, value)).toBe(true)
        expect(Buffer.from(encode(decoded)).equals(encoded)).toBe(true)
      }),
      { numRuns: 500 }
    )
  })

  it("random bytes give a value or a typed error, never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (input) => {
        const result = decode(input)
        if (Either.isLeft(result)) {
          expect(result.left._tag).toBe("BencodeError")
          expect(result.left.offset).toBeGreaterThanOrEqual(0)
          expect(result.left.offset).toBeLessThanOrEqual(input.length)
        }
      }),
      { numRuns: 2000 }
    )
  })

  it("mutated valid encodings give a value or a typed error, never a throw", () => {
    fc.assert(
      fc.property(
        bvalue,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (value, mutations) => {
          const input = Buffer.from(encode(value))
          if (input.length === 0) return
          for (const [at, byte] of mutations) input[at % input.length] = byte
          const result = decode(input)
          expect(Either.isLeft(result) || result.right !== undefined).toBe(true)
        }
      ),
      { numRuns: 2000 }
    )
  })
})
