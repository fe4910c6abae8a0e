import { formatEndpoint } from "../net/endpoint.js"
import type { Bitfield } from "../piece/index.js"
import { closedBy, type Link, Written } from "../peer/link.js"
import { PeerError } from "../peer/PeerError.js"
import type { Connection, TransportError } from "../peer/transport/Transport.js"
import {
  CHOKE,
  encodeCancel,
  type Handshake,
  INTERESTED,
  KEEP_ALIVE,
  type Message,
  NOT_INTERESTED,
  supports,
  UNCHOKE,
  WireDecoder
} from "../wire/index.js"
import { addressKey } from "./BanList.js"
import { FastSets } from "./FastSets.js"
import { answerHash, greet, ourHandshake, speaksV2 } from "./greeting.js"
import { LinkExtensions } from "./LinkExtensions.js"
import { Liveness, type LivenessLimits } from "./Liveness.js"
import { PeerPieces } from "./PeerPieces.js"
import { RateMeter } from "./RateMeter.js"
import type { LinkEvents } from "./runLink.js"
import { RequestPipeline } from "./RequestPipeline.js"
import type { Swarm } from "./Swarm.js"
import { UploadQueue } from "./UploadQueue.js"

/**
 * One connected peer, in plain synchronous code: it decodes each received chunk in place, keeps the BEP 3 state
 * (choked / interested both ways), and hands each message to the piece that deals with it: the opening messages
 * to `greeting`, the peer's pieces to `PeerPieces`, our requests to `RequestPipeline`, blocks to the swarm, the
 * peer's requests to `UploadQueue` (served from the swarm's piece cache while its socket keeps up), allowed-fast
 * pieces to `FastSets`, BEP 10 to `LinkExtensions`, the timeouts' clocks to `Liveness`. What stays here is the
 * receive dispatch and the write path, which every block passes through. Nothing here allocates per block beyond
 * the decoder's message object and a 13-byte header. Timers and the connection's lifetime belong to the Effect
 * fiber that owns the link (`runLink`).
 */
export class PeerLink implements Link {
  readonly key: string
  /** The peer's IP address, as bans and strikes know it. */
  readonly host: string
  peerId: Uint8Array | undefined
  /** The peer's pieces, and how many of them we want. */
  readonly pieces: PeerPieces
  amInterested = false
  amChoking = true
  peerChoking = true
  peerInterested = false
  /** Hash failures this peer's address is convicted of (kept by the swarm across connections; see `Blame`). */
  strikes = 0

  /** Both sides speak the Fast extension (BEP 6). */
  fast = false
  /** The torrent has v2 data and the peer set the v2 bit or came by the v2 hash (BEP 52): hash messages both ways. */
  v2 = false
  /** The allowed-fast pieces both ways (BEP 6). */
  readonly fastSets: FastSets
  /** BEP 10 with this peer: metadata served, PEX both ways. */
  readonly extensions: LinkExtensions

  private handshaken = false
  private closed = false
  private error: PeerError | undefined
  private readPaused = false
  /** How deep our requests to this peer run (slow start, then its rate, within its `reqq`). */
  private readonly pipeline = new RequestPipeline()
  /** Blocks received in the chunk being decoded: the pipeline is refilled once the chunk is done. */
  private blocksSinceRefill = 0

  readonly connectedAt: number
  /** When the peer last sent a message, a block, an unchoke: what the idle, stall and choke timeouts look at. */
  private readonly liveness: Liveness

  readonly download: RateMeter
  readonly upload: RateMeter
  /** Payload bytes we sent this peer. */
  uploaded = 0

  /** The peer's requests of us, served from the piece cache. */
  private readonly uploads: UploadQueue
  /** The socket's send buffer is full: serve nothing more until it drains. */
  writeBlocked = false

  /** Something was written since `takeSent` last asked: the keep-alive clock restarts. */
  private readonly written = new Written()

