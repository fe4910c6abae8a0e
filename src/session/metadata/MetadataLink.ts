import type { Endpoint } from "../../net/Datagram.js"
import { formatEndpoint } from "../../net/endpoint.js"
import { PeerError } from "../../peer/PeerError.js"
import { closedBy, type Link, Written } from "../../peer/link.js"
import type { Connection, TransportError } from "../../peer/transport/Transport.js"
import {
  decodeMetadataMessage,
  encodeExtended,
  encodeHandshake,
  encodeMetadataMessage,
  type Handshake,
  KEEP_ALIVE,
  type Message,
  OUR_EXTENSIONS,
  reservedBytes,
  supports,
  WireDecoder,
  WireError
} from "../../wire/index.js"
import { Admission } from "../admission.js"
import { ourExtendedHandshake, PeerExtensions } from "../extensions.js"
import { addressKey, type BanList } from "../BanList.js"
import type { LinkEvents } from "../runLink.js"
import { MetadataAssembler } from "./MetadataAssembler.js"

/** Metadata pieces asked of one peer at a time. */
export const METADATA_REQUESTS_PER_PEER = 4
/** A metadata fetch speaks BEP 10 only: with BEP 6 it would owe the peer a `have none` it has no use for. */
const RESERVED = reservedBytes(["extensions"])
/** The same for a v2 magnet (BEP 52): the torrent has v2 data. */
const RESERVED_V2 = reservedBytes(["extensions", "v2"])
/** Rejects a peer may send us before we stop asking it. */
const MAX_REJECTS = 8

export interface MetadataSwarmOptions {
  readonly infoHash: Uint8Array
  /** A v2 magnet's SHA-256 info-hash (`urn:btmh`), when it has one. */
  readonly infoHashV2?: Uint8Array | undefined
  readonly peerId: Uint8Array
  /** Our listening port, told in the extended handshake. */
  readonly port: number
  readonly now: () => number
  /** Peers learned through PEX while fetching. */
  readonly onPeers: (peers: ReadonlyArray<Endpoint>) => void
  /** The verified info dictionary. Called once. */
  readonly onMetadata: (metadata: Uint8Array) => void
  /** The session's bans, by IP address. */
  readonly bans: BanList
}


/**
 * The peers of a magnet link before its metadata is known (BEP 9), in plain code: who is connected, the info
 * dictionary being assembled from their pieces, and the peers banned for sending metadata that hashed wrong.
 */
export class MetadataSwarm {
  readonly assembler: MetadataAssembler<MetadataLink>
  readonly links = new Set<MetadataLink>()
  metadata: Uint8Array | undefined
  private readonly admission: Admission

  constructor(readonly options: MetadataSwarmOptions) {
    this.assembler = new MetadataAssembler(options.infoHash, options.infoHashV2)
    // A hybrid link's peers may answer with the v2 hash (libtorrent does, to our v2 bit: BEP 52's upgrade).
    const v2 = options.infoHashV2?.subarray(0, 20)
    this.admission = new Admission(options.infoHash, options.peerId, (host) => options.bans.isBanned(host), v2)
  }

  admit(link: MetadataLink, handshake: Handshake): string | undefined {
    const refusal = this.admission.admit(link.host, handshake, () =>
      supports(handshake.reserved, "extensions") ? undefined : "does not speak the extension protocol (BEP 10)")
    if (refusal !== undefined) return refusal
    this.links.add(link)
    return undefined
  }

  detach(link: MetadataLink): void {
    if (!this.links.delete(link)) return
    this.admission.release(link.peerId)
    this.assembler.peerGone(link)
    this.refill()
  }

  /** A metadata piece from `link`. */
  received(link: MetadataLink, piece: number, totalSize: number, data: Uint8Array): void {
    if (this.metadata !== undefined) return
    const result = this.assembler.receive(link, piece, totalSize, data)
    switch (result.type) {
      case "complete":
        this.metadata = result.metadata
        this.options.onMetadata(result.metadata)
        return
      case "failed":
        for (const culprit of result.convicted) {
          this.options.bans.ban(culprit.host)
          const error = new PeerError({ reason: "Banned", peer: culprit.key, detail: "sent metadata that does not match the info-hash" })
          culprit.fail(error)
          for (const other of this.links) if (other.host === culprit.host) other.fail(error)
        }
        return this.refill()
      case "more":
        return link.fillRequests()
      case "unexpected":
        return
    }
  }

  /** Asks every link that has room for more pieces. */
  refill(): void {
    for (const link of this.links) link.fillRequests()
  }

  /** Periodic upkeep: lapsed requests go to other peers. */
  tick(timeoutMs: number): void {
    if (this.metadata !== undefined) return
    if (this.assembler.timedOut(this.options.now(), timeoutMs).size > 0) this.refill()
  }
}

/**
 * One connection of a metadata fetch: the BitTorrent and extended handshakes, then `ut_metadata` requests for the
 * pieces the assembler hands out. Everything else the peer says is ignored, except the peers it names through PEX;
 * when the metadata is known, the torrent dials its peers afresh for the download.
 */
