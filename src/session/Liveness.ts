import type { PiecePicker } from "../piece/index.js"

/** How long a link may go without a message, a block it is waiting for, or an unchoke it is waiting for. */
export interface LivenessLimits {
  readonly idleMs: number
  readonly snubMs: number
  readonly chokedMs: number
}

/** The link's side of the three timeouts: whether it is waiting on the peer, and for what. */
interface Waiting {
  readonly peerChoking: boolean
  readonly amInterested: boolean
}

/**
 * When one peer last did something that counts, for the periodic check that drops a peer that went silent, stalls
 * with our requests outstanding, or keeps us choked while it has what we need; and for anti-snubbing. The link
 * sets the times as it goes (`receivedAt` once per chunk, `progressAt` per block), plain fields, no calls.
 */
export class Liveness {
  /**
   * When the peer's last whole message (or handshake) arrived. Bytes that make no message do not count: a peer
   * dripping a byte every few seconds would otherwise hold its connection slot forever.
   */
  receivedAt: number
  /** When the peer last gave us a reason to expect blocks (unchoke, or a block): the start of a stall. */
  progressAt: number
  /** When the current stretch of being choked while interested began. */
  chokedSince: number

  constructor(now: number) {
    this.receivedAt = now
    this.progressAt = now
    this.chokedSince = now
  }

  /** Why the link should be dropped at `now`, or `undefined` while it is alive. */
  overdue<P>(now: number, limits: LivenessLimits, link: P & Waiting, picker: PiecePicker<P>): string | undefined {
    if (now - this.receivedAt > limits.idleMs) return `sent no message for ${Math.round(limits.idleMs / 1000)} s`
    if (!link.peerChoking && picker.outstanding(link) > 0 && now - this.progressAt > limits.snubMs) {
      return `sent no block for ${Math.round(limits.snubMs / 1000)} s`
    }
    if (link.peerChoking && link.amInterested && now - this.chokedSince > limits.chokedMs) {
      return `kept us choked for ${Math.round(limits.chokedMs / 1000)} s`
    }
    return undefined
  }

  /** We want blocks from this peer but it sent none for `snubMs`: it loses its upload slot (BEP 3 anti-snubbing). */
  snubbed(now: number, snubMs: number, amInterested: boolean): boolean {
    return amInterested && now - this.progressAt > snubMs
  }
}
