import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  type ChokeConfig,
  type ChokeMode,
  type ChokePeer,
  type ChokerState,
  defaultChokeConfig,
  initialChokerState,
  rechoke,
  type RechokeResult
} from "../../src/session/choker.js"
import { seeded } from "../support/seeded.js"


const NOW = 1_000_000
/** Connected long enough ago not to count as new. */
const OLD = NOW - 10 * 60_000

const peer = (name: string, fields: Partial<Omit<ChokePeer<string>, "peer">> = {}): ChokePeer<string> => ({
  peer: name,
  interested: true,
  downloadRate: 0,
  uploadRate: 0,
  connectedAt: OLD,
  snubbed: false,
  unchoked: false,
  ...fields
})

const run = (
  peers: ReadonlyArray<ChokePeer<string>>,
  options: {
    readonly state?: ChokerState<string>
    readonly mode?: ChokeMode
    readonly config?: ChokeConfig
    readonly random?: () => number
    readonly now?: number
  } = {}
): RechokeResult<string> =>
  rechoke(
    peers,
    options.state ?? initialChokerState,
    options.mode ?? "leeching",
    options.now ?? NOW,
    options.config ?? defaultChokeConfig,
    options.random ?? seeded(1)
  )

const sorted = (set: ReadonlySet<string>): Array<string> => [...set].sort()

/** Four fast peers that hold the regular slots, and `slow` more interested peers at rate 0. */
const swarm = (slow: number, fields: Partial<Omit<ChokePeer<string>, "peer">> = {}): Array<ChokePeer<string>> => [
  ...["f1", "f2", "f3", "f4"].map((name, i) => peer(name, { downloadRate: 1000 * (i + 1), uploadRate: 1000 })),
  ...Array.from({ length: slow }, (_, i) => peer(`s${i}`, fields))
]

