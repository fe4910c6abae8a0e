/**
 * 16-bit uTP sequence numbers (seq_nr, ack_nr) with wrap-around: 0xffff + 1 = 0. Two numbers compare by the short
 * way round the circle, so a window stays meaningful across the wrap as long as it spans less than half of it.
 */

export const SEQ_MODULUS = 0x10000

/** `seq + n`, wrapped to 16 bits (n may be negative). */
export const seqAdd = (seq: number, n: number): number => (seq + n) & 0xffff

/**
 * How far `a` is ahead of `b`, the short way round: in [-32768, 32767]. `seqAdd(b, seqDiff(a, b)) === a` for any
 * 16-bit a and b.
 */
export const seqDiff = (a: number, b: number): number => ((a - b + 0x8000) & 0xffff) - 0x8000

/** Whether `a` comes before `b`. */
export const seqLess = (a: number, b: number): boolean => seqDiff(a, b) < 0

/** Whether `a` comes before or is `b`. */
export const seqLessOrEqual = (a: number, b: number): boolean => seqDiff(a, b) <= 0