export class MetadataLink implements Link {
  readonly key: string
  /** The peer's IP address, as bans know it. */
  readonly host: string
  peerId: Uint8Array | undefined
  private readonly extensions = new PeerExtensions()
  private readonly decoder = new WireDecoder({ pieceCount: undefined, expectHandshake: true })
  private rejects = 0
  private closed = false
  private error: PeerError | undefined
  private readonly sink = {
    onHandshake: (handshake: Handshake) => this.gotHandshake(handshake),
    onMessage: (message: Message) => this.gotMessage(message)
  }

  constructor(
    private readonly connection: Connection,
    private readonly swarm: MetadataSwarm,
    private readonly events: LinkEvents
  ) {
    this.key = formatEndpoint(connection.remote)
    this.host = addressKey(connection.remote.host)
  }

  /** Sends our handshake, then reads the peer's (which may be waiting already, after an encryption handshake). */
  start(): void {
    const { infoHash, infoHashV2, peerId } = this.swarm.options
    this.send(encodeHandshake({ reserved: infoHashV2 === undefined ? RESERVED : RESERVED_V2, infoHash, peerId }))
    this.connection.start({
      onData: (chunk) => this.onData(chunk),
      onDrain: () => {},
      onClose: (error) => this.onClose(error)
    })
  }

  fail(error: PeerError): void {
    this.error ??= error
    this.connection.destroy()
  }

  /** Something was written since `takeSent` last asked: the keep-alive clock restarts. */
  private readonly written = new Written()

  takeSent(): boolean {
    return this.written.take()
  }

  private send(bytes: Uint8Array): void {
    this.written.mark()
    this.connection.write(bytes)
  }

  sendKeepAlive(): void {
    this.send(KEEP_ALIVE)
  }

  private problem(reason: PeerError["reason"], detail: string): PeerError {
    return new PeerError({ reason, peer: this.key, detail })
  }

  private onData(chunk: Uint8Array): void {
    if (this.closed) return
    const error = this.decoder.push(chunk, this.sink)
    if (error !== undefined) this.fail(this.problem("Protocol", error.message))
  }

  private onClose(error: TransportError | undefined): void {
    if (this.closed) return
    this.closed = true
    this.swarm.detach(this)
    this.events.onClose(this.error ?? closedBy(this.key, error))
  }

  private gotHandshake(handshake: Handshake): void {
    const refusal = this.swarm.admit(this, handshake)
    if (refusal !== undefined) return this.fail(this.problem("Handshake", refusal))
    this.peerId = handshake.peerId
    this.send(ourExtendedHandshake({
      port: this.swarm.options.port,
      metadataSize: undefined,
      pex: true,
      remoteHost: this.connection.remote.host
    }))
    this.events.onHandshake()
  }

  private gotMessage(message: Message): void {
    if (message.type !== "extended") return
    switch (message.id) {
      case 0: {
        const error = this.extensions.gotHandshake(message.payload)
        if (error !== undefined) return this.fail(this.problem("Protocol", error.message))
        if (this.extensions.idFor("ut_metadata") === undefined || this.extensions.metadataSize === undefined) {
          return this.fail(this.problem("NotNeeded", "does not offer the metadata (BEP 9)"))
        }
        return this.fillRequests()
      }
      case OUR_EXTENSIONS.ut_metadata:
        return this.gotMetadataMessage(message.payload)
      case OUR_EXTENSIONS.ut_pex: {
        const peers = this.extensions.gotPex(message.payload, this.swarm.options.now())
        if (peers.length > 0) this.swarm.options.onPeers(peers)
        return
      }
    }
  }

  private gotMetadataMessage(payload: Uint8Array): void {
    const message = decodeMetadataMessage(payload)
    // Malformed, or a kind BEP 9 may add later: skipped, as the BEP asks of unknown kinds.
    if (message instanceof WireError) return
    switch (message.type) {
      case "request":
        // We have no metadata to give yet.
        return this.sendMetadata({ type: "reject", piece: message.piece })
      case "reject":
        this.swarm.assembler.rejected(this, message.piece)
        if (++this.rejects >= MAX_REJECTS) return this.fail(this.problem("NotNeeded", "rejects our metadata requests"))
        return this.swarm.refill()
      case "data":
        return this.swarm.received(this, message.piece, message.totalSize, message.data)
    }
  }

  private sendMetadata(message: Parameters<typeof encodeMetadataMessage>[0]): void {
    const id = this.extensions.idFor("ut_metadata")
    if (id !== undefined) this.send(encodeExtended(id, encodeMetadataMessage(message)))
  }

  /** Asks for metadata pieces while this peer has room and the assembler has pieces to hand out. */
  fillRequests(): void {
    const size = this.extensions.metadataSize
    if (this.closed || size === undefined || this.rejects >= MAX_REJECTS) return
    const assembler = this.swarm.assembler
    const room = METADATA_REQUESTS_PER_PEER - assembler.outstandingFor(this)
    if (room <= 0) return
    for (const piece of assembler.nextRequests(this, size, room, this.swarm.options.now())) {
      this.sendMetadata({ type: "request", piece })
    }
  }
}