describe("choker: regular slots", () => {
  it("while leeching, go to the interested peers we download fastest from", () => {
    const peers = [
      peer("a", { downloadRate: 100, uploadRate: 900 }),
      peer("b", { downloadRate: 600, uploadRate: 100 }),
      peer("c", { downloadRate: 300, uploadRate: 800 }),
      peer("d", { downloadRate: 500, uploadRate: 200 }),
      peer("e", { downloadRate: 200, uploadRate: 700 }),
      peer("f", { downloadRate: 400, uploadRate: 300 })
    ]
    const result = run(peers, { mode: "leeching" })
    expect(sorted(result.regular)).toEqual(["b", "c", "d", "f"])
    expect(result.unchoke.size).toBe(5)
    expect(["a", "e"]).toContain(result.state.optimistic)
  })

  it("while seeding, go to the interested peers we upload fastest to", () => {
    const peers = [
      peer("a", { downloadRate: 100, uploadRate: 900 }),
      peer("b", { downloadRate: 600, uploadRate: 100 }),
      peer("c", { downloadRate: 300, uploadRate: 800 }),
      peer("d", { downloadRate: 500, uploadRate: 200 }),
      peer("e", { downloadRate: 200, uploadRate: 700 }),
      peer("f", { downloadRate: 400, uploadRate: 300 })
    ]
    const result = run(peers, { mode: "seeding" })
    expect(sorted(result.regular)).toEqual(["a", "c", "e", "f"])
    expect(["b", "d"]).toContain(result.state.optimistic)
  })

  it("honours the configured number of slots", () => {
    const peers = Array.from({ length: 10 }, (_, i) => peer(`p${i}`, { downloadRate: i * 10 }))
    const result = run(peers, { config: { ...defaultChokeConfig, uploadSlots: 2 } })
    expect(sorted(result.regular)).toEqual(["p8", "p9"])
    expect(result.unchoke.size).toBe(3)
    const none = run(peers, { config: { ...defaultChokeConfig, uploadSlots: 0 } })
    expect(none.regular.size).toBe(0)
    expect(none.unchoke.size).toBe(1)
  })

  it("takes snubbed peers out of the regular slots while leeching", () => {
    const peers = [
      peer("snub", { downloadRate: 5000, snubbed: true, unchoked: true }),
      ...["a", "b", "c", "d"].map((name, i) => peer(name, { downloadRate: 10 * (i + 1) }))
    ]
    const result = run(peers, { mode: "leeching" })
    expect(sorted(result.regular)).toEqual(["a", "b", "c", "d"])
    // It may still be drawn for the optimistic slot, like any other interested peer outside the regular slots.
    expect(result.state.optimistic).toBe("snub")
  })

  it("lets a snubbed peer fill a slot nobody else wants, and ignores snubbing while seeding", () => {
    const peers = [peer("snub", { downloadRate: 5000, snubbed: true }), peer("a", { downloadRate: 10 })]
    expect(sorted(run(peers, { mode: "leeching" }).regular)).toEqual(["a", "snub"])
    const seeding = [
      peer("snub", { uploadRate: 5000, snubbed: true }),
      ...["a", "b", "c", "d"].map((name, i) => peer(name, { uploadRate: 10 * (i + 1) }))
    ]
    expect(sorted(run(seeding, { mode: "seeding" }).regular)).toEqual(["b", "c", "d", "snub"])
  })

  it("gives uninterested peers no slot, however fast", () => {
    const peers = [
      peer("u1", { interested: false, downloadRate: 9000, uploadRate: 9000, unchoked: true }),
      peer("u2", { interested: false, downloadRate: 8000, uploadRate: 8000, connectedAt: NOW }),
      ...["a", "b", "c", "d", "e"].map((name, i) => peer(name, { downloadRate: i, uploadRate: i }))
    ]
    for (const mode of ["leeching", "seeding"] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const result = run(peers, { mode, random: seeded(seed) })
        expect(result.unchoke.has("u1")).toBe(false)
        expect(result.unchoke.has("u2")).toBe(false)
        expect(sorted(result.unchoke)).toEqual(["a", "b", "c", "d", "e"])
      }
    }
  })

  it("unchokes every interested peer when there are fewer than the slots", () => {
    const peers = [
      peer("a"),
      peer("b", { downloadRate: 10 }),
      peer("c", { snubbed: true }),
      peer("u", { interested: false })
    ]
    const result = run(peers)
    expect(sorted(result.unchoke)).toEqual(["a", "b", "c"])
    expect(result.state.optimistic).toBeUndefined()
    expect(run([], {}).unchoke.size).toBe(0)
  })

  it("breaks ties in favour of peers already unchoked, then at random", () => {
    const incumbents = ["a", "b", "c", "d"]
    const peers = ["a", "b", "c", "d", "e", "f", "g", "h"].map((name) =>
      peer(name, { unchoked: incumbents.includes(name) })
    )
    for (let seed = 0; seed < 20; seed++) {
      expect(sorted(run(peers, { random: seeded(seed) }).regular)).toEqual(incumbents)
    }
    // With nobody unchoked, who wins a tie depends on the generator: every peer gets a slot under some seed.
    const fresh = peers.map((p) => ({ ...p, unchoked: false }))
    const winners = new Set<string>()
    for (let seed = 0; seed < 50; seed++) for (const p of run(fresh, { random: seeded(seed) }).regular) winners.add(p)
    expect(winners.size).toBe(8)
    // ... and the same generator gives the same answer.
    expect(run(fresh, { random: seeded(7) })).toEqual(run(fresh, { random: seeded(7) }))
  })

  it("rejects a nonsensical configuration", () => {
    const peers = [peer("a")]
    expect(() => run(peers, { config: { ...defaultChokeConfig, uploadSlots: -1 } })).toThrow(RangeError)
    expect(() => run(peers, { config: { ...defaultChokeConfig, uploadSlots: 1.5 } })).toThrow(RangeError)
    expect(() => run(peers, { config: { ...defaultChokeConfig, optimisticEvery: 0 } })).toThrow(RangeError)
    expect(() => run(peers, { config: { ...defaultChokeConfig, newPeerMs: Number.NaN } })).toThrow(RangeError)
  })
})

