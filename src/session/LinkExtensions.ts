import type { Endpoint } from "../net/Datagram.js"
import { formatEndpoint } from "../net/endpoint.js"
import {
  decodeHolepunch,
  decodeIp,
  decodeMetadataMessage,
  encodeHolepunch,
  type HolepunchMessage,
  encodeExtended,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
  OUR_EXTENSIONS,
  type PexPeer,
  WireError
} from "../wire/index.js"
import { ourExtendedHandshake, PeerExtensions, PexSender } from "./extensions.js"

/** Metadata pieces served to one connection, beyond twice the whole: the rest are rejected (BEP 9 rate limit). */
export const METADATA_SERVE_SLACK = 8

/** What a link's extensions need of the link and its torrent. */
export interface ExtensionsHost {
  /** The info dictionary we serve (BEP 9). */
  readonly metadata: Uint8Array
  /** A private torrent: no PEX (BEP 27). */
  readonly isPrivate: boolean
  /** The TCP port we listen on. */
  readonly port: number
  readonly remote: Endpoint
  readonly direction: "outgoing" | "incoming"
  readonly now: () => number
  readonly send: (bytes: Uint8Array) => void
  /** The peer broke the protocol: drop it. */
  readonly fail: (detail: string) => void
  /** Peers the peer named through PEX. */
  readonly peersLearned: (peers: ReadonlyArray<Endpoint>) => void
  /** The peer's `yourip` (BEP 10): where it sees us. */
  readonly yourIp?: (address: string) => void
  /** A well-formed BEP 55 message from the peer (malformed ones are dropped here and counted by the caller). */
  readonly holepunch?: (message: HolepunchMessage | WireError) => void
}

/**
 * The BEP 10 side of a torrent's peer link, in plain code: our extended handshake, the peer's, metadata served
 * (BEP 9, rate-limited) and PEX both ways (BEP 11). A link that knows nothing of extensions hands it every
 * `extended` message.
 */
export class LinkExtensions {
  /** What the peer said of extensions, and the PEX it sent. */
  readonly peer = new PeerExtensions()
  /** What we told the peer through PEX; made when it turns out to speak it. */
  private pex: PexSender | undefined
  private metadataServed = 0

  constructor(private readonly host: ExtensionsHost) {}

  /** Sends our extended handshake (to a peer whose handshake set the BEP 10 bit). */
  sendHandshake(): void {
    this.host.send(ourExtendedHandshake({
      port: this.host.port,
      metadataSize: this.host.metadata.length,
      pex: !this.host.isPrivate,
      holepunch: !this.host.isPrivate && this.host.holepunch !== undefined,
      remoteHost: this.host.remote.host
    }))
  }

  /** A BEP 10 message, under the ids we gave in our extended handshake. Unknown ids are ignored. */
  received(id: number, payload: Uint8Array): void {
    switch (id) {
      case 0: {
        const error = this.peer.gotHandshake(payload)
        if (error !== undefined) return this.host.fail(error.message)
        const yourip = this.peer.handshake?.yourip
        const address = yourip === undefined ? undefined : decodeIp(yourip)
        if (address !== undefined) this.host.yourIp?.(address)
        return
      }
      case OUR_EXTENSIONS.ut_metadata:
        return this.gotMetadataMessage(payload)
      case OUR_EXTENSIONS.ut_pex: {
        if (this.host.isPrivate) return
        const peers = this.peer.gotPex(payload, this.host.now())
        if (peers.length > 0) this.host.peersLearned(peers)
        return
      }
      case OUR_EXTENSIONS.ut_holepunch:
        if (this.host.isPrivate || this.host.holepunch === undefined) return
        return this.host.holepunch(decodeHolepunch(payload))
    }
  }

  /** Sends a BEP 55 message, if the peer speaks ut_holepunch. */
  sendHolepunch(message: HolepunchMessage): void {
    const id = this.peer.idFor("ut_holepunch")
    if (id !== undefined) this.host.send(encodeExtended(id, encodeHolepunch(message)))
  }

  /**
   * BEP 9: a request for a piece of our info dictionary is answered with it, or rejected past the end or once the
   * peer has asked for it twice over. Data and rejects we did not ask for are ignored, and so are malformed
   * messages and kinds BEP 9 may add later (as the BEP asks).
   */
  private gotMetadataMessage(payload: Uint8Array): void {
    const message = decodeMetadataMessage(payload)
    const id = this.peer.idFor("ut_metadata")
    if (message instanceof WireError || message.type !== "request" || id === undefined) return
    const metadata = this.host.metadata
    const pieces = Math.ceil(metadata.length / METADATA_PIECE_SIZE)
    const { piece } = message
    if (piece >= pieces || this.metadataServed >= 2 * pieces + METADATA_SERVE_SLACK) {
      return this.host.send(encodeExtended(id, encodeMetadataMessage({ type: "reject", piece })))
    }
    this.metadataServed++
    const data = metadata.subarray(piece * METADATA_PIECE_SIZE, (piece + 1) * METADATA_PIECE_SIZE)
    this.host.send(encodeExtended(id, encodeMetadataMessage({ type: "data", piece, totalSize: metadata.length, data })))
  }

  /** The address the peer accepts connections on, for PEX: the one we dialled, or the port it told us. */
  get listenAddress(): Endpoint | undefined {
    if (this.host.direction === "outgoing") return this.host.remote
    const port = this.peer.listenPort
    return port === undefined ? undefined : { host: this.host.remote.host, port }
  }

  /** Tells the peer, through PEX when it speaks it, of the swarm's peers it has not heard of from us. */
  sendPex(now: number, peers: ReadonlyMap<string, PexPeer>): void {
    const id = this.peer.idFor("ut_pex")
    if (id === undefined) return
    this.pex ??= new PexSender()
    const self = this.listenAddress
    const payload = this.pex.next(now, peers, self === undefined ? "" : formatEndpoint(self))
    if (payload !== undefined) this.host.send(encodeExtended(id, payload))
  }
}
