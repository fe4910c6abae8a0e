/**
 * One PeerLink driven by hand, in plain code: a real Swarm (memory only) and a fake connection that decodes what
 * the link writes and lets the test feed it the peer's bytes. No fibers, no clock but `now`: every step is
 * synchronous, so a test can look at the link between any two messages.
 */
import type { Endpoint } from "../../src/net/Datagram.js"
import type { Connection, ConnectionHandlers } from "../../src/peer/transport/Transport.js"
import { Bitfield, BLOCK_SIZE } from "../../src/piece/index.js"
import { BanList } from "../../src/session/BanList.js"
import { defaultChokeConfig } from "../../src/session/choker.js"
import { PeerLink } from "../../src/session/PeerLink.js"
import type { PeerError } from "../../src/peer/PeerError.js"
import { Swarm } from "../../src/session/Swarm.js"
import {
  type CapabilityName,
  encodeHandshake,
  encodePieceHeader,
  type Message,
  reservedBytes,
  WireDecoder
} from "../../src/wire/index.js"
import type { SwarmFixture } from "./fixtures.js"

export interface LinkHarness {
  readonly link: PeerLink
  readonly swarm: Swarm
  /** Messages the link sent, decoded, in order (the handshake not included). */
  readonly sent: Array<Message>
  /** Requests the link sent and has not been seen to cancel, as `index/begin`. */
  readonly requested: () => Array<string>
  /** Feeds the peer's bytes to the link. */
  readonly receive: (...chunks: ReadonlyArray<Uint8Array>) => void
  /** The peer sends block `begin` of piece `index`, with the torrent's right bytes. */
  readonly block: (index: number, begin: number) => void
  readonly closed: () => PeerError | undefined
  readonly advance: (ms: number) => void
}

export const makeLinkHarness = (
  fixture: SwarmFixture,
  peer: {
    readonly capabilities: ReadonlyArray<CapabilityName>
    readonly host?: string
    /** Another harness's swarm, for a second link in the same torrent (its clock is that harness's). */
    readonly swarm?: Swarm
    /** The peer's id in its handshake (a swarm keeps one link per id); default twenty 2s. */
    readonly peerId?: Uint8Array
    /** Where the swarm hands the addresses it learned through PEX (a new swarm only). */
    readonly onPeers?: (peers: ReadonlyArray<Endpoint>) => void
  }
): LinkHarness => {
  const { content, torrent } = fixture
  let now = 1_000_000
  const sent: Array<Message> = []
  let closedWith: PeerError | undefined
  let handlers: ConnectionHandlers | undefined
  const decoder = new WireDecoder({ pieceCount: torrent.pieceCount, expectHandshake: true })
  const sink = { onHandshake: () => {}, onMessage: (message: Message) => sent.push(message) }
  const connection: Connection = {
    remote: { host: peer.host ?? "10.0.0.5", port: 6881 },
    write: (bytes) => {
      decoder.push(bytes, sink)
      return true
    },
    start: (next) => {
      handlers = next
    },
    cork: () => {},
    uncork: () => {},
    pause: () => {},
    resume: () => {},
    destroy: () => handlers?.onClose(undefined)
  }
  const swarm = peer.swarm ?? new Swarm({
    torrent,
    peerId: new Uint8Array(20).fill(1),
    port: 6881,
    have: new Bitfield(torrent.pieceCount),
    now: () => now,
    random: () => 0.5,
    bans: new BanList({ now: () => now, banMs: 3_600_000, maxBanMs: 3_600_000, strikesToBan: 3, capacity: 100 }),
    cacheBytes: 4 * torrent.pieceLength,
    backlogBytes: 16 * torrent.pieceLength,
    outstandingBytes: 16 * 1024 * 1024,
    choke: defaultChokeConfig,
    onPieceComplete: () => {},
    onLoadPiece: () => {},
    onPeers: peer.onPeers ?? (() => {}),
    dhtPort: undefined,
    onDhtNode: () => {}
  })
  const link = new PeerLink(connection, swarm, {
    onHandshake: () => {},
    onClose: (error) => {
      closedWith = error
    }
  }, "outgoing")
  link.start()
  const receive = (...chunks: ReadonlyArray<Uint8Array>) => {
    for (const chunk of chunks) handlers!.onData(chunk)
  }
  receive(encodeHandshake({
    reserved: reservedBytes(peer.capabilities),
    infoHash: torrent.infoHash,
    peerId: peer.peerId ?? new Uint8Array(20).fill(2)
  }))
  const requested = () => {
    const open = new Map<string, true>()
    for (const message of sent) {
      if (message.type === "request") open.set(`${message.index}/${message.begin}`, true)
      if (message.type === "cancel") open.delete(`${message.index}/${message.begin}`)
    }
    return [...open.keys()]
  }
  const block = (index: number, begin: number) => {
    const start = index * torrent.pieceLength + begin
    const length = Math.min(BLOCK_SIZE, torrent.totalLength - start, torrent.pieceLength - begin)
    receive(encodePieceHeader(index, begin, length), content.subarray(start, start + length))
  }
  return { link, swarm, sent, requested, receive, block, closed: () => closedWith, advance: (ms) => (now += ms) }
}
