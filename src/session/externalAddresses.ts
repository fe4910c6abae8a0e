/**
 * Our own addresses as the swarm sees them, IPv4 and IPv6 apart, in plain code: the `yourip` peers tell us in their
 * extended handshakes (BEP 10) and trackers' `external ip` (BEP 24), voted on so that one liar cannot set them; the
 * address the DHT's own `ip` vote settled on (BEP 42); and the one the gateway gave port mapping, believed as it is.
 * A loopback or private address counts only as such: told by a peer in the same kind of range (a loopback peer
 * naming a loopback address, a LAN peer a private one), it is one of our local addresses, never our public one.
 */
import { isIPv4, isIPv6 } from "node:net"
import { isExemptAddress } from "../dht/bep42.js"
import { AddressVotes } from "../dht/externalAddress.js"
import type { Endpoint } from "../net/Datagram.js"

export type AddressFamily = "ipv4" | "ipv6"
export type AddressScope = "loopback" | "private" | "public"

/** Where a public address came from, most trusted first. */
export type AddressSource = "gateway" | "dht" | "peers"

/** What we know, for progress and `session-get`. */
export interface ExternalAddressReport {
  readonly ipv4?: { readonly address: string; readonly source: AddressSource }
  readonly ipv6?: { readonly address: string; readonly source: AddressSource }
  /** Loopback and private addresses peers in those ranges see us at. */
  readonly local: ReadonlyArray<string>
}

export interface ExternalAddressOptions {
  /** Distinct voters (by IP address) a public address needs, and more than half of all votes. Default 3. */
  readonly quorum?: number
  /** Voters remembered per family; the oldest is forgotten first. Default 64. */
  readonly maxVoters?: number
  /** Local addresses remembered per family; the oldest is forgotten first. Default 8. */
  readonly maxLocal?: number
}

/** An IP literal without brackets or zone, IPv4-mapped IPv6 as IPv4, lower case; undefined for anything else. */
export const normalizeIp = (host: string): string | undefined => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  const lower = bare.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (mapped !== null) return mapped[1]!
  if (isIPv4(lower) || (isIPv6(lower) && !lower.includes("%"))) return lower
  return undefined
}

const familyOf = (ip: string): AddressFamily => (isIPv4(ip) ? "ipv4" : "ipv6")

/** Whether `ip` (normalized) is loopback, private (or link-local, unique-local, unspecified), or public. */
export const scopeOf = (ip: string): AddressScope =>
  ip.startsWith("127.") || ip === "::1" ? "loopback" : isExemptAddress(ip) ? "private" : "public"

interface FamilyState {
  readonly votes: AddressVotes
  gateway: string | undefined
  dht: string | undefined
  /** Local addresses, oldest first. */
  readonly local: Set<string>
}

export class ExternalAddresses {
  /** Reports refused: not an IP address, of the other family than the voter, or a local address from elsewhere. */
  refused = 0
  private readonly families: Record<AddressFamily, FamilyState>
  private readonly maxLocal: number

  constructor(options: ExternalAddressOptions = {}) {
    const family = (): FamilyState => ({
      votes: new AddressVotes(options.quorum ?? 3, options.maxVoters ?? 64),
      gateway: undefined,
      dht: undefined,
      local: new Set()
    })
    this.families = { ipv4: family(), ipv6: family() }
    this.maxLocal = options.maxLocal ?? 8
  }

  /** A peer (`voter`, the address it connects from) says we are at `address` (its `yourip`). */
  fromPeer(voter: string, address: string): void {
    const from = normalizeIp(voter)
    if (from === undefined) return void this.refused++
    this.vote(from, scopeOf(from), address)
  }

  /**
   * A tracker (its URL) says we are at `address` (BEP 24 `external ip`): one vote, under its host, like a peer's. A
   * tracker named by DNS name counts as public (the name is not resolved), `localhost` as loopback.
   */
  fromTracker(url: string, address: string): void {
    let host: string
    try {
      host = new URL(url).hostname
    } catch {
      return void this.refused++
    }
    const ip = normalizeIp(host)
    const scope = ip !== undefined ? scopeOf(ip) : host.toLowerCase() === "localhost" ? "loopback" : "public"
    this.vote(`tracker ${host}`, scope, address)
  }

  /** The address the DHT's own vote settled on (BEP 42 `ip`). */
  fromDht(address: string): void {
    this.setSource("dht", address)
  }

  /** The address the gateway gave port mapping (UPnP `GetExternalIPAddress`, NAT-PMP, PCP). */
  fromGateway(address: string): void {
    this.setSource("gateway", address)
  }

  /** Our public address of a family, and where it came from, if known. */
  publicAddress(family: AddressFamily): { readonly address: string; readonly source: AddressSource } | undefined {
    const state = this.families[family]
    if (state.gateway !== undefined) return { address: state.gateway, source: "gateway" }
    if (state.dht !== undefined) return { address: state.dht, source: "dht" }
    const settled = state.votes.settled
    return settled === undefined ? undefined : { address: settled, source: "peers" }
  }

  /** Whether `host` is one of our addresses, public or local. */
  isOurs(host: string): boolean {
    const ip = normalizeIp(host)
    if (ip === undefined) return false
    const family = familyOf(ip)
    return this.publicAddress(family)?.address === ip || this.families[family].local.has(ip)
  }

  /** Whether `address` is us: one of our addresses with our listening `port`. */
  isSelf(address: Endpoint, port: number): boolean {
    return address.port === port && this.isOurs(address.host)
  }

  get report(): ExternalAddressReport {
    const ipv4 = this.publicAddress("ipv4")
    const ipv6 = this.publicAddress("ipv6")
    return {
      ...(ipv4 === undefined ? {} : { ipv4 }),
      ...(ipv6 === undefined ? {} : { ipv6 }),
      local: [...this.families.ipv4.local, ...this.families.ipv6.local]
    }
  }

  private vote(voter: string, voterScope: AddressScope, address: string): void {
    const ip = normalizeIp(address)
    if (ip === undefined) return void this.refused++
    const state = this.families[familyOf(ip)]
    const scope = scopeOf(ip)
    if (scope === "public") return state.votes.add(voter, ip)
    // Only a voter in that kind of range sees us there: a public peer naming a private address is mistaken or lying.
    if (voterScope !== scope) return void this.refused++
    this.addLocal(state, ip)
  }

  private setSource(source: "gateway" | "dht", address: string): void {
    const ip = normalizeIp(address)
    if (ip === undefined) return void this.refused++
    const state = this.families[familyOf(ip)]
    // A gateway behind another NAT hands out a private address: ours on that network, not the internet's.
    if (scopeOf(ip) !== "public") return this.addLocal(state, ip)
    state[source] = ip
  }

  private addLocal(state: FamilyState, ip: string): void {
    state.local.delete(ip)
    state.local.add(ip)
    if (state.local.size > this.maxLocal) state.local.delete(state.local.values().next().value!)
  }
}
