/**
 * Our external address as other nodes see it, from the BEP 42 `ip` in their answers: one vote per answering IP
 * address (its latest), bounded. Pure.
 */
import { isExemptAddress, isSecureNodeId, secureNodeId } from "./bep42.js"
import type { NodeId, RandomBytes } from "./NodeId.js"
import { RoutingTable } from "./RoutingTable.js"

export class AddressVotes {
  private readonly votes = new Map<string, string>()

  /**
   * @param quorum votes an address needs, from distinct voters, and more than half of all votes, to be believed.
   * @param maxVoters the most voters remembered; the oldest is forgotten first.
   */
  constructor(private readonly quorum = 5, private readonly maxVoters = 64) {}

  /** `voter` (an answering node's IP) says we are at `address`. */
  add(voter: string, address: string): void {
    this.votes.delete(voter)
    this.votes.set(voter, address)
    if (this.votes.size > this.maxVoters) this.votes.delete(this.votes.keys().next().value!)
  }

  /** The address enough voters agree on, if any. */
  get settled(): string | undefined {
    const counts = new Map<string, number>()
    for (const address of this.votes.values()) counts.set(address, (counts.get(address) ?? 0) + 1)
    for (const [address, count] of counts) {
      if (count >= this.quorum && count * 2 > this.votes.size) return address
    }
    return undefined
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
