import { type MerkleCheck, pieceCheck, type TorrentInfo } from "../metainfo/index.js"
import type { Endpoint } from "../net/Datagram.js"
import { formatEndpoint } from "../net/endpoint.js"
import { PeerError } from "../peer/PeerError.js"
import { Bitfield, BLOCK_SIZE, type BlockRequest, paddingBlocks, type PeerRequest, PiecePicker } from "../piece/index.js"
import { type Handshake, type HashRequest, type HolepunchMessage, PexFlag, type PexPeer, WireError } from "../wire/index.js"
import { Admission } from "./admission.js"
import type { BanList } from "./BanList.js"
import { Blame } from "./Blame.js"
import { ExternalAddresses } from "./externalAddresses.js"
import { Holepunch, type HolepunchLink } from "./holepunch.js"
import { type ChokeConfig, type ChokerState, initialChokerState, rechoke } from "./choker.js"
import { badBlocks, blockMatches, blockRequest } from "./BlockLayer.js"
import { HashExchange } from "./HashExchange.js"
import type { PeerLink } from "./PeerLink.js"
import { type CachedPiece, PieceBuffers, PieceCache } from "./PieceCache.js"
import type { WebSeedSource } from "../webseed/source.js"

/** Who blocks are requested from: a peer, or a web seed (BEP 19). */
export type Downloader = PeerLink | WebSeedSource

/** Peers asked in turn for a failed v2 piece's block hashes before it is judged as a whole. */
const BLOCK_HASH_ASKS = 3
/** Failed v2 pieces held for their block hashes at once (each keeps its buffer); past it, judged as a whole. */
const MAX_HELD = 8
/** How long a failed v2 piece may wait for its block hashes before it is judged as a whole. */
const BLOCK_HASH_WAIT_MS = 15_000

/** Pieces read ahead of their turn at once, over all peers (see `Swarm.readAhead`). */
const READ_AHEAD = 8

/** A piece whose blocks have all arrived, waiting to be hashed and written. */
export interface CompletedPiece {
  readonly index: number
  readonly data: Uint8Array
}

export interface SwarmOptions {
  readonly torrent: TorrentInfo
  readonly peerId: Uint8Array
  /** The TCP port we listen on, told to peers in the extended handshake. */
  readonly port: number
  /** Pieces verified before we start. */
  readonly have: Bitfield
  readonly now: () => number
  readonly random: () => number
  /** The session's bans and strikes, by IP address. */
  readonly bans: BanList
  /** Bytes of pieces kept in memory for serving. */
  readonly cacheBytes: number
  /** Bytes of complete pieces waiting to be verified and written past which no new blocks are requested. */
  readonly backlogBytes: number
  /** Bytes of block requests outstanding over all peers past which each peer gets only its fair share. */
  readonly outstandingBytes: number
  readonly choke: ChokeConfig
  /** Called synchronously when the last block of a piece arrives; the piece is then the callee's. */
  readonly onPieceComplete: (piece: CompletedPiece) => void
  /** Called when a peer wants a piece that is not in memory: read it, then call `pieceLoaded`. Once per piece. */
  readonly onLoadPiece: (index: number) => void
  /** Peer addresses learned through PEX. */
  readonly onPeers: (peers: ReadonlyArray<Endpoint>) => void
  /** The session's view of our own addresses (fed by `yourip`); default one of the swarm's own. */
  readonly external?: ExternalAddresses
  /** Our DHT node's UDP port, when we run one: told to peers that speak BEP 5. */
  readonly dhtPort: number | undefined
  /** A DHT node a peer told us of (BEP 5 `port` message). */
  readonly onDhtNode: (node: Endpoint) => void
  /**
   * A peer was admitted or left: how many are in now (periodic upkeep sleeps while there are none). A web seed that
   * joins or starts fetching is counted as one more.
   */
  readonly onPeerCount?: (peers: number) => void
  /** Each piece's priority (see `Priority`); default every piece wanted. */
  readonly priorities?: Uint8Array
  /** Start pieces in order (see `PiecePickerOptions.sequential`). */
  readonly sequential?: boolean
}


