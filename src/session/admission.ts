import type { Handshake } from "../wire/index.js"

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b)

/**
 * The checks a peer's handshake passes before a swarm (a torrent's, or a magnet's metadata fetch) takes it: the
 * right info-hash, not ourselves, not an address banned, and one connection per peer id. Keeps the peer ids of
 * the peers admitted until they are released.
 */
export class Admission {
  private readonly peerIds = new Set<string>()

  constructor(
    private readonly infoHash: Uint8Array,
    private readonly ownPeerId: Uint8Array,
    /** Whether a peer's IP address is banned. */
    private readonly banned: (host: string) => boolean,
    /** A hybrid's other wire hash (its v2 info-hash cut to 20 bytes, BEP 52): peers may come by either. */
    private readonly alternate?: Uint8Array
  ) {}

  /**
   * Why the peer at `host` (its IP address) with this handshake is refused, with `also` checked after the
   * info-hash and our own id; undefined when it is admitted, its peer id then taken until `release`.
   */
  admit(host: string, handshake: Handshake, also?: () => string | undefined): string | undefined {
    if (!equalBytes(handshake.infoHash, this.infoHash) && !(this.alternate !== undefined && equalBytes(handshake.infoHash, this.alternate))) {
      return "handshake for another torrent"
    }
    if (equalBytes(handshake.peerId, this.ownPeerId)) return "connected to ourselves"
    const other = also?.()
    if (other !== undefined) return other
    const id = Buffer.from(handshake.peerId).toString("hex")
    if (this.peerIds.has(id)) return "already connected to this peer"
    if (this.banned(host)) return "banned"
    this.peerIds.add(id)
    return undefined
  }

  /** A peer admitted left: its peer id may connect again. */
  release(peerId: Uint8Array | undefined): void {
    if (peerId !== undefined) this.peerIds.delete(Buffer.from(peerId).toString("hex"))
  }
}