describe("choker: optimistic unchoke", () => {
  /** Runs `rounds` rechokes over a fixed peer set; returns the optimistic peer and the result of each round. */
  const rounds = (peers: ReadonlyArray<ChokePeer<string>>, count: number, config = defaultChokeConfig, seed = 3) => {
    const random = seeded(seed)
    let state: ChokerState<string> = initialChokerState
    const results: Array<RechokeResult<string>> = []
    for (let i = 0; i < count; i++) {
      const result = rechoke(peers, state, "leeching", NOW, config, random)
      results.push(result)
      state = result.state
    }
    return results
  }

  it("rotates exactly every optimisticEvery rounds, never onto a regular-slot peer", () => {
    for (const optimisticEvery of [1, 2, 3, 5]) {
      const config = { ...defaultChokeConfig, optimisticEvery }
      const results = rounds(swarm(6), 4 * optimisticEvery + 1, config)
      results.forEach((result, i) => {
        expect(result.state.round).toBe(i + 1)
        const optimistic = result.state.optimistic
        expect(optimistic).toBeDefined()
        expect(result.regular.has(optimistic!)).toBe(false)
        expect(sorted(result.regular)).toEqual(["f1", "f2", "f3", "f4"])
        expect(result.unchoke.size).toBe(5)
        expect(result.unchoke.has(optimistic!)).toBe(true)
        if (i > 0) {
          const previous = results[i - 1]!.state.optimistic
          // A rotation always moves to another peer when there is one.
          if (i % optimisticEvery === 0) expect(optimistic).not.toBe(previous)
          else expect(optimistic).toBe(previous)
        }
      })
    }
  })

  it("keeps the only candidate when there is nobody to rotate to", () => {
    const results = rounds(swarm(1), 7)
    for (const result of results) expect(result.state.optimistic).toBe("s0")
  })

  it("favours peers connected for less than newPeerMs three to one", () => {
    const peers = [
      ...swarm(0),
      peer("new1", { connectedAt: NOW - 1000 }),
      peer("new2", { connectedAt: NOW - 59_999 }),
      ...Array.from({ length: 8 }, (_, i) => peer(`old${i}`, { connectedAt: NOW - 60_000 }))
    ]
    const random = seeded(42)
    const counts = new Map<string, number>()
    const draws = 30_000
    for (let i = 0; i < draws; i++) {
      const result = rechoke(peers, initialChokerState, "leeching", NOW, defaultChokeConfig, random)
      const optimistic = result.state.optimistic!
      counts.set(optimistic, (counts.get(optimistic) ?? 0) + 1)
    }
    const newShare = ((counts.get("new1") ?? 0) + (counts.get("new2") ?? 0)) / draws
    // Weights: 2 new x 3 against 8 old x 1, so new peers win 6 / 14 of the draws (uniform would be 2 / 10).
    expect(newShare).toBeGreaterThan(6 / 14 - 0.02)
    expect(newShare).toBeLessThan(6 / 14 + 0.02)
    const perNew = newShare / 2
    const perOld = (1 - newShare) / 8
    expect(perNew / perOld).toBeGreaterThan(2.7)
    expect(perNew / perOld).toBeLessThan(3.3)
    for (const p of peers) if (!p.peer.startsWith("f")) expect(counts.get(p.peer) ?? 0).toBeGreaterThan(0)
  })

  it("replaces an optimistic peer that disconnects or loses interest at once, with a full period of its own", () => {
    const peers = swarm(6)
    const random = seeded(5)
    const first = rechoke(peers, initialChokerState, "leeching", NOW, defaultChokeConfig, random)
    const gone = first.state.optimistic!
    // Round 1: it disconnected; no waiting for round 3.
    const remaining = peers.filter((p) => p.peer !== gone)
    const second = rechoke(remaining, first.state, "leeching", NOW, defaultChokeConfig, random)
    const replacement = second.state.optimistic!
    expect(replacement).toBeDefined()
    expect(replacement).not.toBe(gone)
    expect(second.unchoke.has(gone)).toBe(false)
    // The replacement holds the slot for rounds 1, 2, 3 and is rotated at round 4.
    let state = second.state
    for (let round = 2; round <= 4; round++) {
      const result = rechoke(remaining, state, "leeching", NOW, defaultChokeConfig, random)
      if (round < 4) expect(result.state.optimistic).toBe(replacement)
      else expect(result.state.optimistic).not.toBe(replacement)
      state = result.state
    }
    // Losing interest counts the same as leaving.
    const bored = peers.map((p) => (p.peer === replacement ? { ...p, interested: false } : p))
    const third = rechoke(bored, second.state, "leeching", NOW, defaultChokeConfig, random)
    expect(third.state.optimistic).toBeDefined()
    expect(third.state.optimistic).not.toBe(replacement)
    expect(third.unchoke.has(replacement)).toBe(false)
  })

  it("hands the optimistic slot on when its peer earns a regular slot", () => {
    const peers = swarm(6)
    const random = seeded(9)
    const first = rechoke(peers, initialChokerState, "leeching", NOW, defaultChokeConfig, random)
    const lucky = first.state.optimistic!
    // It reciprocated: now it is the fastest uploader to us, and takes f1's regular slot.
    const after = peers.map((p) => (p.peer === lucky ? { ...p, downloadRate: 10_000, unchoked: true } : p))
    const second = rechoke(after, first.state, "leeching", NOW, defaultChokeConfig, random)
    expect(second.regular.has(lucky)).toBe(true)
    expect(second.regular.has("f1")).toBe(false)
    expect(second.state.optimistic).toBeDefined()
    expect(second.state.optimistic).not.toBe(lucky)
    expect(second.regular.has(second.state.optimistic!)).toBe(false)
    expect(second.unchoke.size).toBe(5)
  })
})

