/**
 * The bencode data model (BEP 3).
 *
 * - byte strings are `Uint8Array` views into the decoded input (no copy);
 * - integers are JavaScript numbers, limited to the safe-integer range (every integer BitTorrent uses fits);
 * - lists are arrays;
 * - dictionaries are `Map`s whose keys are *binary strings*: one UTF-16 code unit per byte (latin1). That keeps
 *   keys exact for any bytes, makes string order equal to the bytewise order BEP 3 sorts by, and lets ASCII keys
 *   such as `"info"` be looked up as written.
 */
export type BValue = Uint8Array | number | BList | BDict
export interface BList extends ReadonlyArray<BValue> {}
export interface BDict extends ReadonlyMap<string, BValue> {}

/** The byte range `[start, end)` a value occupied in the input it was decoded from. */
export interface Span {
  readonly start: number
  readonly end: number
}

export const isBytes = (value: BValue | undefined): value is Uint8Array => value instanceof Uint8Array

export const isInteger = (value: BValue | undefined): value is number => typeof value === "number"

export const isList = (value: BValue | undefined): value is BList => Array.isArray(value)

export const isDict = (value: BValue | undefined): value is BDict => value instanceof Map
