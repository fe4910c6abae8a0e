import type { Endpoint } from "../net/Datagram.js"
import { formatEndpoint } from "../net/endpoint.js"
import { CLIENT_VERSION } from "../peer/peerId.js"
import {
  decodeExtendedHandshake,
  decodePexMessage,
  encodeExtended,
  encodeExtendedHandshake,
  encodeIp,
  encodePexMessage,
  type ExtendedHandshake,
  type ExtensionName,
  OUR_EXTENSIONS,
  type PexPeer,
  WireError
} from "../wire/index.js"

/** BEP 11: a peer sends at most one PEX message a minute. */
export const PEX_INTERVAL_MS = 60_000
/** PEX messages closer together than this are dropped: a little slack under the minute for timer jitter. */
export const PEX_MIN_GAP_MS = 45_000
/** BEP 11: at most 50 peers added (and dropped) per message; we send no more, and take no more. */
export const PEX_MAX_PEERS = 50
/** Requests we queue for a peer, told in our extended handshake (`reqq`). */
export const OUR_REQUEST_QUEUE = 500

/** Our BEP 10 extended handshake as a whole message. */
export const ourExtendedHandshake = (options: {
  /** The TCP port we listen on. */
  readonly port: number
  /** The size of our info dictionary, when we have it to serve. */
  readonly metadataSize: number | undefined
  /** PEX is not spoken on private torrents (BEP 27). */
  readonly pex: boolean
  /** BEP 55 holepunch: offered where we relay (a running torrent's links), as PEX, not on private torrents. */
  readonly holepunch?: boolean
  /** The peer's address: told back to it as `yourip`. */
  readonly remoteHost: string
}): Uint8Array => {
  const m = new Map<string, number>([["ut_metadata", OUR_EXTENSIONS.ut_metadata]])
  if (options.pex) m.set("ut_pex", OUR_EXTENSIONS.ut_pex)
  if (options.holepunch === true) m.set("ut_holepunch", OUR_EXTENSIONS.ut_holepunch)
  const yourip = encodeIp(options.remoteHost)
  const handshake: ExtendedHandshake = {
    m,
    v: CLIENT_VERSION,
    reqq: OUR_REQUEST_QUEUE,
    ...(options.port > 0 ? { p: options.port } : {}),
    ...(yourip === undefined ? {} : { yourip }),
    ...(options.metadataSize === undefined ? {} : { metadataSize: options.metadataSize })
  }
  return encodeExtended(0, encodeExtendedHandshake(handshake))
}

/**
 * What one peer said of BEP 10 extensions, and the PEX it sends us: which extensions it speaks under which ids,
 * its listening port, and when it last sent PEX (so a flood is dropped). Plain code; one per connection.
 */
export class PeerExtensions {
  private ids: ReadonlyMap<string, number> = new Map()
  /** The peer's extended handshake, once it came. */
  handshake: ExtendedHandshake | undefined
  private lastPexAt = Number.NEGATIVE_INFINITY
  /** PEX messages dropped: too soon after the last one, or malformed. */
  pexDropped = 0

  /**
   * The peer's extended handshake. BEP 10 lets a peer send it again to change its mind: a later one adds to and
   * overrides the earlier (an id of 0 turns an extension off), field by field.
   */
  gotHandshake(payload: Uint8Array): WireError | undefined {
    const handshake = decodeExtendedHandshake(payload)
    if (handshake instanceof WireError) return handshake
    this.ids = new Map([...this.ids, ...handshake.m])
    this.handshake = { ...this.handshake, ...handshake, m: this.ids }
    return undefined
  }

  /** The id to send extension `name` under, if the peer speaks it. */
  idFor(name: ExtensionName): number | undefined {
    const id = this.ids.get(name)
    return id === undefined || id === 0 ? undefined : id
  }

  /** The port the peer listens on, if it told us. */
  get listenPort(): number | undefined {
    return this.handshake?.p
  }

  /** The info dictionary's size as the peer states it, if it has the metadata. */
  get metadataSize(): number | undefined {
    return this.handshake?.metadataSize
  }

  /**
   * A `ut_pex` message: the peers it adds, at most PEX_MAX_PEERS of them. One that comes sooner than a peer may
   * send one, or is malformed, is dropped and counted: PEX is a hint, not worth a connection.
   */
  gotPex(payload: Uint8Array, now: number): ReadonlyArray<Endpoint> {
    const message = now - this.lastPexAt < PEX_MIN_GAP_MS ? undefined : decodePexMessage(payload, PEX_MAX_PEERS)
    if (message === undefined || message instanceof WireError) {
      this.pexDropped++
      return []
    }
    this.lastPexAt = now
    return message.added.map(({ host, port }) => ({ host, port }))
  }
}

/**
 * What we have told one peer through PEX, and when we may tell it more (BEP 11: once a minute, at most 50 added
 * and 50 dropped a message). The first message goes as soon as there is something to say.
 */
export class PexSender {
  private readonly told = new Map<string, PexPeer>()
  private nextAt = Number.NEGATIVE_INFINITY

  /** The PEX payload to send now, given the peers we are connected to by address; `undefined`: nothing now. */
  next(now: number, current: ReadonlyMap<string, PexPeer>, self: string): Uint8Array | undefined {
    if (now < this.nextAt) return undefined
    const added: Array<PexPeer> = []
    for (const [key, peer] of current) {
      if (added.length >= PEX_MAX_PEERS) break
      if (key !== self && !this.told.has(key)) added.push(peer)
    }
    const dropped: Array<PexPeer> = []
    for (const [key, peer] of this.told) {
      if (dropped.length >= PEX_MAX_PEERS) break
      if (!current.has(key)) dropped.push(peer)
    }
    if (added.length === 0 && dropped.length === 0) return undefined
    for (const peer of added) this.told.set(formatEndpoint(peer), peer)
    for (const peer of dropped) this.told.delete(formatEndpoint(peer))
    this.nextAt = now + PEX_INTERVAL_MS
    return encodePexMessage({ added, dropped: dropped.map(({ host, port }) => ({ host, port })) })
  }
}