describe("choker: properties", () => {
  const peerArb = (id: number) =>
    fc.record({
      peer: fc.constant<string>(`p${id}`),
      interested: fc.boolean(),
      downloadRate: fc.oneof(fc.constant(0), fc.constant(100), fc.integer({ min: 0, max: 1_000_000 })),
      uploadRate: fc.oneof(fc.constant(0), fc.constant(100), fc.integer({ min: 0, max: 1_000_000 })),
      connectedAt: fc.integer({ min: NOW - 300_000, max: NOW }),
      snubbed: fc.boolean(),
      unchoked: fc.boolean()
    })
  /** A subset of a pool of 12 peer ids, with fresh fields each round. */
  const roundArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 11 }), { maxLength: 12 })
    .chain((ids) => fc.tuple(...ids.map(peerArb)))
  const configArb = fc.record({
    uploadSlots: fc.integer({ min: 0, max: 6 }),
    optimisticEvery: fc.integer({ min: 1, max: 4 }),
    newPeerMs: fc.integer({ min: 0, max: 120_000 })
  })

  it("holds its invariants over sequences of rounds", () => {
    fc.assert(
      fc.property(
        fc.array(roundArb, { minLength: 1, maxLength: 12 }),
        fc.constantFrom<ChokeMode>("leeching", "seeding"),
        configArb,
        fc.integer(),
        (sequence, mode, config, seed) => {
          const random = seeded(seed)
          let state: ChokerState<string> = initialChokerState
          for (const peers of sequence) {
            const result = rechoke(peers, state, mode, NOW, config, random)
            const interested = peers.filter((p) => p.interested)
            const byId = new Map(peers.map((p) => [p.peer, p]))
            const rate = (p: ChokePeer<string>) => (mode === "leeching" ? p.downloadRate : p.uploadRate)
            const demoted = (p: ChokePeer<string>) => mode === "leeching" && p.snubbed

            expect(result.unchoke.size).toBeLessThanOrEqual(config.uploadSlots + 1)
            for (const p of result.unchoke) expect(byId.get(p)?.interested).toBe(true)
            expect(result.regular.size).toBe(Math.min(config.uploadSlots, interested.length))
            for (const p of result.regular) expect(result.unchoke.has(p)).toBe(true)
            // The regular slots are the top-rated interested peers, snubbed ones last while leeching.
            for (const inside of result.regular) {
              const a = byId.get(inside)!
              for (const b of interested) {
                if (result.regular.has(b.peer)) continue
                if (demoted(a)) expect(demoted(b)).toBe(true)
                if (demoted(a) === demoted(b)) expect(rate(a)).toBeGreaterThanOrEqual(rate(b))
              }
            }
            // The optimistic peer: interested, outside the regular slots, present whenever anyone is left to draw.
            const optimistic = result.state.optimistic
            const outside = interested.filter((p) => !result.regular.has(p.peer))
            if (outside.length === 0) expect(optimistic).toBeUndefined()
            else {
              expect(optimistic).toBeDefined()
              expect(outside.map((p) => p.peer)).toContain(optimistic)
              expect(result.unchoke.size).toBe(result.regular.size + 1)
            }
            // Kept until its time is up; when it is up, it moves to another peer if there is one.
            const due = state.round - state.optimisticSince >= config.optimisticEvery
            if (optimistic !== undefined && optimistic === state.optimistic) {
              if (due) {
                expect(outside.map((p) => p.peer)).toEqual([optimistic])
                expect(result.state.optimisticSince).toBe(state.round)
              } else expect(result.state.optimisticSince).toBe(state.optimisticSince)
            }
            if (state.optimistic !== undefined && outside.some((p) => p.peer === state.optimistic) && !due) {
              expect(optimistic).toBe(state.optimistic)
            }
            expect(result.state.round).toBe(state.round + 1)
            state = result.state
          }
        }
      ),
      { numRuns: 500 }
    )
  })
})
