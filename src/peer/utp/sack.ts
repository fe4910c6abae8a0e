/**
 * The selective ACK bitmask (BEP 29, extension 1): bit i of the mask (least significant bit of byte 0 first)
 * acknowledges ack_nr + 2 + i; ack_nr + 1 is the packet missing. The mask is a whole number of 4-byte words.
 */
import { MAX_SACK_LENGTH } from "./packet.js"
import { seqAdd, seqDiff } from "./seq.js"

/** The most packets one selective ACK can name. */
export const MAX_SACK_BITS = MAX_SACK_LENGTH * 8

/**
 * The mask for the packets `held` (sequence numbers received past ack_nr + 1), as short as it can be, or undefined
 * if none of them is among the MAX_SACK_BITS the mask can name. Takes time in the number held, not in the mask's
 * length: it runs for every packet sent while a gap is open.
 */
export const encodeSack = (ackNr: number, held: Iterable<number>): Uint8Array | undefined => {
  let last = -1
  const bits: Array<number> = []
  for (const seq of held) {
    const i = seqDiff(seq, ackNr) - 2
    if (i < 0 || i >= MAX_SACK_BITS) continue
    bits.push(i)
    if (i > last) last = i
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
