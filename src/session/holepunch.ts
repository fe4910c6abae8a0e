/**
 * BEP 55 holepunch for one torrent, in plain code: as a relay, a `rendezvous` from a peer we are connected to is
 * answered with a `connect` to both sides (or an `error`); as the initiator or the target, a `connect` from a peer
 * we are connected to makes us dial the address it names (over uTP, the caller's concern), once. Everything is
 * bounded: messages per peer per minute, dials in flight, rendezvous we wait on; and what is refused is counted.
 */
import type { Endpoint } from "../net/Datagram.js"
import { formatEndpoint } from "../net/endpoint.js"
import { HolepunchErrorCode, type HolepunchMessage } from "../wire/holepunch.js"

/** A connected peer as holepunch sees it. */
export interface HolepunchLink {
  /** The address the peer is connected from (what a relay tells the other side to dial). */
  readonly remote: Endpoint
  /** Where it accepts connections, if known (its BEP 10 `p`, or the address we dialled). */
  readonly listenAddress: Endpoint | undefined
  /** It named ut_holepunch in its extended handshake. */
  readonly speaksHolepunch: boolean
  readonly send: (message: HolepunchMessage) => void
}

export interface HolepunchOptions {
  readonly now: () => number
  /** The connected peer at an address (its listen address or the one it connects from), if any. */
  readonly findLink: (address: Endpoint) => HolepunchLink | undefined
  /** Whether an address is ours (a rendezvous for ourselves is refused). */
  readonly isSelf: (address: Endpoint) => boolean
  /** Dials `address` (over uTP): a `connect` we act on. */
  readonly dial: (address: Endpoint) => void
  /** Messages taken from one peer per minute; the rest are dropped and counted. Default 20. */
  readonly perPeerPerMinute?: number
  /** Dials from `connect` messages at once, at most (the caller says when one ends). Default 8. */
  readonly maxDials?: number
  /** Rendezvous of ours waiting for their `connect`, at most; older ones are forgotten. Default 32. */
  readonly maxAsked?: number
}

/** What holepunch did and refused, for stats and tests. */
export interface HolepunchCounts {
  /** Rendezvous we sent, asking a relay to introduce us. */
  asked: number
  /** Peers we could not dial and no connected peer had told us of: nobody to ask. */
  noRelay: number
  /** Rendezvous relayed: a `connect` sent to both sides. */
  relayed: number
  /** Rendezvous refused with an `error` (a target we are not connected to, that does not speak it, or us). */
  refused: number
  /** `connect` messages acted on (a dial started). */
  dialled: number
  /** `connect` messages not acted on: a peer already connected, too many dials already, or our own address. */
  connectsIgnored: number
  /** `error` answers to our rendezvous, and those to rendezvous we never sent (ignored). */
  errorsReceived: number
  unsolicitedErrors: number
  /** Messages over a peer's per-minute allowance. */
  rateLimited: number
}

const MINUTE_MS = 60_000

export class Holepunch {
  readonly counts: HolepunchCounts = {
    asked: 0,
    noRelay: 0,
    relayed: 0,
    refused: 0,
    dialled: 0,
    connectsIgnored: 0,
    errorsReceived: 0,
    unsolicitedErrors: 0,
    rateLimited: 0
  }
  /** Per peer (by remote address): the minute it was last counted in, and its messages in that minute. */
  private readonly allowance = new Map<string, { minute: number; count: number }>()
  /** Our rendezvous waiting on an answer: "relay|target". */
  private readonly asked = new Set<string>()
  private dials = 0

  constructor(private readonly options: HolepunchOptions) {}

  /** Asks `relay` to introduce us to `target` (a peer it is connected to and we cannot reach). */
  ask(relay: HolepunchLink, target: Endpoint): boolean {
    if (!relay.speaksHolepunch) return false
    const key = `${formatEndpoint(relay.remote)}|${formatEndpoint(target)}`
    if (this.asked.size >= (this.options.maxAsked ?? 32)) this.asked.delete(this.asked.values().next().value!)
    this.asked.add(key)
    relay.send({ type: "rendezvous", peer: target, errorCode: 0 })
    this.counts.asked++
    return true
  }

  /** A `ut_holepunch` message from a connected peer. */
  received(from: HolepunchLink, message: HolepunchMessage): void {
    if (!this.allow(from)) {
      this.counts.rateLimited++
      return
    }
    switch (message.type) {
      case "rendezvous":
        return this.relay(from, message.peer)
      case "connect":
        return this.connect(from, message.peer)
      case "error": {
        const key = `${formatEndpoint(from.remote)}|${formatEndpoint(message.peer)}`
        if (this.asked.delete(key)) this.counts.errorsReceived++
        else this.counts.unsolicitedErrors++
        return
      }
    }
  }

  /** A dial started from a `connect` is over (connected or not). */
  dialEnded(): void {
    this.dials = Math.max(0, this.dials - 1)
  }

  private relay(from: HolepunchLink, target: Endpoint): void {
    const refuse = (code: number) => {
      this.counts.refused++
      from.send({ type: "error", peer: target, errorCode: code })
    }
    if (this.options.isSelf(target)) return refuse(HolepunchErrorCode.noSelf)
    const link = this.options.findLink(target)
    if (link === undefined) return refuse(HolepunchErrorCode.notConnected)
    if (!link.speaksHolepunch) return refuse(HolepunchErrorCode.noSupport)
    // Each side dials the other where the relay sees it: the address a NAT opened for it.
    link.send({ type: "connect", peer: from.remote, errorCode: 0 })
    from.send({ type: "connect", peer: link.remote, errorCode: 0 })
    this.counts.relayed++
  }

  private connect(from: HolepunchLink, peer: Endpoint): void {
    this.asked.delete(`${formatEndpoint(from.remote)}|${formatEndpoint(peer)}`)
    const busy = this.dials >= (this.options.maxDials ?? 8)
    if (busy || this.options.isSelf(peer) || this.options.findLink(peer) !== undefined) {
      this.counts.connectsIgnored++
      return
    }
    this.dials++
    this.counts.dialled++
    this.options.dial(peer)
  }

  private allow(from: HolepunchLink): boolean {
    const key = formatEndpoint(from.remote)
    const minute = Math.floor(this.options.now() / MINUTE_MS)
    const seen = this.allowance.get(key)
    if (seen === undefined || seen.minute !== minute) {
      // Entries of earlier minutes are dropped as the map is touched, so it holds at most this minute's senders.
      if (seen === undefined) for (const [k, v] of this.allowance) if (v.minute !== minute) this.allowance.delete(k)
      this.allowance.set(key, { minute, count: 1 })
      return true
    }
    seen.count++
    return seen.count <= (this.options.perPeerPerMinute ?? 20)
  }
}