  private readonly decoder: WireDecoder
  /** A whole message (or the handshake) came out of the chunk being decoded: the idle clock restarts. */
  private heardMessage = false
  private readonly sink = {
    onHandshake: (handshake: Handshake) => {
      this.heardMessage = true
      this.gotHandshake(handshake)
    },
    onMessage: (message: Message) => {
      this.heardMessage = true
      this.gotMessage(message)
    }
  }

  constructor(
    readonly connection: Connection,
    private readonly swarm: Swarm,
    private readonly events: LinkEvents,
    /** `outgoing`: we dialled and the peer's handshake is still to come; `incoming`: it was read already. */
    readonly direction: "outgoing" | "incoming"
  ) {
    this.key = formatEndpoint(connection.remote)
    this.host = addressKey(connection.remote.host)
    this.pieces = new PeerPieces(this, swarm)
    this.fastSets = new FastSets(swarm.pieceCount)
    this.uploads = new UploadQueue(this, swarm)
    this.decoder = new WireDecoder({ pieceCount: swarm.pieceCount, expectHandshake: direction === "outgoing" })
    const now = swarm.now()
    this.connectedAt = now
    this.liveness = new Liveness(now)
    this.download = new RateMeter(now)
    this.upload = new RateMeter(now)
    this.extensions = new LinkExtensions({
      metadata: swarm.metadata,
      isPrivate: swarm.isPrivate,
      port: swarm.port,
      remote: connection.remote,
      direction,
      now: swarm.now,
      send: (bytes) => this.send(bytes),
      fail: (detail) => this.protocolError(detail),
      peersLearned: (peers) => swarm.peersLearned(peers, this),
      yourIp: (address) => swarm.yourIp(this, address),
      holepunch: (message) => swarm.holepunchReceived(this, message)
    })
  }

  private readonly handlers = { onData: (chunk: Uint8Array) => this.onData(chunk), onDrain: () => this.onDrain(), onClose: (error: TransportError | undefined) => this.onClose(error) }

  /**
   * A connection we dialled: send our handshake and read theirs. Ours goes first: after an encryption handshake
   * the peer's may have arrived already, and starting delivers it at once.
   */
  start(): void {
    this.send(ourHandshake(this.swarm))
    this.connection.start(this.handlers)
  }

  /** A connection we accepted, whose handshake was read already (with `rest`, the bytes that followed it). */
  accept(handshake: Handshake, rest: Uint8Array): void {
    this.connection.start(this.handlers)
    this.send(ourHandshake(this.swarm, answerHash(this.swarm, handshake)))
    this.gotHandshake(handshake)
    if (rest.length > 0) this.onData(rest)
  }

  /** Download rate from this peer, bytes per second. */
  get rate(): number {
    return this.download.rate
  }

  /** Ends the connection with `error` (the first reason given wins). */
  fail(error: PeerError): void {
    this.error ??= error
    this.connection.destroy()
  }

  private problem(reason: PeerError["reason"], detail: string): PeerError {
    return new PeerError({ reason, peer: this.key, detail })
  }

  /** The peer broke the protocol: drop it, saying how. */
  protocolError(detail: string): void {
    this.fail(this.problem("Protocol", detail))
  }

  get isClosed(): boolean {
    return this.closed
  }

  // Receiving

  /**
   * A received chunk: decode every message in it, then top up our requests once, with everything we send in
   * answer going out together. A 64 KiB chunk holds about four blocks; refilling after each would cost a system
   * call per block.
   */
  private onData(chunk: Uint8Array): void {
    if (this.closed) return
    this.connection.cork()
    const error = this.decoder.push(chunk, this.sink)
    if (this.heardMessage) {
      // One clock read per chunk, not per block.
      this.heardMessage = false
      this.liveness.receivedAt = this.swarm.now()
    }
    if (error !== undefined) this.protocolError(error.message)
    else if (this.blocksSinceRefill > 0) {
      this.blocksSinceRefill = 0
      this.fillRequests()
    }
    this.connection.uncork()
  }

  private onDrain(): void {
    this.writeBlocked = false
    if (this.readPaused) {
      this.readPaused = false
      this.connection.resume()
    }
    this.serve()
  }

