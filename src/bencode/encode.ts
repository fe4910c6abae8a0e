import type { BValue } from "./value.js"

/**
 * What `encode` accepts: the decoded model (`BValue`) plus conveniences for building messages. Text strings are
 * encoded as UTF-8. Dictionary keys are binary strings (one character per byte, see `BValue`), from a `Map` or a
 * plain object; entries whose value is `undefined` are left out, which suits optional fields.
 */
export type Bencodable =
  | BValue
  | string
  | ReadonlyArray<Bencodable>
  | ReadonlyMap<string, Bencodable | undefined>
  | { readonly [key: string]: Bencodable | undefined }

const ascii = (text: string): Uint8Array => Buffer.from(text, "latin1")

/**
 * Encodes a value as canonical bencode: dictionary keys sorted bytewise. A non-integer or unsafe number, or a key
 * with a character above U+00FF, is a programming error and throws.
 */
export const encode = (value: Bencodable): Uint8Array => {
  const chunks: Array<Uint8Array> = []
  write(value, chunks)
  return Buffer.concat(chunks)
}

const write = (value: Bencodable, out: Array<Uint8Array>): void => {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new RangeError(`bencode: ${value} is not a safe integer`)
    out.push(ascii(`i${value}e`))
  } else if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8")
    out.push(ascii(`${bytes.length}:`), bytes)
  } else if (value instanceof Uint8Array) {
    out.push(ascii(`${value.length}:`), value)
  } else if (Array.isArray(value)) {
    out.push(ascii("l"))
    for (const item of value as ReadonlyArray<Bencodable>) write(item, out)
    out.push(ascii("e"))
  } else {
    const entries = value instanceof Map
      ? [...(value as ReadonlyMap<string, Bencodable | undefined>)]
      : Object.entries(value as { readonly [key: string]: Bencodable | undefined })
    // Binary-string keys compare by code unit, which for characters <= U+00FF is the bytewise order BEP 3 wants.
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    out.push(ascii("d"))
    for (const [key, item] of entries) {
      if (item === undefined) continue
      if (/[^\x00-\xff]/.test(key)) throw new RangeError(`bencode: key ${JSON.stringify(key)} is not a binary string`)
      out.push(ascii(`${key.length}:`), ascii(key))
      write(item, out)
    }
    out.push(ascii("e"))
  }
}
