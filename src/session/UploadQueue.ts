import { encodePieceHeader, encodeReject, MAX_BLOCK } from "../wire/index.js"
import type { PeerLink } from "./PeerLink.js"
import type { Swarm } from "./Swarm.js"

/**
 * Requests from one peer we queue at most; more are ignored. 500, as libtorrent allows: comfortably above the
 * deepest pipeline we keep ourselves (MAX_REQUEST_DEPTH), so two bt peers never lose requests to each other.
 */
export const MAX_QUEUED_REQUESTS = 500
/** Out-of-place requests (while choked, for pieces we lack) tolerated before the peer is dropped. */
export const MAX_BAD_REQUESTS = 64
/** Pieces of a peer's queued requests read ahead of their turn, counting the one being served. */
const READ_AHEAD_PIECES = 3
/** Queued requests looked through for them: a 1 MiB piece is 64 requests. */
const READ_AHEAD_SCAN = 200

interface Queued {
  readonly index: number
  readonly begin: number
  readonly length: number
}

/**
 * Serving one peer, in plain code: its requests in order, each block sent as a view of the cached piece while the
 * socket keeps up, the pieces of the next few requests read ahead so the socket never idles on a read, and BEP 6
 * rejects for what we will not serve.
 */
export class UploadQueue {
  /** The peer's requests, in order, waiting for their piece to be read or for the socket to drain. */
  private readonly queue: Array<Queued> = []
  private badRequests = 0

  constructor(private readonly link: PeerLink, private readonly swarm: Swarm) {}

  /**
   * A request: queued if it is one we can honour. Requests while the peer is choked arrive normally for a moment
   * after a choke; requests for pieces we lack or past a piece's end do not. Either kind, repeated, drops the peer.
   */
  requested(index: number, begin: number, length: number): void {
    const { link } = this
    const picker = this.swarm.picker
    if (length === 0 || length > MAX_BLOCK || begin + length > picker.pieceSize(index)) {
      return link.protocolError(`bad request: piece ${index}, ${length} bytes at ${begin}`)
    }
    const choked = link.amChoking && !link.fastSets.grantedOut(index)
    if (choked || !picker.hasPiece(index)) {
      // BEP 6: every request we drop is rejected, so the peer can ask someone else at once.
      if (link.fast) link.send(encodeReject(index, begin, length))
      if (++this.badRequests > MAX_BAD_REQUESTS) {
        link.protocolError(choked ? "kept requesting while choked" : "kept requesting pieces we do not have")
      }
      return
    }
    if (this.queue.length >= MAX_QUEUED_REQUESTS) {
      if (link.fast) link.send(encodeReject(index, begin, length))
      return
    }
    this.queue.push({ index, begin, length })
    this.serve()
  }

  cancelled(index: number, begin: number, length: number): void {
    const at = this.queue.findIndex((q) => q.index === index && q.begin === begin && q.length === length)
    if (at !== -1) this.queue.splice(at, 1)
  }

  /**
   * Sends queued blocks while the socket keeps up. A block whose piece is not in memory yet asks the swarm to read
   * it; the swarm calls `serve` again when it is there.
   */
  serve(): void {
    const { link } = this
    link.connection.cork()
    // Choking purged the queue of all but allowed-fast requests: what is queued may be served.
    while (this.queue.length > 0 && !link.writeBlocked && !link.isClosed) {
      const next = this.queue[0]!
      const piece = this.swarm.cachedPiece(next.index, link)
      if (piece === undefined) break
      this.queue.shift()
      link.send(encodePieceHeader(next.index, next.begin, next.length))
      // The block goes out as a view of the cached piece, lent until the socket has sent it (see `CachedPiece`).
      if (!link.isClosed) link.afterWrite(link.connection.write(piece.data.subarray(next.begin, next.begin + next.length), piece.lend()))
      link.uploaded += next.length
      link.upload.add(next.length)
      this.swarm.uploaded += next.length
    }
    this.readAhead()
    link.connection.uncork()
  }

  /**
   * Asks for the pieces of the next few queued requests to be read now, while the socket is busy with the blocks
   * before them: otherwise it would idle while each piece is read, once its turn comes.
   */
  private readAhead(): void {
    let pieces = 0
    let last = -1
    const scan = Math.min(this.queue.length, READ_AHEAD_SCAN)
    for (let i = 0; i < scan && pieces < READ_AHEAD_PIECES; i++) {
      const index = this.queue[i]!.index
      if (index === last) continue
      last = index
      pieces++
      if (!this.swarm.readAhead(index)) return
    }
  }

  /**
   * We choked the peer: BEP 3 says its pending requests are then discarded. With BEP 6 each is rejected instead,
   * except those for allowed-fast pieces, which are still served.
   */
  choked(): void {
    const { link } = this
    if (!link.fast) {
      this.queue.length = 0
      return
    }
    const kept = this.queue.filter((q) => link.fastSets.grantedOut(q.index))
    for (const q of this.queue) if (!link.fastSets.grantedOut(q.index)) link.send(encodeReject(q.index, q.begin, q.length))
    this.queue.splice(0, this.queue.length, ...kept)
  }
}