/**
 * A torrent's shared state, in plain code driven by its peer links: the piece picker, the pieces being assembled,
 * the pieces cached for serving, the connected peers, who is unchoked, the byte counters. Only whole pieces cross
 * into Effect: completed ones to be verified and written, missing ones to be read for serving.
 */
/** Peers remembered with the link that told us of them (for BEP 55), at most. */
const MAX_LEARNED_FROM = 1000

/** Sends BEP 3 CANCEL for requests the picker dropped (answered by another peer, timed out, no longer wanted). */
const cancel = (requests: ReadonlyArray<PeerRequest<Downloader>>): void => {
  for (const request of requests) request.peer.cancel(request.index, request.begin, request.length)
}

/** A link as holepunch sees it. */
const holepunchLink = (link: PeerLink): HolepunchLink => ({
  remote: link.connection.remote,
  listenAddress: link.extensions.listenAddress,
  speaksHolepunch: link.extensions.peer.idFor("ut_holepunch") !== undefined,
  send: (message) => link.extensions.sendHolepunch(message)
})

export class Swarm {
  readonly picker: PiecePicker<Downloader>
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
  readonly pieceCount: number
  readonly port: number
  /** The info dictionary, served to peers that ask for it (BEP 9). */
  readonly metadata: Uint8Array
  /** A private torrent (BEP 27): no PEX, no DHT. */
  readonly isPrivate: boolean
  /** Our DHT node's UDP port, when we run one and the torrent is not private. */
  readonly dhtPort: number | undefined
  readonly now: () => number
  readonly links = new Set<PeerLink>()
  /** The torrent's web seeds, set aside ones included (for progress). */
  readonly webSeeds = new Set<WebSeedSource>()
  /**
   * BEP 55: rendezvous relayed between our links, and `connect`s acted on by dialling (through `onPeers`, which
   * tries uTP first). Malformed messages are counted in `holepunchMalformed`.
   */
  readonly holepunch: Holepunch
  holepunchMalformed = 0
  /** Our own addresses as the swarm tells them (the session's, shared by its torrents). */
  readonly external: ExternalAddresses
  /** Peers named through PEX that were us (our address and port): not dialled. */
  selfSkipped = 0
  /** Who told us of each peer through PEX (while we have not reached it): the relay to ask if we cannot. */
  private readonly learnedFrom = new Map<string, PeerLink>()
  /** A v2 or hybrid torrent's BEP 52 hash messages, both ways (undefined for v1: no v2 bit, no hash messages). */
  readonly hashes: HashExchange | undefined

  /** Whether a link to this address (`keyOf`) is up. */
  hasLink(key: string): boolean {
    for (const link of this.links) if (link.key === key) return true
    return false
  }
  /** Payload bytes accepted from peers, and bytes received that we could not use. */
  downloaded = 0
  wasted = 0
  /** Payload bytes sent to peers. */
  uploaded = 0
  /** Requests sent to peers for blocks wholly in BEP 47 padding (never meant to happen: they are zeros). */
  padRequests = 0
  /** Per piece, where its padding lies in it (byte ranges), to zero a fresh buffer's; empty without padding. */
  private readonly padInPiece = new Map<number, Array<{ readonly from: number; readonly to: number }>>()
  /** Keys (piece × blocks per piece + block) of the blocks wholly in padding, for `audit`; undefined without. */
  private readonly padKeys: Set<number> | undefined
  /** Bytes of complete pieces handed on and not yet verified and written. */
  private backlog = 0
  /** v2 pieces that failed their check, waiting for their block hashes (see `pieceFailed`). */
  private readonly held = new Map<number, {
    readonly data: Uint8Array
    readonly request: HashRequest
    readonly check: MerkleCheck
    /** The peers asked so far. */
    readonly asked: Set<PeerLink>
    /** When it failed: past BLOCK_HASH_WAIT_MS without hashes it is judged as a whole. */
    readonly since: number
    /** Whether a request for them is out now. */
    pending: boolean
  }>()
  /** Block hashes of v2 pieces being fetched again: each block is checked as it arrives. */
  private readonly leaves = new Map<number, { readonly leaves: Uint8Array; readonly dataLength: number }>()

