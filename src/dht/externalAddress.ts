/**
 * Our external address as others see it, from votes: the BEP 42 `ip` in DHT answers (and, in the session, peers'
 * `yourip` and trackers' `external ip`): one vote per voter (its latest), bounded, and aged. Pure; the time of each
 * vote is passed in.
 */
import { isExemptAddress, isSecureNodeId, secureNodeId } from "./bep42.js"
import type { NodeId, RandomBytes } from "./NodeId.js"
import { RoutingTable } from "./RoutingTable.js"

/**
 * How long a vote counts: an hour. Long enough that sources which vote again while nothing changes do so inside it
 * (a tracker re-announces every 30 minutes or so, DHT nodes answer every bucket refresh, 15 minutes); short enough
 * that a laptop that moved to another network stops claiming its old address within the hour even if nobody tells
 * it the new one. A session whose few peers all stay connected for over an hour without new ones forgets its
 * address meanwhile (each peer sends `yourip` once, in its handshake): it is learned again from the next.
 */
export const VOTE_WINDOW_MS = 60 * 60 * 1000

interface Vote {
  readonly address: string
  readonly at: number
}

export class AddressVotes {
  /** Each voter's latest vote, oldest first (a new vote moves its voter to the end). */
  private readonly votes = new Map<string, Vote>()
  /** Votes per address, recomputed only after the votes changed: a new `Map` each time, so callers can cache on it. */
  private counts: ReadonlyMap<string, number> = new Map()
  private stale = false
  /** When the oldest vote ages out. */
  private expires = Infinity
  /** `settled` as of the tally it was read from. */
  private settledFrom: ReadonlyMap<string, number> | undefined
  private settledAddress: string | undefined = undefined

  /**
   * @param quorum votes an address needs, from distinct voters, and more than half of all votes, to be believed.
   * @param maxVoters the most voters remembered; the oldest is forgotten first.
   * @param windowMs how long a vote counts (see VOTE_WINDOW_MS).
   */
  constructor(
    private readonly quorum = 5,
    private readonly maxVoters = 64,
    private readonly windowMs = VOTE_WINDOW_MS
  ) {}

  /** `voter` says at time `now` that we are at `address`. */
  add(voter: string, address: string, now: number): void {
    const last = this.votes.get(voter)
    this.votes.delete(voter)
    this.votes.set(voter, { address, at: now })
    if (last?.address !== address) this.stale = true
    if (this.votes.size > this.maxVoters) {
      this.votes.delete(this.votes.keys().next().value!)
      this.stale = true
    }
    this.expires = this.votes.values().next().value!.at + this.windowMs
  }

  /** Votes per address at `now`: a vote older than the window is gone. The same `Map` until the votes change. */
  tally(now: number): ReadonlyMap<string, number> {
    if (now >= this.expires) this.prune(now)
    if (this.stale) {
      const counts = new Map<string, number>()
      for (const vote of this.votes.values()) counts.set(vote.address, (counts.get(vote.address) ?? 0) + 1)
      this.counts = counts
      this.stale = false
    }
    return this.counts
  }

  /** The address enough voters agree on at `now`, if any. */
  settled(now: number): string | undefined {
    const counts = this.tally(now)
    if (counts === this.settledFrom) return this.settledAddress
    this.settledFrom = counts
    this.settledAddress = undefined
    for (const [address, count] of counts) {
      if (count >= this.quorum && count * 2 > this.votes.size) this.settledAddress = address
    }
    return this.settledAddress
  }

  private prune(now: number): void {
    for (const [voter, vote] of this.votes) {
      if (vote.at + this.windowMs > now) {
        this.expires = vote.at + this.windowMs
        return
      }
      this.votes.delete(voter)
      this.stale = true
    }
    this.expires = Infinity
  }
}

/**
 * The id to use from the next start on, given our `external` address: a BEP 42 id when `ownId` does not conform;
 * undefined when it does or the address is exempt.
 */
export const nextSecureId = (ownId: NodeId, external: string, random: RandomBytes): NodeId | undefined =>
  isExemptAddress(external) || isSecureNodeId(ownId, external) ? undefined : secureNodeId(external, random)

/** `table`'s nodes under a new own id, unverified: what is saved for the next start to load. */
export const reseeded = (table: RoutingTable, id: NodeId, now: number): RoutingTable => {
  const next = new RoutingTable(id, now)
  for (const node of table.nodes()) next.addUnverified(node, now)
  return next
}
