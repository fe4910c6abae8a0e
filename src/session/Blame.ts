import { createHash } from "node:crypto"
import { BLOCK_SIZE } from "../piece/index.js"

interface Suspect<Peer> {
  readonly peer: Peer
  readonly block: number
  readonly digest: string
}

const digest = (bytes: Uint8Array): string => createHash("sha1").update(bytes).digest("hex")

/**
 * Who to blame for a piece that fails its hash check, in plain code beside the piece picker.
 *
 * A failed piece whose blocks all came from one peer convicts that peer. A failed piece with blocks from several
 * peers convicts no one yet: blaming all of them gets honest peers banned alongside the liar, and with them the
 * download stalls. Instead the hash of each of its blocks is kept with the block's sender; when the piece later
 * verifies, a peer whose block differs from the good data is proven to have lied (libtorrent's "smart ban").
 *
 * Memory: one sender per block of pieces in flight, and 20 bytes per block of failed pieces until they verify.
 */
export class Blame<Peer> {
  /** Who sent each accepted block of pieces being assembled or waiting for their hash check. */
  private readonly senders = new Map<number, Array<Peer | undefined>>()
  /** The data of complete pieces waiting for their hash check (the buffers already exist; no copy). */
  private readonly pending = new Map<number, Uint8Array>()
  /** For mixed pieces that failed: per failed attempt, each block's sender and digest. */
  private readonly suspects = new Map<number, Array<ReadonlyArray<Suspect<Peer>>>>()

  /** `peer`'s block at `begin` of piece `index` was accepted. */
  received(peer: Peer, index: number, begin: number): void {
    let senders = this.senders.get(index)
    if (senders === undefined) {
      senders = []
      this.senders.set(index, senders)
    }
    senders[begin / BLOCK_SIZE] = peer
  }

  /** Who sent block `block` of piece `index` (in flight or waiting for its check), if anyone. */
  senderOf(index: number, block: number): Peer | undefined {
    return this.senders.get(index)?.[block]
  }

  /** Piece `index` was given up before it was whole (now skipped): its blocks are discarded. */
  abandoned(index: number): void {
    this.senders.delete(index)
  }

  /** Piece `index` is whole, with `data`, and goes to be hashed. */
  completed(index: number, data: Uint8Array): void {
    this.pending.set(index, data)
  }

  /** Piece `index` failed its hash check. Returns the peers this convicts: its only sender, if it had one. */
  failed(index: number): ReadonlyArray<Peer> {
    const senders = this.senders.get(index) ?? []
    const data = this.pending.get(index)
    this.senders.delete(index)
    this.pending.delete(index)
    const distinct = new Set(senders.filter((peer): peer is Peer => peer !== undefined))
    if (distinct.size <= 1 || data === undefined) return [...distinct]
    const attempt = senders.flatMap((peer, block) =>
      peer === undefined ? [] : [{ peer, block, digest: digest(data.subarray(block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE)) }]
    )
    const attempts = this.suspects.get(index)
    if (attempts === undefined) this.suspects.set(index, [attempt])
    else attempts.push(attempt)
    return []
  }

  /**
   * Piece `index` verified with `data`. Returns the peers whose blocks of earlier failed attempts differ from it:
   * once per attempt they spoiled.
   */
  verified(index: number, data: Uint8Array): ReadonlyArray<Peer> {
    this.senders.delete(index)
    this.pending.delete(index)
    const attempts = this.suspects.get(index)
    if (attempts === undefined) return []
    this.suspects.delete(index)
    const convicted: Array<Peer> = []
    for (const attempt of attempts) {
      const liars = new Set<Peer>()
      for (const { block, digest: sent, peer } of attempt) {
        if (digest(data.subarray(block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE)) !== sent) liars.add(peer)
      }
      convicted.push(...liars)
    }
    return convicted
  }
}