  /** Pieces being assembled, by index: allocated at their first block. */
  private readonly assembling = new Map<number, Uint8Array>()
  private readonly admission: Admission
  private readonly blame = new Blame<Downloader>()
  private readonly cache: PieceCache
  /** Buffers for pieces being assembled, recycled from the cache and from pieces that failed their check. */
  private readonly buffers: PieceBuffers
  /** Pieces being read for serving, with the links waiting for each. */
  private readonly loading = new Map<number, Set<PeerLink>>()
  private choker: ChokerState<PeerLink> = initialChokerState
  /** Pieces being read at most, counting read-ahead (see `readAhead`). */
  private readonly readAheadLimit: number

  constructor(private readonly options: SwarmOptions) {
    this.infoHash = options.torrent.infoHash
    this.peerId = options.peerId
    // A hybrid is reached by either hash; a peer that sets the v2 bit answers ours with the v2 one (BEP 52 upgrade).
    this.admission = new Admission(this.infoHash, this.peerId, (host) => options.bans.isBanned(host), this.v2Hash)
    this.pieceCount = options.torrent.pieceCount
    this.port = options.port
    this.external = options.external ?? new ExternalAddresses({ now: options.now })
    this.metadata = options.torrent.infoBytes
    this.isPrivate = options.torrent.private
    this.dhtPort = options.torrent.private ? undefined : options.dhtPort
    this.now = options.now
    this.hashes = options.torrent.v2 === undefined ? undefined : new HashExchange(options.torrent, options.now, {
      blockHashes: (piece, leaves) => this.blockHashesArrived(piece, leaves),
      blockHashesFailed: (piece) => this.blockHashesFailed(piece),
      verifiedPiece: (piece) => {
        if (!this.picker.hasPiece(piece)) return "missing"
        const cached = this.cache.get(piece)
        if (cached !== undefined) return cached.data
        if (!this.loading.has(piece)) {
          this.loading.set(piece, new Set())
          this.options.onLoadPiece(piece)
        }
        return undefined
      }
    })
    this.picker = new PiecePicker<Downloader>({
      pieceCount: options.torrent.pieceCount,
      pieceLength: options.torrent.pieceLength,
      totalLength: options.torrent.totalLength,
      random: options.random,
      have: options.have,
      ...(options.priorities === undefined ? {} : { priorities: options.priorities }),
      sequential: options.sequential === true,
      maxOutstanding: Math.max(1, Math.floor(options.outstandingBytes / BLOCK_SIZE)),
      padding: options.torrent.files.filter((file) => file.padding)
    })
    const perPiece = Math.ceil(options.torrent.pieceLength / BLOCK_SIZE)
    const padBlocks = paddingBlocks(options.torrent, options.torrent.files.filter((file) => file.padding))
    this.padKeys = padBlocks.size === 0 ? undefined : new Set()
    for (const [index, blocks] of padBlocks) {
      const ranges = blocks.map((block) => ({
        from: block * BLOCK_SIZE,
        to: Math.min((block + 1) * BLOCK_SIZE, this.picker.pieceSize(index))
      }))
      this.padInPiece.set(index, ranges)
      for (const block of blocks) this.padKeys!.add(index * perPiece + block)
    }
    // Spares are kept up to what the backlog and the pieces in assembly may hold together (about the backlog plus
    // the requests outstanding): buffers move between the two as pieces complete, and a spare dropped when the
    // pieces in assembly dip is a fresh 1 MiB allocation when they rise again (garbage the collector must chase).
    const pieceLength = options.torrent.pieceLength
    const spares = Math.ceil((options.backlogBytes + options.outstandingBytes) / pieceLength)
    this.buffers = new PieceBuffers(pieceLength, Math.max(2, spares))
    this.cache = new PieceCache(options.cacheBytes, (data) => this.buffers.give(data))
    this.readAheadLimit = Math.max(1, Math.min(READ_AHEAD, Math.floor(options.cacheBytes / pieceLength / 2)))
    this.holepunch = new Holepunch({
      now: options.now,
      findLink: (address) => {
        const key = formatEndpoint(address)
        for (const link of this.links) {
          const listen = link.extensions.listenAddress
          if (link.key === key || (listen !== undefined && formatEndpoint(listen) === key)) return holepunchLink(link)
        }
        return undefined
      },
      // A rendezvous naming us is answered "no self"; a connect naming us is ignored.
      isSelf: (address) => this.isSelf(address),
      dial: (address) => {
        options.onPeers([address])
        // The dialer bounds its own attempts; holepunch's cap bounds what one burst of connects may hand it.
        this.holepunch.dialEnded()
      }
    })
  }

