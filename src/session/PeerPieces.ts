import { Bitfield } from "../piece/index.js"
import { PeerError } from "../peer/PeerError.js"
import { encodeHave } from "../wire/index.js"
import type { PeerLink } from "./PeerLink.js"
import type { Swarm } from "./Swarm.js"

/**
 * The pieces one peer has (from its bitfield, `have all` / `have none` and haves) and how many of them we want:
 * the picker learns of each, and the link's interest follows the count (interested while it is above 0). Plain
 * code, called per `have` or bitfield, never per block.
 */
export class PeerPieces {
  /** Pieces the peer has. */
  bits: Bitfield
  /** Pieces the peer has that we have not verified: we are interested while this is above 0. */
  private wanted = 0
  /** A bitfield or have arrived: a bitfield now would be out of order (BEP 3: it comes first, if at all). */
  private heardPieces = false

  constructor(private readonly link: PeerLink, private readonly swarm: Swarm) {
    this.bits = new Bitfield(swarm.pieceCount)
  }

  have(index: number): void {
    this.heardPieces = true
    this.gotHave(index)
  }

  bitfield(bytes: Uint8Array): void {
    // BEP 3 wants it first (extension handshakes, BEP 10, may precede it, as libtorrent sends them). aria2 1.36,
    // leeching, sends one after its `have`s, mid-download: take a late one as more haves, as libtorrent does.
    if (this.heardPieces) return this.gotLateBitfield(bytes)
    this.heardPieces = true
    this.gotBitfield(bytes)
  }

  /** BEP 6's `have all` / `have none`, taken as the bitfield they stand for. */
  haveAllOrNone(all: boolean): void {
    const bits = new Bitfield(this.swarm.pieceCount)
    if (all) for (let i = 0; i < this.swarm.pieceCount; i++) bits.set(i)
    this.bitfield(bits.toBytes())
  }

  private gotBitfield(bytes: Uint8Array): void {
    this.bits = Bitfield.fromBytes(bytes, this.swarm.pieceCount)
    this.swarm.picker.addPeer(this.link, this.bits)
    this.recountWanted()
    this.dropIfBothComplete()
  }

  /** Counts the peer's pieces we want (after a bitfield, or when the file selection changed) and updates interest. */
  recountWanted(): void {
    let wanted = 0
    this.bits.forEachSet((index) => {
      if (this.swarm.picker.wants(index)) wanted++
    })
    this.wanted = wanted
    this.link.updateInterest(this.wanted > 0)
  }

  /** A bitfield after haves or another bitfield: the pieces it adds count as haves; none is taken back. */
  private gotLateBitfield(bytes: Uint8Array): void {
    Bitfield.fromBytes(bytes, this.swarm.pieceCount).forEachSet((index) => {
      if (!this.link.isClosed) this.gotHave(index)
    })
  }

  private gotHave(index: number): void {
    if (this.bits.has(index)) return
    this.bits.set(index)
    this.swarm.picker.peerHave(this.link, index)
    if (this.swarm.picker.wants(index)) {
      this.wanted++
      this.link.updateInterest(this.wanted > 0)
    }
    this.dropIfBothComplete()
  }

  /** Two seeds have nothing to say to each other. */
  private dropIfBothComplete(): void {
    if (this.bits.isComplete() && this.swarm.picker.hasAll()) {
      this.link.fail(new PeerError({ reason: "NotNeeded", peer: this.link.key, detail: "both sides have every piece" }))
    }
  }

  /** We verified piece `index` (`wanted`: counted as wanted until now): tell the peer if it lacks it, re-evaluate interest. */
  weHave(index: number, wanted: boolean): void {
    if (this.bits.has(index)) {
      if (wanted) this.wanted--
      this.link.updateInterest(this.wanted > 0)
      this.dropIfBothComplete()
    } else {
      this.link.send(encodeHave(index))
    }
  }
}
