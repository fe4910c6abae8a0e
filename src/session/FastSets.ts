import { Bitfield } from "../piece/index.js"
import { ALLOWED_FAST_COUNT, allowedFastSet } from "../wire/index.js"

/** Allowed-fast pieces (BEP 6) we take from one peer; more are ignored. */
export const MAX_ALLOWED_FAST = 32

/**
 * The BEP 6 allowed-fast bookkeeping of one link, in plain code: the pieces the peer may request from us while we
 * choke it (the canonical set for its address), and those it lets us request while it chokes us.
 */
export class FastSets {
  /** Pieces this peer may request from us while choked. */
  private allowedOut: ReadonlySet<number> = new Set()
  /** Pieces the peer lets us request while it chokes us (at most MAX_ALLOWED_FAST). */
  private readonly allowedIn = new Set<number>()

  constructor(private readonly pieceCount: number) {}

  /**
   * Makes the peer's allowed-fast set from its address (`host`) and the info-hash. Returns the pieces of it that
   * we have, to announce now.
   */
  grant(host: string, infoHash: Uint8Array, ours: Bitfield): Array<number> {
    const allowed = allowedFastSet(host, infoHash, this.pieceCount, ALLOWED_FAST_COUNT)
    this.allowedOut = new Set(allowed)
    return allowed.filter((index) => ours.has(index))
  }

  /** The peer may have piece `index` from us while we choke it. */
  grantedOut(index: number): boolean {
    return this.allowedOut.has(index)
  }

  /** An `allowed fast` from the peer. Whether it adds a piece (repeats, and any past MAX_ALLOWED_FAST, do not). */
  allowedByPeer(index: number): boolean {
    if (this.allowedIn.size >= MAX_ALLOWED_FAST || this.allowedIn.has(index)) return false
    this.allowedIn.add(index)
    return true
  }

  /** The pieces of `peerHas` the peer allows us while it chokes us, or `undefined` if none. */
  whileChoked(peerHas: Bitfield): Bitfield | undefined {
    let bits: Bitfield | undefined
    for (const index of this.allowedIn) {
      if (!peerHas.has(index)) continue
      bits ??= new Bitfield(this.pieceCount)
      bits.set(index)
    }
    return bits
  }
}