  /** A BEP 55 message from a link. */
  holepunchReceived(link: PeerLink, message: HolepunchMessage | WireError): void {
    if (message instanceof WireError) this.holepunchMalformed++
    else this.holepunch.received(holepunchLink(link), message)
  }

  /** Checks a peer's handshake and, if it is welcome, adds it to the swarm. Returns why not, otherwise. */
  admit(link: PeerLink, handshake: Handshake): string | undefined {
    const refusal = this.admission.admit(link.host, handshake)
    if (refusal !== undefined) return refusal
    this.links.add(link)
    this.learnedFrom.delete(link.key)
    this.picker.addPeer(link, link.bits)
    this.options.onPeerCount?.(this.links.size)
    return undefined
  }

  /** A peer left: its requests go back to the pool and its pieces are no longer counted. */
  detach(link: PeerLink): void {
    if (!this.links.delete(link)) return
    this.options.onPeerCount?.(this.links.size)
    this.admission.release(link.peerId)
    for (const waiting of this.loading.values()) waiting.delete(link)
    if (this.choker.optimistic === link) this.choker = { ...this.choker, optimistic: undefined }
    this.picker.removePeer(link)
    this.hashes?.dropped(link)
    for (const other of this.links) other.fillRequests()
  }

  /** A web seed joins: a seed with every piece, always unchoked, that takes requests from the picker as a peer. */
  addWebSeed(seed: WebSeedSource): void {
    this.webSeeds.add(seed)
    this.picker.addPeer(seed, Bitfield.full(this.pieceCount))
    this.options.onPeerCount?.(this.links.size + 1)
  }

  /** A web seed is set aside (or the torrent stops): its requests go back to the pool; progress still shows it. */
  removeWebSeed(seed: WebSeedSource): void {
    this.picker.removePeer(seed)
    for (const link of this.links) link.fillRequests()
  }

  /** A web seed started fetching: wake the per-second upkeep if it sleeps for want of peers. */
  wake(): void {
    this.options.onPeerCount?.(this.links.size + 1)
  }

  /** Whether a web seed is fetching now: the per-second upkeep must run (its rate, its request timeouts). */
  webSeedsFetching(): boolean {
    for (const seed of this.webSeeds) if (seed.fetching > 0) return true
    return false
  }

  /** Whether `infoHash` (from a handshake) is this torrent's v2 info-hash, cut to 20 bytes. */
  isV2Hash(infoHash: Uint8Array): boolean {
    const v2 = this.options.torrent.v2
    return v2 !== undefined && Buffer.from(v2.infoHash).subarray(0, 20).equals(infoHash)
  }

  /** A hybrid's v2 info-hash cut to 20 bytes: its second wire hash (undefined for v1 and v2-only torrents). */
  get v2Hash(): Uint8Array | undefined {
    const v2 = this.options.torrent.v2
    return v2 !== undefined && v2.hybrid ? v2.infoHash.subarray(0, 20) : undefined
  }

  /** A `hashes` message from `link`: kept if it verifies (else the peer is dropped); blocks flow once all are in. */
  hashesReceived(link: PeerLink, payload: Uint8Array): void {
    const result = this.hashes!.received(link, payload)
    if (typeof result === "string") return link.protocolError(result)
    if (result) for (const other of this.links) other.fillRequests()
  }

  /** Counts requests about to be sent that ask for a block wholly in padding (see `padRequests`). */
  readonly audit = (requests: ReadonlyArray<BlockRequest>): void => {
    const keys = this.padKeys
    if (keys === undefined) return
    const perPiece = Math.ceil(this.options.torrent.pieceLength / BLOCK_SIZE)
    for (const request of requests) if (keys.has(request.index * perPiece + request.begin / BLOCK_SIZE)) this.padRequests++
  }

