import { Bitfield, requestDepth } from "../piece/index.js"
import type { Connection, TransportError } from "../peer/transport/Transport.js"
import {
  encodeBitfield,
  encodeCancel,
  encodeHandshake,
  encodeHave,
  encodeRequest,
  type Handshake,
  INTERESTED,
  KEEP_ALIVE,
  type Message,
  NOT_INTERESTED,
  OUR_RESERVED,
  WireDecoder
} from "../wire/index.js"
import { PeerError } from "./PeerError.js"
import type { Swarm } from "./Swarm.js"

/** What a link tells the Effect side: the handshake is done, the connection is over. */
export interface LinkEvents {
  readonly onHandshake: () => void
  readonly onClose: (error: PeerError) => void
}

/**
 * One connected peer, in plain synchronous code: it decodes each received chunk in place, keeps the BEP 3 state
 * (choked / interested both ways, the peer's pieces), keeps our request pipeline full, and hands blocks to the
 * swarm. Nothing here allocates per block beyond the decoder's message object. Timers and the connection's
 * lifetime belong to the Effect fiber that owns the link (`runPeer`).
 */
export class PeerLink {
  readonly key: string
  peerId: Uint8Array | undefined
  /** Pieces the peer has. */
  bits: Bitfield
  amInterested = false
  peerChoking = true
  peerInterested = false
  /** Hash failures this peer's data took part in. */
  strikes = 0

  /** Pieces the peer has that we have not verified: we are interested while this is above 0. */
  private wanted = 0
  private handshaken = false
  /** A bitfield or have arrived: a bitfield now would be out of order (BEP 3: it comes first, if at all). */
  private heardPieces = false
  private closed = false
  private error: PeerError | undefined
  private readPaused = false

  readonly connectedAt: number
  private lastReceivedAt: number
  /** When the peer last gave us a reason to expect blocks (unchoke, or a block): the start of a stall. */
  private lastProgressAt: number
  /** When the current stretch of being choked while interested began. */
  private chokedSince: number

  /** Download rate, bytes per second, smoothed over ticks. */
  rate = 0
  private windowBytes = 0
  private windowStart: number

  private readonly decoder: WireDecoder
  private readonly sink = {
    onHandshake: (handshake: Handshake) => this.gotHandshake(handshake),
    onMessage: (message: Message) => this.gotMessage(message)
  }

  constructor(
    readonly connection: Connection,
    private readonly swarm: Swarm,
    private readonly events: LinkEvents
  ) {
    this.key = `${connection.remote.host}:${connection.remote.port}`
    this.bits = new Bitfield(swarm.pieceCount)
    this.decoder = new WireDecoder({ pieceCount: swarm.pieceCount, expectHandshake: true })
    const now = swarm.now()
    this.connectedAt = now
    this.lastReceivedAt = now
    this.lastProgressAt = now
    this.chokedSince = now
    this.windowStart = now
  }

  /** Sends our handshake and starts reading. */
  start(): void {
    this.connection.start({
      onData: this.onData,
      onDrain: this.onDrain,
      onClose: this.onClose
    })
    this.send(encodeHandshake({ reserved: OUR_RESERVED, infoHash: this.swarm.infoHash, peerId: this.swarm.peerId }))
  }

  /** Ends the connection with `error` (the first reason given wins). */
  fail(error: PeerError): void {
    this.error ??= error
    this.connection.destroy()
  }

  private problem(reason: PeerError["reason"], detail: string): PeerError {
    return new PeerError({ reason, peer: this.key, detail })
  }

  // Receiving

  private readonly onData = (chunk: Uint8Array): void => {
    if (this.closed) return
    this.lastReceivedAt = this.swarm.now()
    const error = this.decoder.push(chunk, this.sink)
    if (error !== undefined) this.fail(this.problem("Protocol", error.message))
  }

  private readonly onDrain = (): void => {
    if (this.readPaused) {
      this.readPaused = false
      this.connection.resume()
    }
  }

  private readonly onClose = (error: TransportError | undefined): void => {
    if (this.closed) return
    this.closed = true
    if (this.handshaken) this.swarm.detach(this)
    this.events.onClose(
      this.error ?? this.problem("Connection", error === undefined ? "the peer closed the connection" : error.message)
    )
  }

  private gotHandshake(handshake: Handshake): void {
    const refusal = this.swarm.admit(this, handshake)
    if (refusal !== undefined) return this.fail(this.problem("Handshake", refusal))
    this.peerId = handshake.peerId
    this.handshaken = true
    const ours = this.swarm.picker.bitfield()
    if (ours.count > 0) this.send(encodeBitfield(ours.toBytes()))
    this.events.onHandshake()
  }