  private onClose(error: TransportError | undefined): void {
    if (this.closed) return
    this.closed = true
    if (this.handshaken) this.swarm.detach(this)
    this.events.onClose(this.error ?? closedBy(this.key, error))
  }

  private gotHandshake(handshake: Handshake): void {
    const refusal = this.swarm.admit(this, handshake)
    if (refusal !== undefined) return this.fail(this.problem("Handshake", refusal))
    this.peerId = handshake.peerId
    this.handshaken = true
    this.fast = supports(handshake.reserved, "fast")
    greet(this, this.swarm, handshake)
    this.v2 = speaksV2(this.swarm, handshake)
    if (this.v2) this.swarm.hashes!.ask(this)
    this.events.onHandshake()
  }

  private gotMessage(message: Message): void {
    switch (message.type) {
      case "keepAlive":
        return
      case "choke":
        if (!this.peerChoking) this.liveness.chokedSince = this.swarm.now()
        this.peerChoking = true
        // BEP 6: a choke rejects nothing by itself; our requests stay outstanding until the peer rejects them or
        // sends the blocks, and allowed-fast pieces may still be asked for. Without it (BEP 3) they are dropped.
        if (this.fast) this.blocksSinceRefill++
        else this.swarm.picker.peerChoked(this)
        return
      case "unchoke":
        this.peerChoking = false
        this.liveness.progressAt = this.swarm.now()
        this.fillRequests()
        return
      case "interested":
        this.peerInterested = true
        this.swarm.offerSlot(this)
        return
      case "notInterested":
        this.peerInterested = false
        // It wants nothing from us: it gives up its upload slot (as libtorrent does). Left unchoked, it could come
        // back interested on top of the peers holding the slots until the next rechoke.
        this.choke()
        return
      case "have":
        return this.pieces.have(message.index)
      case "bitfield":
        return this.pieces.bitfield(message.bits)
      case "piece":
        this.swarm.blockReceived(this, message.index, message.begin, message.block)
        this.blocksSinceRefill++
        return
      case "request":
        this.uploads.requested(message.index, message.begin, message.length)
        return
      case "cancel":
        this.uploads.cancelled(message.index, message.begin, message.length)
        return
      case "haveAll":
      case "haveNone":
        if (this.fast) this.pieces.haveAllOrNone(message.type === "haveAll")
        return
      case "reject":
        // Freed for anyone (this peer too, once it unchokes us); refilled with the rest of the chunk.
        if (this.fast) this.swarm.picker.requestRejected(this, message.index, message.begin)
        this.blocksSinceRefill++
        return
      case "allowedFast":
        if (this.fast && this.fastSets.allowedByPeer(message.index) && this.peerChoking) this.blocksSinceRefill++
        return
      // A hint we do not act on: rarest-first already chooses well.
      case "suggest":
        return
      case "extended":
        return this.extensions.received(message.id, message.payload)
      case "port":
        if (message.port > 0) this.swarm.dhtNodeLearned({ host: this.connection.remote.host, port: message.port })
        return
      // BEP 52: between v2 peers of a torrent with v2 data; from another, skipped like an unknown message.
      case "hashRequest":
      case "hashes":
      case "hashReject":
        if (this.v2) this.gotHashMessage(message.type, message.payload)
        return
    }
  }

  private gotHashMessage(type: "hashRequest" | "hashes" | "hashReject", payload: Uint8Array): void {
    const hashes = this.swarm.hashes!
    if (type === "hashes") return this.swarm.hashesReceived(this, payload)
    const result = type === "hashRequest" ? hashes.answer(this, payload) : hashes.rejected(this, payload)
    if (typeof result === "string") this.protocolError(result)
    else if (result !== undefined) this.send(result)
  }

  /** Accounts a block we accepted from this peer. */
  delivered(bytes: number): void {
    this.pipeline.delivered()
    this.download.add(bytes)
    this.liveness.progressAt = this.swarm.now()
  }

  // Serving

  /** Sends what the peer asked for while the socket keeps up (the swarm calls it again when a piece is read). */
  serve(): void {
    this.uploads.serve()
  }