  /** A `piece` message (or a web seed's block): keep the block if we asked for it, and hand the piece on when it is whole. */
  blockReceived(link: Downloader, index: number, begin: number, block: Uint8Array): void {
    const result = this.picker.blockReceived(link, index, begin, block.length, this.now())
    if (!result.accepted) {
      this.wasted += block.length
      return
    }
    const known = this.leaves.get(index)
    if (known !== undefined && !blockMatches(known.leaves, known.dataLength, begin, block)) {
      // A bad block, proven by its own hash: its sender is struck and only it is fetched again.
      this.wasted += block.length
      this.hashes!.badBlocks++
      this.picker.blockFailed(index, begin / BLOCK_SIZE)
      cancel(result.cancel)
      this.strike([link])
      for (const other of this.links) other.fillRequests()
      return
    }
    this.downloaded += block.length
    link.delivered(block.length)
    let data = this.assembling.get(index)
    if (data === undefined) {
      data = this.buffers.take(this.picker.pieceSize(index))
      // Blocks in padding are never asked for: zeros, over whatever the recycled buffer held.
      for (const pad of this.padInPiece.get(index) ?? []) data.fill(0, pad.from, pad.to)
      this.assembling.set(index, data)
    }
    data.set(block, begin)
    this.blame.received(link, index, begin)
    cancel(result.cancel)
    if (result.pieceComplete) {
      this.assembling.delete(index)
      this.backlog += data.length
      this.blame.completed(index, data)
      this.options.onPieceComplete({ index, data })
    }
  }

  /**
   * Whether the disk is behind: complete pieces waiting past `backlogBytes`. Requests stop until it catches up,
   * so a download faster than the disk slows down instead of filling memory.
   */
  backlogged(): boolean {
    return this.backlog >= this.options.backlogBytes
  }

  /** Bytes of complete pieces waiting to be hashed and written: the disk queue. */
  diskQueueBytes(): number {
    return this.backlog
  }

  /** A complete piece left the backlog (written, or failed its check): resume requesting if we had stopped. */
  settled(bytes: number): void {
    const was = this.backlogged()
    this.backlog -= bytes
    if (was && !this.backlogged()) for (const link of this.links) link.fillRequests()
  }

  /**
   * The piece hashed right and is on disk: announce it and stop wanting it. It is fresh: keep it for serving.
   * Returns the peers banned because the good data proves they spoiled an earlier attempt at it.
   */
  pieceVerified(index: number, data: Uint8Array): ReadonlyArray<Downloader> {
    const wanted = this.picker.wants(index)
    this.leaves.delete(index)
    cancel(this.picker.pieceVerified(index))
    this.cache.set(index, data)
    for (const link of this.links) link.weHave(index, wanted)
    return this.strike(this.blame.verified(index, data))
  }

  /** New piece priorities (from the files'): effective at once, for what we request and whom we are interested in. */
  setPriorities(priorities: Uint8Array): void {
    // Requests taken back (pieces now skipped, a reader's old window in the way of its new one) are CANCELled
    // before the pipelines refill, so the peer drops them from its queue ahead of what is asked next.
    const released = this.picker.setPriorities(priorities)
    cancel(released.requests)
    for (const index of released.abandoned) {
      const data = this.assembling.get(index)
      if (data !== undefined) this.buffers.give(data)
      this.assembling.delete(index)
      this.blame.abandoned(index)
    }
    for (const link of this.links) link.recountWanted()
    for (const link of this.links) link.fillRequests()
  }

  // Serving

  /** Piece `index` if it is in memory; otherwise `undefined`, and `link` is served once it has been read. */
  cachedPiece(index: number, link: PeerLink): CachedPiece | undefined {
    const piece = this.cache.get(index)
    if (piece !== undefined) return piece
    const waiting = this.loading.get(index)
    if (waiting !== undefined) {
      waiting.add(link)
    } else {
      this.loading.set(index, new Set([link]))
      this.options.onLoadPiece(index)
    }
    return undefined
  }