  private gotMessage(message: Message): void {
    switch (message.type) {
      case "keepAlive":
        return
      case "choke":
        if (!this.peerChoking) this.chokedSince = this.swarm.now()
        this.peerChoking = true
        this.swarm.picker.peerChoked(this)
        return
      case "unchoke":
        this.peerChoking = false
        this.lastProgressAt = this.swarm.now()
        this.fillRequests()
        return
      case "interested":
        this.peerInterested = true
        return
      case "notInterested":
        this.peerInterested = false
        return
      case "have":
        this.heardPieces = true
        this.gotHave(message.index)
        return
      case "bitfield":
        // Extension handshakes (BEP 10) may come before it, as libtorrent sends them; a have may not.
        if (this.heardPieces) return this.fail(this.problem("Protocol", "bitfield after have or bitfield"))
        this.heardPieces = true
        this.gotBitfield(message.bits)
        return
      case "piece":
        this.swarm.blockReceived(this, message.index, message.begin, message.block)
        this.fillRequests()
        return
      // We do not serve data yet (every peer stays choked), and neither DHT nor extensions are spoken yet.
      case "request":
      case "cancel":
      case "port":
      case "extended":
        return
    }
  }

  private gotBitfield(bytes: Uint8Array): void {
    this.bits = Bitfield.fromBytes(bytes, this.swarm.pieceCount)
    this.swarm.picker.addPeer(this, this.bits)
    let wanted = 0
    this.bits.forEachSet((index) => {
      if (!this.swarm.picker.hasPiece(index)) wanted++
    })
    this.wanted = wanted
    this.updateInterest()
  }

  private gotHave(index: number): void {
    if (this.bits.has(index)) return
    this.bits.set(index)
    this.swarm.picker.peerHave(this, index)
    if (!this.swarm.picker.hasPiece(index)) {
      this.wanted++
      this.updateInterest()
    }
  }

  /** Accounts a block we accepted from this peer. */
  delivered(bytes: number): void {
    this.windowBytes += bytes
    this.lastProgressAt = this.swarm.now()
  }

  // Our side

  /** We verified piece `index`: tell the peer if it lacks it, and re-evaluate interest. */
  weHave(index: number): void {
    if (this.bits.has(index)) {
      this.wanted--
      this.updateInterest()
    } else {
      this.send(encodeHave(index))
    }
  }

  private updateInterest(): void {
    const interested = this.wanted > 0
    if (interested === this.amInterested) return
    this.amInterested = interested
    if (interested && this.peerChoking) this.chokedSince = this.swarm.now()
    this.send(interested ? INTERESTED : NOT_INTERESTED)
    if (interested) this.fillRequests()
  }

  /** Tops up the request pipeline to the depth the peer's rate calls for. */
  fillRequests(): void {
    if (this.closed || this.peerChoking || !this.amInterested) return
    const picker = this.swarm.picker
    const room = requestDepth(this.rate) - picker.outstanding(this)
    if (room <= 0) return
    const requests = picker.nextRequests(this, this.bits, room, this.swarm.now())
    if (requests.length === 0) return
    const out = Buffer.allocUnsafe(17 * requests.length)
    requests.forEach((request, i) => out.set(encodeRequest(request.index, request.begin, request.length), i * 17))
    this.send(out)
  }

  cancel(index: number, begin: number, length: number): void {
    this.send(encodeCancel(index, begin, length))
  }

  sendKeepAlive(): void {
    this.send(KEEP_ALIVE)
  }

  private send(bytes: Uint8Array): void {
    if (this.closed) return
    // Past the send buffer's mark, stop reading too: the peer then slows down instead of our memory growing.
    if (!this.connection.write(bytes) && !this.readPaused) {
      this.readPaused = true
      this.connection.pause()
    }
  }

  /**
   * Periodic upkeep: the rate estimate, and dropping a peer that went silent, stalls with our requests
   * outstanding, or keeps us choked while it has what we need.
   */
  tick(now: number, limits: { readonly idleMs: number; readonly snubMs: number; readonly chokedMs: number }): void {
    if (this.closed) return
    const elapsed = now - this.windowStart
    if (elapsed > 0) {
      const sample = (this.windowBytes * 1000) / elapsed
      this.rate = this.rate === 0 ? sample : 0.6 * this.rate + 0.4 * sample
      this.windowBytes = 0
      this.windowStart = now
    }
    if (now - this.lastReceivedAt > limits.idleMs) {
      return this.fail(this.problem("Timeout", `sent nothing for ${Math.round(limits.idleMs / 1000)} s`))
    }
    if (!this.peerChoking && this.swarm.picker.outstanding(this) > 0 && now - this.lastProgressAt > limits.snubMs) {
      return this.fail(this.problem("Timeout", `sent no block for ${Math.round(limits.snubMs / 1000)} s`))
    }
    if (this.peerChoking && this.amInterested && now - this.chokedSince > limits.chokedMs) {
      return this.fail(this.problem("Timeout", `kept us choked for ${Math.round(limits.chokedMs / 1000)} s`))
    }
  }
}
