/**
 * DHT node ids (BEP 5): 160-bit numbers held as 20 big-endian bytes, the same space as info-hashes. Closeness is
 * the XOR of two ids read as an unsigned integer. Pure, apart from the default random source.
 */
import { randomBytes } from "node:crypto"

export const NODE_ID_LENGTH = 20
export const NODE_ID_BITS = 160

/** 20 bytes. A plain `Uint8Array` so ids and info-hashes mix freely; `isNodeId` checks the length. */
export type NodeId = Uint8Array

/** `size` random bytes. Injected where ids are drawn, so tests are deterministic. */
export type RandomBytes = (size: number) => Uint8Array

const cryptoRandom: RandomBytes = (size) => new Uint8Array(randomBytes(size))

/** Whether `value` is 20 bytes. (Not a type guard: a `Uint8Array` of another length is still a `Uint8Array`.) */
export const isNodeId = (value: unknown): boolean => value instanceof Uint8Array && value.length === NODE_ID_LENGTH

/** `a XOR b`, the Kademlia distance, as 20 bytes. */
export const xorDistance = (a: NodeId, b: NodeId): Uint8Array => {
  const out = new Uint8Array(NODE_ID_LENGTH)
  for (let i = 0; i < NODE_ID_LENGTH; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** Unsigned big-endian order: negative when `a < b`, 0 when equal, positive when `a > b`. */
export const compareIds = (a: NodeId, b: NodeId): number => {
  for (let i = 0; i < NODE_ID_LENGTH; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return 0
}

export const equalIds = (a: NodeId, b: NodeId): boolean => compareIds(a, b) === 0

/**
 * Which of `a` and `b` is closer to `target`: negative when `a` is, positive when `b` is, 0 when they are the same
 * id. Allocates nothing, for sorting.
 */
export const compareDistance = (target: NodeId, a: NodeId, b: NodeId): number => {
  for (let i = 0; i < NODE_ID_LENGTH; i++) {
    const da = a[i]! ^ target[i]!
    const db = b[i]! ^ target[i]!
    if (da !== db) return da - db
  }
  return 0
}

/**
 * How many leading bits `own` and `other` share: 0 (they differ in the top bit, the far half of the space) to 160
 * (the same id). In a routing table split only around `own`, this is the index of the bucket `other` falls in,
 * counted from the far end.
 */
export const bucketIndex = (own: NodeId, other: NodeId): number => {
  for (let i = 0; i < NODE_ID_LENGTH; i++) {
    const x = own[i]! ^ other[i]!
    if (x !== 0) return i * 8 + Math.clz32(x) - 24
  }
  return NODE_ID_BITS
}

/** Bit `bit` of `id`, counted from the most significant (bit 0 is the top bit of byte 0). */
export const bitAt = (id: NodeId, bit: number): number => (id[bit >> 3]! >> (7 - (bit & 7))) & 1

/** A copy of `id` with bit `bit` (counted as in `bitAt`) flipped. */
export const flipBit = (id: NodeId, bit: number): NodeId => {
  const out = Uint8Array.from(id)
  out[bit >> 3] = out[bit >> 3]! ^ (0x80 >> (bit & 7))
  return out
}

/** A fresh random id (BEP 5: chosen at random from the whole space). */
export const randomNodeId = (random: RandomBytes = cryptoRandom): NodeId => Uint8Array.from(random(NODE_ID_LENGTH))

/** A random id whose first `bits` bits (0 to 160) are those of `prefix`: a random point in that prefix's range. */
export const randomIdWithPrefix = (prefix: NodeId, bits: number, random: RandomBytes = cryptoRandom): NodeId => {
  const out = randomNodeId(random)
  const whole = bits >> 3
  out.set(prefix.subarray(0, whole))
  const rest = bits & 7
  if (rest > 0) {
    const mask = (0xff << (8 - rest)) & 0xff
    out[whole] = (prefix[whole]! & mask) | (out[whole]! & ~mask & 0xff)
  }
  return out
}

/**
 * A random id sharing exactly `shared` leading bits with `own` (0 to 159): a random point in the range of bucket
 * `shared` of `own`'s table, for refreshing that bucket.
 */
export const randomIdSharing = (own: NodeId, shared: number, random: RandomBytes = cryptoRandom): NodeId =>
  randomIdWithPrefix(flipBit(own, shared), shared + 1, random)

/** Lower-case hex, 40 characters: for map keys and logs. */
export const nodeIdHex = (id: NodeId): string => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex")