  /**
   * Piece `index` is requested but not next in line: read it now if it is not in memory, so that it is there when
   * its turn comes instead of the socket idling while it is read. Whether it may be: at most READ_AHEAD pieces
   * are read ahead at once over all peers, and never more than half the cache, which would evict the pieces about
   * to be served.
   */
  readAhead(index: number): boolean {
    if (this.cache.has(index) || this.loading.has(index)) return true
    if (this.loading.size >= this.readAheadLimit) return false
    this.loading.set(index, new Set())
    this.options.onLoadPiece(index)
    return true
  }

  /** A buffer to read piece `index` into for serving: a recycled one where possible. */
  pieceBuffer(index: number): Uint8Array {
    return this.buffers.take(this.picker.pieceSize(index))
  }

  /** A piece read for serving: cache it and serve the peers that waited for it. */
  pieceLoaded(index: number, data: Uint8Array): void {
    this.cache.set(index, data)
    this.hashes?.pieceLoaded(index)
    const waiting = this.loading.get(index)
    this.loading.delete(index)
    if (waiting !== undefined) for (const link of waiting) link.serve()
  }

  /**
   * Decides who may download from us (BEP 3 choking): the best reciprocating interested peers and one optimistic
   * unchoke. While leeching, peers are ranked by what they give us; while seeding, by how fast they take.
   */
  rechoke(snubMs: number): void {
    const now = this.now()
    const mode = this.picker.isComplete() ? "seeding" : "leeching"
    const views = [...this.links].map((link) => ({
      peer: link,
      interested: link.peerInterested,
      downloadRate: link.download.rate,
      uploadRate: link.upload.rate,
      connectedAt: link.connectedAt,
      snubbed: link.snubbed(now, snubMs),
      unchoked: !link.amChoking
    }))
    const result = rechoke(views, this.choker, mode, now, this.options.choke, this.options.random)
    this.choker = result.state
    for (const link of this.links) {
      if (result.unchoke.has(link)) link.unchoke()
      else link.choke()
    }
  }

  /** A peer became interested: with a regular upload slot free, unchoke it now rather than at the next rechoke. */
  offerSlot(link: PeerLink): void {
    if (!link.amChoking) return
    let taken = 0
    for (const other of this.links) if (!other.amChoking && other.peerInterested) taken++
    if (taken < this.options.choke.uploadSlots) link.unchoke()
  }

  /** Upload rate over all peers, bytes per second. */
  get uploadRate(): number {
    let total = 0
    for (const link of this.links) total += link.upload.rate
    return total
  }

  /**
   * The piece hashed wrong: fetch it again, and ban peers whose data keeps failing. Its `data` is given up. Only a
   * piece from a single peer convicts at once; a mixed one is judged when it verifies (see `Blame`). Returns the
   * peers banned now. A v2 piece first waits for its block hashes (see `askBlockHashes`): then only its bad blocks
   * are fetched again and only their senders struck.
   */
  pieceFailed(index: number, data: Uint8Array): ReadonlyArray<Downloader> {
    return this.askBlockHashes(index, data) ? [] : this.failedWhole(index, data)
  }

  /** A failed piece judged as a whole: all of it is fetched again (see `Blame` for who is struck). */
  private failedWhole(index: number, data: Uint8Array): ReadonlyArray<Downloader> {
    this.leaves.delete(index)
    this.picker.pieceFailed(index)
    const banned = this.strike(this.blame.failed(index))
    this.buffers.give(data)
    for (const link of this.links) link.fillRequests()
    return banned
  }

  /**
   * A v2 piece that failed, once, with its block hashes not yet known: they are asked of a v2 peer that has the
   * piece, and the piece waits, whole, for them. Whether they were asked for.
   */
  private askBlockHashes(index: number, data: Uint8Array): boolean {
    const hashes = this.hashes
    if (hashes === undefined || this.leaves.has(index) || this.held.has(index) || this.held.size >= MAX_HELD) return false
    const check = pieceCheck(this.options.torrent, index).sha256
    const start = index * this.options.torrent.pieceLength
    const file = this.options.torrent.files.find((f) => !f.padding && f.length > 0 && f.offset <= start && start < f.offset + f.length)
    if (check === undefined || file?.piecesRoot === undefined) return false
    const request = blockRequest(file.piecesRoot, (start - file.offset) / BLOCK_SIZE, check)
    if (request === undefined) return false
    this.held.set(index, { data, request, check, asked: new Set(), since: this.now(), pending: false })
    if (this.askNextForBlocks(index)) return true
    this.held.delete(index)
    return false
  }

