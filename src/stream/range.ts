/**
 * HTTP `Range` for one resource of known size (RFC 9110 §14): pure. Only single byte ranges are served; a header we
 * do not serve (another unit, several ranges, bad syntax) is ignored, as the RFC allows, and the whole resource is
 * sent with 200. A range that starts past the end is unsatisfiable (416).
 */

export type RangeAnswer =
  /** No Range, or one we ignore: 200 with the whole resource. */
  | { readonly _tag: "Whole" }
  /** 206: bytes `start` to `end`, inclusive. */
  | { readonly _tag: "Partial"; readonly start: number; readonly end: number }
  /** 416, with `Content-Range: bytes *\/size`. */
  | { readonly _tag: "Unsatisfiable" }

const WHOLE: RangeAnswer = { _tag: "Whole" }
const UNSATISFIABLE: RangeAnswer = { _tag: "Unsatisfiable" }

/** At most this many characters of a Range header are looked at; a longer one is ignored. */
const MAX_HEADER = 200

const SINGLE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i

/** What to answer a request with this `Range` header for a resource of `size` bytes. */
export const parseRange = (header: string | undefined, size: number): RangeAnswer => {
  if (header === undefined || header.length > MAX_HEADER) return WHOLE
  const match = SINGLE.exec(header.trim())
  if (match === null) return WHOLE // another unit, several ranges, or not a range at all
  const [, first = "", last = ""] = match
  if (first === "" && last === "") return WHOLE
  if (first === "") {
    // A suffix: the last n bytes.
    const n = Number(last)
    if (n === 0 || size === 0) return UNSATISFIABLE
    return { _tag: "Partial", start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(first)
  if (last !== "" && Number(last) < start) return WHOLE // invalid: ignored (RFC 9110 §14.1.1)
  if (!Number.isSafeInteger(start) || start >= size) return UNSATISFIABLE
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1)
  return { _tag: "Partial", start, end }
}

/** The `Content-Range` value for an answer. */
export const contentRange = (answer: RangeAnswer, size: number): string | undefined =>
  answer._tag === "Partial"
    ? `bytes ${answer.start}-${answer.end}/${size}`
    : answer._tag === "Unsatisfiable"
    ? `bytes */${size}`
    : undefined