  /** Chokes the peer: its queued requests are dropped (BEP 3) or rejected but for allowed-fast ones (BEP 6). */
  choke(): void {
    if (this.amChoking) return
    this.amChoking = true
    this.send(CHOKE)
    this.uploads.choked()
  }

  unchoke(): void {
    if (!this.amChoking) return
    this.amChoking = false
    this.send(UNCHOKE)
  }

  /** We want blocks from this peer but it sent none for `snubMs`: it loses its upload slot (BEP 3 anti-snubbing). */
  snubbed(now: number, snubMs: number): boolean {
    return this.liveness.snubbed(now, snubMs, this.amInterested)
  }

  // Our side

  /** Pieces the peer has. */
  get bits(): Bitfield {
    return this.pieces.bits
  }

  /** Counts the peer's pieces we want (after a bitfield, or when the file selection changed) and updates interest. */
  recountWanted(): void {
    this.pieces.recountWanted()
  }

  /** We verified piece `index` (`wanted`: counted as wanted until now): tell the peer if it lacks it, re-evaluate interest. */
  weHave(index: number, wanted: boolean): void {
    this.pieces.weHave(index, wanted)
  }

  /** We want something the peer has (`interested`) or nothing: tell it when that changed. */
  updateInterest(interested: boolean): void {
    if (interested === this.amInterested) return
    this.amInterested = interested
    if (interested && this.peerChoking) this.liveness.chokedSince = this.swarm.now()
    this.send(interested ? INTERESTED : NOT_INTERESTED)
    if (interested) this.fillRequests()
  }

  /** Requests we keep outstanding with this peer now: what its link needs, within its `reqq` (see `pipelineDepth`). */
  get depth(): number {
    return this.pipeline.depth(this.rate, this.extensions.peer.handshake?.reqq)
  }

  /** The most requests we had outstanding with this peer at once: how deep the pipeline grew. */
  get peakOutstanding(): number {
    return this.pipeline.peak
  }

  /** Tops up the request pipeline to the depth the peer's rate calls for. */
  fillRequests(): void {
    if (this.closed || !this.amInterested || this.swarm.backlogged() || this.swarm.hashes?.awaiting === true) return
    // Choked: only the pieces the peer allowed us (BEP 6), if any.
    const bits = this.peerChoking ? this.fastSets.whileChoked(this.pieces.bits) : this.pieces.bits
    if (bits === undefined) return
    const reqq = this.extensions.peer.handshake?.reqq
    const requests = this.pipeline.next(this.swarm.picker, this, bits, this.rate, reqq, this.swarm.now(), this.swarm.audit)
    if (requests !== undefined) this.send(requests)
  }

  cancel(index: number, begin: number, length: number): void {
    this.send(encodeCancel(index, begin, length))
  }

  sendKeepAlive(): void {
    this.send(KEEP_ALIVE)
  }

  takeSent(): boolean {
    return this.written.take()
  }

  send(bytes: Uint8Array): void {
    this.written.mark()
    if (!this.closed) this.afterWrite(this.connection.write(bytes))
  }

  /** After a write: `ok`, the transport's answer. */
  afterWrite(ok: boolean): void {
    if (ok) return
    // Past the send buffer's mark: serve nothing more, and stop reading too, so the peer slows down instead of our
    // memory growing, until the buffer drains.
    this.writeBlocked = true
    if (!this.readPaused) {
      this.readPaused = true
      this.connection.pause()
    }
  }

  /**
   * Periodic upkeep: the rate estimate, and dropping a peer that went silent, stalls with our requests
   * outstanding, or keeps us choked while it has what we need.
   */
  tick(now: number, limits: LivenessLimits): void {
    if (this.closed) return
    this.download.tick(now)
    // Once the rate is measured it governs; slow start only covers the first ticks.
    this.pipeline.measured(this.rate)
    this.upload.tick(now)
    const overdue = this.liveness.overdue(now, limits, this, this.swarm.picker)
    if (overdue !== undefined) this.fail(this.problem("Timeout", overdue))
  }
}
