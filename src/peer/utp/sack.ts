/**
 * The selective ACK bitmask (BEP 29, extension 1): bit i of the mask (least significant bit of byte 0 first)
 * acknowledges ack_nr + 2 + i; ack_nr + 1 is the packet missing. The mask is a whole number of 4-byte words.
 */
import { MAX_SACK_LENGTH } from "./packet.js"
import { seqAdd } from "./seq.js"

/** The most packets one selective ACK can name. */
export const MAX_SACK_BITS = MAX_SACK_LENGTH * 8

/**
 * The mask for the packets after ack_nr + 1 that `received` says we hold, as short as it can be, or undefined if
 * there is none among the first MAX_SACK_BITS.
 */
export const encodeSack = (ackNr: number, received: (seq: number) => boolean): Uint8Array | undefined => {
  let last = -1
  const bits: Array<number> = []
  for (let i = 0; i < MAX_SACK_BITS; i++) {
    if (received(seqAdd(ackNr, 2 + i))) {
      bits.push(i)
      last = i
    }
  }
  if (last < 0) return undefined
  const mask = new Uint8Array(Math.ceil((last + 1) / 32) * 4)
  for (const i of bits) mask[i >> 3]! |= 1 << (i & 7)
  return mask
}

/** The sequence numbers a mask acknowledges, in order. */
export const sackedSeqs = (ackNr: number, mask: Uint8Array): Array<number> => {
  const seqs: Array<number> = []
  for (let i = 0; i < mask.length * 8; i++) if ((mask[i >> 3]! >> (i & 7)) & 1) seqs.push(seqAdd(ackNr, 2 + i))
  return seqs
}
