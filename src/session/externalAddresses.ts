/**
 * Our own addresses as the swarm sees them, IPv4 and IPv6 apart, in plain code: the `yourip` peers tell us in their
 * extended handshakes (BEP 10) and trackers' `external ip` (BEP 24), voted on so that one liar cannot set them; the
 * address the DHT's own `ip` vote settles on (BEP 42); and the one the gateway gave port mapping, believed as it is.
 *
 * Votes age: one counts for an hour from when it was cast (VOTE_WINDOW_MS says why), so a laptop that moved to
 * another network stops claiming its old address. The gateway's and the DHT's words are their latest: each stays
 * until its source says otherwise, and is replaced at once when it does (the DHT ages its own votes).
 *
 * A loopback or private address counts only as such: told by a peer in the same kind of range (a loopback peer
 * naming a loopback address, a LAN peer a private one), it is one of our local addresses, never our public one; and
 * only while it has more than half of what the sources in that range say (each voter's latest vote, and the gateway
 * and the DHT when they name an address there), so one LAN peer's word is not enough when another source
 * disagrees. The gateway's and the DHT's local addresses are ours as told.
 *
 * Reading (`isSelf`, `publicAddress`, `report`) costs a clock read and a comparison while no vote changed or aged
 * out; the tallies are recomputed only then.
 */
import { isIPv4, isIPv6 } from "node:net"
import { isExemptAddress } from "../dht/bep42.js"
import { AddressVotes, VOTE_WINDOW_MS } from "../dht/externalAddress.js"
import type { Endpoint } from "../net/Datagram.js"

export type AddressFamily = "ipv4" | "ipv6"
export type AddressScope = "loopback" | "private" | "public"

/** Where a public address came from, most trusted first. */
export type AddressSource = "gateway" | "dht" | "peers"

/** What we know, for progress and `session-get`. */
export interface ExternalAddressReport {
  readonly ipv4?: { readonly address: string; readonly source: AddressSource }
  readonly ipv6?: { readonly address: string; readonly source: AddressSource }
  /**
   * Loopback and private addresses: the gateway's and the DHT's, and per range the one named by more than half of
   * what is said there.
   */
  readonly local: ReadonlyArray<string>
}

export interface ExternalAddressOptions {
  /** The time, in milliseconds (the session's Clock). */
  readonly now: () => number
  /** Distinct voters (by IP address) a public address needs, and more than half of all votes. Default 3. */
  readonly quorum?: number
  /** Voters remembered per family, for public and local addresses each; the oldest is forgotten first. Default 64. */
  readonly maxVoters?: number
  /** How long a vote counts. Default VOTE_WINDOW_MS (an hour). */
  readonly windowMs?: number
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
  /** Votes for public addresses. */
  readonly votes: AddressVotes
  /** Votes for loopback and private addresses, from voters in those ranges. */
  readonly localVotes: AddressVotes
  /** The gateway's and the DHT's latest word, of any scope. */
  gateway: string | undefined
  dht: string | undefined
  /** The local addresses as of `localFrom` (the local tally they were read from) and the gateway's and DHT's words. */
  local: ReadonlyArray<string>
  localFrom: ReadonlyMap<string, number> | undefined
}

export class ExternalAddresses {
  /** Reports refused: not an IP address, of the other family than the voter, or a local address from elsewhere. */
  refused = 0
  private readonly families: Record<AddressFamily, FamilyState>
  private readonly now: () => number

  constructor(options: ExternalAddressOptions) {
    const votes = () =>
      new AddressVotes(options.quorum ?? 3, options.maxVoters ?? 64, options.windowMs ?? VOTE_WINDOW_MS)
    const family = (): FamilyState => ({
      votes: votes(),
      localVotes: votes(),
      gateway: undefined,
      dht: undefined,
      local: [],
      localFrom: undefined
    })
    this.families = { ipv4: family(), ipv6: family() }
    this.now = options.now
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

  /** What the DHT's own vote (BEP 42 `ip`) settles on for `family` now: undefined when it settles on nothing. */
  fromDht(family: AddressFamily, address: string | undefined): void {
    this.setSource("dht", family, address)
  }

  /** The address the gateway gave port mapping (UPnP `GetExternalIPAddress`, NAT-PMP, PCP): replaces its last. */
  fromGateway(address: string): void {
    const ip = normalizeIp(address)
    if (ip === undefined) return void this.refused++
    this.setSource("gateway", familyOf(ip), ip)
  }

  /** Our public address of a family, and where it came from, if known. */
  publicAddress(family: AddressFamily): { readonly address: string; readonly source: AddressSource } | undefined {
    const state = this.families[family]
    if (state.gateway !== undefined && scopeOf(state.gateway) === "public") {
      return { address: state.gateway, source: "gateway" }
    }
    if (state.dht !== undefined && scopeOf(state.dht) === "public") return { address: state.dht, source: "dht" }
    const settled = state.votes.settled(this.now())
    return settled === undefined ? undefined : { address: settled, source: "peers" }
  }

  /** Whether `host` is one of our addresses, public or local. */
  isOurs(host: string): boolean {
    const ip = normalizeIp(host)
    if (ip === undefined) return false
    const family = familyOf(ip)
    return this.publicAddress(family)?.address === ip || this.localOf(family).includes(ip)
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
      local: [...this.localOf("ipv4"), ...this.localOf("ipv6")]
    }
  }

  private vote(voter: string, voterScope: AddressScope, address: string): void {
    const ip = normalizeIp(address)
    if (ip === undefined) return void this.refused++
    const state = this.families[familyOf(ip)]
    const scope = scopeOf(ip)
    if (scope === "public") return state.votes.add(voter, ip, this.now())
    // Only a voter in that kind of range sees us there: a public peer naming a private address is mistaken or lying.
    if (voterScope !== scope) return void this.refused++
    state.localVotes.add(voter, ip, this.now())
  }

  private setSource(source: "gateway" | "dht", family: AddressFamily, address: string | undefined): void {
    const ip = address === undefined ? undefined : normalizeIp(address)
    if (address !== undefined && (ip === undefined || familyOf(ip) !== family)) return void this.refused++
    const state = this.families[family]
    if (state[source] === ip) return
    state[source] = ip
    state.localFrom = undefined
  }

  /**
   * A family's local addresses: the gateway's and the DHT's when they name one, then per range (loopback, private)
   * the address with more than half of the voters there, the gateway and the DHT counting one each.
   */
  private localOf(family: AddressFamily): ReadonlyArray<string> {
    const state = this.families[family]
    const tally = state.localVotes.tally(this.now())
    if (tally === state.localFrom) return state.local
    const told = [state.gateway, state.dht].filter((ip): ip is string => ip !== undefined && scopeOf(ip) !== "public")
    const counts = new Map(tally)
    for (const ip of told) counts.set(ip, (counts.get(ip) ?? 0) + 1)
    const totals: Record<AddressScope, number> = { loopback: 0, private: 0, public: 0 }
    for (const [ip, count] of counts) totals[scopeOf(ip)] += count
    const local = new Set(told)
    for (const [ip, count] of counts) if (count * 2 > totals[scopeOf(ip)]) local.add(ip)
    state.local = [...local]
    state.localFrom = tally
    return state.local
  }
}