  /**
   * Asks the next v2 peer that has held piece `index` for its block hashes: first those that sent none of it, at
   * most BLOCK_HASH_ASKS in all. Whether one was asked.
   */
  private askNextForBlocks(index: number): boolean {
    const held = this.held.get(index)!
    if (held.asked.size >= BLOCK_HASH_ASKS) return false
    const senders = new Set<Downloader | undefined>()
    for (let block = 0; block < this.picker.blockCount(index); block++) senders.add(this.blame.senderOf(index, block))
    const candidates = [...this.links].filter((link) => link.v2 && link.bits.has(index) && !held.asked.has(link))
    const peer = candidates.find((link) => !senders.has(link)) ?? candidates[0]
    if (peer === undefined) return false
    held.asked.add(peer)
    held.pending = true
    this.hashes!.askBlocks(peer, index, held.request, held.check)
    return true
  }

  /** A held piece's block hashes came: the blocks that do not match them are fetched again, their senders struck. */
  private blockHashesArrived(index: number, leaves: Uint8Array): void {
    const { check, data } = this.held.get(index) ?? {}
    if (data === undefined || check === undefined) return
    this.held.delete(index)
    const bad = badBlocks(leaves, check.dataLength, data)
    // Every block matches yet the piece failed (a hybrid's SHA-1 disagreeing): judged as a whole piece.
    if (bad.length === 0) return void this.failedWhole(index, data)
    this.leaves.set(index, { leaves, dataLength: check.dataLength })
    this.hashes!.badBlocks += bad.length
    const culprits = new Set<Downloader>()
    for (const block of bad) {
      const sender = this.blame.senderOf(index, block)
      if (sender !== undefined) culprits.add(sender)
      this.picker.blockFailed(index, block)
    }
    this.assembling.set(index, data)
    this.strike([...culprits])
    for (const link of this.links) link.fillRequests()
  }

  /**
   * No block hashes for a held piece from the peer asked: the next is asked. With none to ask now, it waits for one
   * (a v2 peer that connects, see `tick`) up to BLOCK_HASH_WAIT_MS from its failure, then fails as a whole.
   */
  private blockHashesFailed(index: number): void {
    const held = this.held.get(index)
    if (held === undefined) return
    held.pending = false
    if (this.askNextForBlocks(index)) return
    if (held.asked.size < BLOCK_HASH_ASKS && this.now() - held.since < BLOCK_HASH_WAIT_MS) return
    this.held.delete(index)
    this.failedWhole(index, held.data)
  }

  /** Held pieces with no request out: asked of a peer that came since, or judged as a whole once waited too long. */
  private retryHeld(): void {
    for (const [index, held] of this.held) if (!held.pending) this.blockHashesFailed(index)
  }

  /**
   * One strike for each peer proven to have sent bad data (a peer twice for two bad pieces), against its IP address,
   * so strikes outlive the connection: a conviction can come after the peer left or came back from another port. At
   * the limit the address is banned and every connection from it is closed.
   */
  private strike(culprits: ReadonlyArray<Downloader>): ReadonlyArray<Downloader> {
    const banned: Array<Downloader> = []
    for (const link of culprits) {
      if (!("host" in link)) {
        // A web seed whose data failed a hash check: set aside at once (its worker sees it and stops).
        if (!link.dropped) {
          link.drop("its data failed a hash check")
          this.removeWebSeed(link)
        }
        continue
      }
      // Banned already, its connection closing: no second ban.
      if (this.options.bans.isBanned(link.host)) continue
      const { banned: now, strikes } = this.options.bans.strike(link.host)
      link.strikes = strikes
      if (!now) continue
      banned.push(link)
      const error = new PeerError({ reason: "Banned", peer: link.key, detail: `sent data that failed ${strikes} hash checks` })
      link.fail(error)
      for (const other of this.links) if (other.host === link.host) other.fail(error)
    }
    return banned
  }

