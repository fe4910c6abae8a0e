/**
 * The peers other nodes announced to us (`announce_peer`), per info-hash, for answering `get_peers`. Entries expire
 * 30 minutes after their last announce (peers re-announce well within that); both the peers per info-hash and the
 * info-hashes are capped, so a flood of announces costs bounded memory. Time comes in as numbers (ms).
 */
import type { PeerAddress } from "../wire/compactPeer.js"
import { addressKey, familyOf, type AddressFamily } from "./DhtNode.js"
import { nodeIdHex } from "./NodeId.js"

export const PEER_TTL_MS = 30 * 60_000

export interface PeerStoreOptions {
  /** How long an announce lasts. Default 30 minutes. */
  readonly ttlMs?: number
  /** Peers kept per info-hash; past it the oldest announce makes way. Default 500. */
  readonly maxPeersPerHash?: number
  /** Info-hashes kept; past it announces for new ones are refused until some expire. Default 2000. */
  readonly maxInfoHashes?: number
  /** Uniform in [0, 1), for sampling. Default Math.random. */
  readonly random?: () => number
}

interface Announced {
  readonly peer: PeerAddress
  readonly at: number
}

export class PeerStore {
  private readonly ttlMs: number
  private readonly maxPeers: number
  private readonly maxHashes: number
  private readonly random: () => number
  /** Per info-hash (hex), peers by address in announce order, oldest first (a re-announce moves to the end). */
  private readonly swarms = new Map<string, Map<string, Announced>>()

  constructor(options: PeerStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? PEER_TTL_MS
    this.maxPeers = options.maxPeersPerHash ?? 500
    this.maxHashes = options.maxInfoHashes ?? 2000
    this.random = options.random ?? Math.random
  }

  /** Info-hashes with at least one peer (expired ones may still count until they are next touched or pruned). */
  get infoHashes(): number {
    return this.swarms.size
  }

  /**
   * Records (or refreshes) `peer` for `infoHash`: the announcer's IP as the socket saw it, and its `port` (or the
   * query's source port under `implied_port`). False when refused: a new info-hash while the store is full.
   */
  announce(infoHash: Uint8Array, peer: PeerAddress, now: number): boolean {
    const hash = nodeIdHex(infoHash)
    let swarm = this.swarms.get(hash)
    if (swarm === undefined) {
      if (this.swarms.size >= this.maxHashes) this.prune(now)
      if (this.swarms.size >= this.maxHashes) return false
      swarm = new Map()
      this.swarms.set(hash, swarm)
    }
    const key = addressKey(peer)
    swarm.delete(key)
    swarm.set(key, { peer: { host: peer.host, port: peer.port }, at: now })
    if (swarm.size > this.maxPeers) swarm.delete(swarm.keys().next().value!)
    return true
  }

  /** Live peers for `infoHash`. */
  count(infoHash: Uint8Array, now: number): number {
    return this.live(nodeIdHex(infoHash), now)?.size ?? 0
  }

  /**
   * Up to `n` live peers for `infoHash`, a uniform random sample without repeats; with `family`, only peers of that
   * address family (BEP 32: a reply carries the values of the family the query came over).
   */
  get(infoHash: Uint8Array, n: number, now: number, family?: AddressFamily): Array<PeerAddress> {
    const swarm = this.live(nodeIdHex(infoHash), now)
    if (swarm === undefined) return []
    const pool: Array<PeerAddress> = []
    for (const { peer } of swarm.values()) if (family === undefined || familyOf(peer.host) === family) pool.push(peer)
    // A partial Fisher-Yates shuffle: the first `count` places end up a uniform sample.
    const count = Math.min(Math.max(0, n), pool.length)
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.random() * (pool.length - i))
      ;[pool[i], pool[j]] = [pool[j]!, pool[i]!]
    }
    return pool.slice(0, count)
  }

  /** Drops every expired announce, and info-hashes left with none. */
  prune(now: number): void {
    for (const hash of [...this.swarms.keys()]) this.live(hash, now)
  }

  /** The swarm with its expired announces dropped (oldest first, so the scan stops at the first live one). */
  private live(hash: string, now: number): Map<string, Announced> | undefined {
    const swarm = this.swarms.get(hash)
    if (swarm === undefined) return undefined
    for (const [key, { at }] of swarm) {
      if (now - at < this.ttlMs) break
      swarm.delete(key)
    }
    if (swarm.size > 0) return swarm
    this.swarms.delete(hash)
    return undefined
  }
}
