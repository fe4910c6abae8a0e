/**
 * Bans and strikes by IP address, for the whole session, in plain code.
 *
 * Keyed by the address alone, not address and port: a peer that connects to us comes from a new ephemeral port each
 * time, and one we dialled can come back by dialling us. A ban lasts `banMs` (an hour by default) and doubles each
 * time the same address is banned again, up to `maxBanMs`. Both tables are bounded: past `capacity` entries the
 * oldest is forgotten (an address banned long ago, or struck once and never again).
 *
 * Checking costs one map lookup, so a banned peer reconnecting a thousand times costs a thousand lookups and
 * closed sockets, never a handshake read.
 */
export interface BanListOptions {
  readonly now: () => number
  /** How long a first ban lasts. */
  readonly banMs: number
  /** The longest a repeated ban lasts (each ban of the same address doubles the last). */
  readonly maxBanMs: number
  /** Strikes (pieces proven bad) that ban an address. */
  readonly strikesToBan: number
  /** Addresses kept at most, in each table. */
  readonly capacity: number
}

interface Ban {
  readonly until: number
  /** Times this address was banned: the next ban lasts 2^times as long as the first. */
  readonly times: number
  /** Connections refused under this ban. */
  refused: number
}

/** The default ban: an hour, doubling to a day. */
export const BAN_MS = 60 * 60 * 1000
export const MAX_BAN_MS = 24 * BAN_MS
/** Addresses remembered in each table: ~100 bytes each. */
export const BAN_CAPACITY = 10_000

/** The address part of a host as a ban key: an IPv4-mapped IPv6 address is its IPv4 address. */
export const addressKey = (host: string): string => {
  const lower = host.toLowerCase()
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower
}

export class BanList {
  private readonly bans = new Map<string, Ban>()
  private readonly strikes = new Map<string, number>()

  constructor(private readonly options: BanListOptions) {}

  /** Whether `host` is banned now. */
  isBanned(host: string): boolean {
    const ban = this.bans.get(addressKey(host))
    return ban !== undefined && ban.until > this.options.now()
  }

  /**
   * A connection from `host` arrived: whether to refuse it (it is banned). Counted, so a returning peer shows in
   * `refusals`.
   */
  refuse(host: string): boolean {
    const ban = this.bans.get(addressKey(host))
    if (ban === undefined || ban.until <= this.options.now()) return false
    ban.refused++
    return true
  }

  /** Connections refused from `host` under its current (or last) ban. */
  refusals(host: string): number {
    return this.bans.get(addressKey(host))?.refused ?? 0
  }

  /** Bans `host` now, for longer each time it is banned again. Returns how long, in milliseconds. */
  ban(host: string): number {
    const key = addressKey(host)
    const times = this.bans.get(key)?.times ?? 0
    const ms = Math.min(this.options.maxBanMs, this.options.banMs * 2 ** times)
    this.bans.delete(key)
    this.bans.set(key, { until: this.options.now() + ms, times: times + 1, refused: 0 })
    this.strikes.delete(key)
    trim(this.bans, this.options.capacity)
    return ms
  }

  /** One strike against `host` (a piece it sent proved bad). Returns its strikes, and whether it is now banned. */
  strike(host: string): { readonly strikes: number; readonly banned: boolean } {
    const key = addressKey(host)
    const strikes = (this.strikes.get(key) ?? 0) + 1
    if (strikes >= this.options.strikesToBan) {
      this.ban(key)
      return { strikes, banned: true }
    }
    this.strikes.delete(key)
    this.strikes.set(key, strikes)
    trim(this.strikes, this.options.capacity)
    return { strikes, banned: false }
  }

  /** Addresses in the ban table (banned now or recently): bounded by `capacity`. */
  get size(): number {
    return this.bans.size
  }
}

/** Forgets the oldest entries (Map order: least recently set first) past `capacity`. */
const trim = (map: Map<string, unknown>, capacity: number): void => {
  while (map.size > capacity) map.delete(map.keys().next().value!)
}