  /** Download rate over all peers and web seeds, bytes per second. */
  get rate(): number {
    let total = 0
    for (const link of this.links) total += link.rate
    for (const seed of this.webSeeds) if (!seed.dropped) total += seed.rate
    return total
  }

  /** Periodic upkeep: re-assign timed-out requests, update rates, drop stalled peers, refill pipelines. */
  tick(limits: { readonly requestMs: number; readonly idleMs: number; readonly snubMs: number; readonly chokedMs: number }): void {
    const now = this.now()
    cancel(this.picker.timedOut(now, limits.requestMs))
    for (const link of this.links) link.tick(now, limits)
    for (const seed of this.webSeeds) seed.download.tick(now)
    if (this.hashes !== undefined) {
      this.hashes.tick()
      this.retryHeld()
      for (const link of this.links) if (link.v2) this.hashes.ask(link)
    }
    for (const link of this.links) link.fillRequests()
    if (!this.isPrivate) {
      const peers = this.pexPeers()
      for (const link of this.links) link.extensions.sendPex(now, peers)
    }
  }

  /** A peer's DHT node (BEP 5 `port`): handed to our DHT node to try. */
  dhtNodeLearned(node: Endpoint): void {
    if (this.dhtPort !== undefined) this.options.onDhtNode(node)
  }

  /** Peers a link learned through PEX: handed on to be dialled. */
  peersLearned(peers: ReadonlyArray<Endpoint>, from?: PeerLink): void {
    // Us: never dialled, and no relay is asked to introduce us to ourselves.
    const others = peers.filter((peer) => !this.isSelf(peer))
    this.selfSkipped += peers.length - others.length
    if (from !== undefined) {
      for (const peer of others) {
        const key = formatEndpoint(peer)
        if (this.learnedFrom.size >= MAX_LEARNED_FROM && !this.learnedFrom.has(key)) {
          this.learnedFrom.delete(this.learnedFrom.keys().next().value!)
        }
        this.learnedFrom.set(key, from)
      }
    }
    if (others.length > 0) this.options.onPeers(others)
  }

  /** Whether `address` is us: one of our own addresses (as peers, trackers, the DHT, the gateway told) and our port. */
  isSelf(address: Endpoint): boolean {
    return this.external.isSelf(address, this.port)
  }

  /** A peer's BEP 10 `yourip`: where it sees us (one vote; see ExternalAddresses). */
  yourIp(link: PeerLink, address: string): void {
    this.external.fromPeer(link.connection.remote.host, address)
  }

  /**
   * A peer could not be dialled: if a link that told us of it through PEX is still up and speaks BEP 55, it is
   * asked (once) to introduce us, and the peer's `connect` makes both sides dial at once.
   */
  unreachable(address: Endpoint): void {
    const key = formatEndpoint(address)
    const relay = this.learnedFrom.get(key)
    if (relay === undefined || !this.links.has(relay)) {
      if (!this.hasLink(key)) this.holepunch.counts.noRelay++
      this.learnedFrom.delete(key)
      return
    }
    this.learnedFrom.delete(key)
    if (!this.hasLink(key)) this.holepunch.ask(holepunchLink(relay), address)
  }

  /** The connected peers others may dial, by address, with their BEP 11 flags. */
  private pexPeers(): Map<string, PexPeer> {
    const peers = new Map<string, PexPeer>()
    for (const link of this.links) {
      const address = link.extensions.listenAddress
      if (address === undefined) continue
      // BEP 11's 0x08: the peer speaks ut_holepunch, so one who cannot reach it may ask us to relay (BEP 55).
      const flags = (link.direction === "outgoing" ? PexFlag.outgoing : 0) | (link.bits.isComplete() ? PexFlag.seed : 0) |
        (link.connection.transport === "utp" ? PexFlag.utp : 0) | (link.connection.encrypted === true ? PexFlag.encryption : 0) |
        (link.extensions.peer.idFor("ut_holepunch") !== undefined ? PexFlag.holepunch : 0)
      peers.set(formatEndpoint(address), { host: address.host, port: address.port, flags })
    }
    return peers
  }
}
