import * as Data from "effect/Data"
export type BencodeErrorReason =
  | "UnexpectedEnd"
  | "UnexpectedByte"
  | "InvalidInteger"
  | "IntegerOutOfRange"
  | "InvalidStringLength"
  | "KeyNotString"
  | "DuplicateKey"
  | "UnsortedKeys"
  | "TooDeep"
  | "TrailingBytes"

/** Input that is not valid bencode, with the byte offset where decoding stopped. */
export class BencodeError extends Data.TaggedError("BencodeError")<{
  readonly reason: BencodeErrorReason
  readonly offset: number
  readonly detail: string
}> {
  override get message(): string {
    return `invalid bencode at byte ${this.offset}: ${this.detail}`
  }
}
