import * as Either from "effect/Either"
import { type BDict, type BValue, decode, isDict, isInteger } from "../bencode/index.js"
import { WireError } from "./WireError.js"

/** Internal helpers shared by the BEP 10 extension codecs. */

export const badExtension = (detail: string): WireError => new WireError({ reason: "BadExtension", detail })

/** The bencoded dictionary that is the whole of an extension message's payload. */
export const decodeDict = (payload: Uint8Array, what: string): BDict | WireError => {
  const decoded = decode(payload)
  if (Either.isLeft(decoded)) return badExtension(`${what}: ${decoded.left.message}`)
  return isDict(decoded.right) ? decoded.right : badExtension(`${what} is not a dictionary`)
}

export const integerIn = (value: BValue | undefined, min: number, max: number): value is number =>
  isInteger(value) && value >= min && value <= max
