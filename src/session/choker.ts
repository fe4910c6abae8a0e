/**
 * The choking algorithm (BEP 3, "choking and optimistic unchoking"), as pure code: no I/O, no Effect, no clock.
 * The swarm calls `rechoke` once per rechoke interval (10 s), then sends CHOKE to every peer it has unchoked that is
 * not in the result and UNCHOKE to every peer in the result it has choked.
 *
 * Rules, in order:
 *
 * 1. Only peers interested in us are unchoked. BEP 3 also unchokes uninterested peers whose rate beats the worst
 *    downloader (so that they can start at once if they become interested); we do not: an uninterested peer cannot
 *    use the slot, and the swarm may unchoke a newly interested peer straight away if a slot is free.
 * 2. Regular slots (`uploadSlots`, default 4) go by reciprocation: while leeching to the interested peers we download
 *    fastest from, while seeding to those we upload fastest to. While leeching, snubbed peers rank below every
 *    non-snubbed one: they lose their slot to any peer that is not snubbed, and only fill slots that no one else
 *    wants (an idle upload slot helps nobody). Equal rates go first to peers already unchoked (no churn of choke
 *    messages, which BEP 3 calls fibrillation), then in a random order drawn from the injected generator.
 * 3. One optimistic slot, on top of the regular ones (so at most `uploadSlots + 1` peers are unchoked; BEP 3 counts
 *    it among the four, mainline clients since added it): an interested peer outside the regular slots, drawn at
 *    random with peers connected for less than `newPeerMs` three times as likely. It is kept for `optimisticEvery`
 *    rounds (3 = 30 s), then re-drawn (another peer if there is one). It is re-drawn at once when it disconnects or
 *    loses interest, and when it earns a regular slot on its own rates (it has shown it reciprocates; the optimistic
 *    slot goes to someone else).
 */

/** A view of one connected peer at rechoke time. `peer` is an identity: each appears at most once per call. */
export interface ChokePeer<P> {
  readonly peer: P
  /** The peer is interested in us. */
  readonly interested: boolean
  /** Bytes/s we receive from the peer. */
  readonly downloadRate: number
  /** Bytes/s we send to the peer. */
  readonly uploadRate: number
  /** When the connection was established, in ms (same clock as `now`). */
  readonly connectedAt: number
  /** It has sent us no block for the snub timeout while we wanted blocks from it (the caller decides). */
  readonly snubbed: boolean
  /** We currently unchoke it. */
  readonly unchoked: boolean
}

export interface ChokerState<P> {
  /** The optimistically unchoked peer, if any. */
  readonly optimistic: P | undefined
  /** The round in which `optimistic` was drawn. */
  readonly optimisticSince: number
  /** Rounds completed so far: the number of earlier `rechoke` calls. */
  readonly round: number
}

export interface ChokeConfig {
  /** Regular (reciprocation) upload slots. */
  readonly uploadSlots: number
  /** Rounds an optimistic unchoke lasts: 3 = 30 s at a 10 s rechoke interval. */
  readonly optimisticEvery: number
  /** Peers connected for less than this (ms) are three times as likely to be drawn for the optimistic slot. */
  readonly newPeerMs: number
}

export const defaultChokeConfig: ChokeConfig = { uploadSlots: 4, optimisticEvery: 3, newPeerMs: 60_000 }

/** The state before the first rechoke. */
export const initialChokerState: ChokerState<never> = { optimistic: undefined, optimisticSince: 0, round: 0 }

export type ChokeMode = "leeching" | "seeding"

export interface RechokeResult<P> {
  /** Exactly the peers to keep or make unchoked; every other peer is choked. */
  readonly unchoke: ReadonlySet<P>
  /** The peers holding regular slots (a subset of `unchoke`). */
  readonly regular: ReadonlySet<P>
  readonly state: ChokerState<P>
}

/** How much likelier a new peer is to be drawn for the optimistic slot (BEP 3). */
export const NEW_PEER_WEIGHT = 3

/**
 * One rechoke round. Deterministic given `random` (uniform in [0, 1)). Throws RangeError on a nonsensical config.
 */
export const rechoke = <P>(
  peers: ReadonlyArray<ChokePeer<P>>,
  state: ChokerState<P>,
  mode: ChokeMode,
  now: number,
  config: ChokeConfig,
  random: () => number
): RechokeResult<P> => {
  validate(config)
  const round = state.round
  const interested = peers.filter((p) => p.interested)

  // Regular slots: rank every interested peer, take the top uploadSlots.
  const ranked = interested.map((p) => ({
    p,
    rate: rateOf(p, mode),
    last: mode === "leeching" && p.snubbed,
    tie: random()
  }))
  ranked.sort((a, b) =>
    Number(a.last) - Number(b.last) ||
    b.rate - a.rate ||
    Number(b.p.unchoked) - Number(a.p.unchoked) ||
    a.tie - b.tie
  )
  const regular = new Set<P>(ranked.slice(0, config.uploadSlots).map((r) => r.p.peer))

  // The optimistic slot: keep it, or re-draw among the interested peers outside the regular slots.
  const current = state.optimistic
  const keep = current !== undefined &&
    !regular.has(current) &&
    interested.some((p) => p.peer === current) &&
    round - state.optimisticSince < config.optimisticEvery
  let optimistic: P | undefined = current
  let optimisticSince = state.optimisticSince
  if (!keep) {
    const outside = interested.filter((p) => !regular.has(p.peer))
    const others = outside.filter((p) => p.peer !== current)
    optimistic = draw(others.length > 0 ? others : outside, now, config.newPeerMs, random)
    optimisticSince = round
  }

  const unchoke = new Set(regular)
  if (optimistic !== undefined) unchoke.add(optimistic)
  return { unchoke, regular, state: { optimistic, optimisticSince, round: round + 1 } }
}

const rateOf = <P>(p: ChokePeer<P>, mode: ChokeMode): number => {
  const rate = mode === "leeching" ? p.downloadRate : p.uploadRate
  return Number.isFinite(rate) && rate > 0 ? rate : 0
}

/** A weighted draw: new peers weigh NEW_PEER_WEIGHT, others 1. One call to `random` (none when nothing to draw). */
const draw = <P>(
  candidates: ReadonlyArray<ChokePeer<P>>,
  now: number,
  newPeerMs: number,
  random: () => number
): P | undefined => {
  if (candidates.length === 0) return undefined
  const weights = candidates.map((p) => (now - p.connectedAt < newPeerMs ? NEW_PEER_WEIGHT : 1))
  const total = weights.reduce((sum, w) => sum + w, 0)
  let r = random() * total
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i]!
    if (r < 0) return candidates[i]!.peer
  }
  return candidates[candidates.length - 1]!.peer
}

const validate = (config: ChokeConfig): void => {
  if (!Number.isInteger(config.uploadSlots) || config.uploadSlots < 0) {
    throw new RangeError(`uploadSlots must be a non-negative integer, got ${config.uploadSlots}`)
  }
  if (!Number.isInteger(config.optimisticEvery) || config.optimisticEvery < 1) {
    throw new RangeError(`optimisticEvery must be a positive integer, got ${config.optimisticEvery}`)
  }
  if (!(config.newPeerMs >= 0)) throw new RangeError(`newPeerMs must be non-negative, got ${config.newPeerMs}`)
}
