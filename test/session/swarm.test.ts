import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, FiberId, Layer, Schedule, type Scope } from "effect"
import { BLOCK_SIZE, blockCount } from "../../src/piece/geometry.js"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import type { Transport } from "../../src/peer/transport/Transport.js"
import { layerConfig, Session, type SessionConfig, type TorrentHandle } from "../../src/session/index.js"
import { layerMemory, MemoryStorage } from "../../src/storage/index.js"
import { layerTest as trackerTest } from "../../src/tracker/index.js"
import * as Verifier from "../../src/verifier/index.js"
import { makeSwarmTorrent, type SwarmFixture, withPiecesZeroed } from "./fixtures.js"
import { piecesOf, type SeederDouble, type SeederOptions, startSeeder } from "./seederDouble.js"

/**
 * 1,177,778 bytes in 36 pieces of 32 KiB over three files (pieces 12 and 32 span two files); the last piece is
 * 30,898 bytes, so its second block is short.
 */
const fixture = makeSwarmTorrent({
  pieceLength: 32768,
  seed: 42,
  files: [
    { path: ["one.bin"], length: 400_000 },
    { path: ["sub", "two.bin"], length: 654_321 },
    { path: ["three.bin"], length: 123_457 }
  ]
})
const { torrent } = fixture
const allPieces = Array.from({ length: torrent.pieceCount }, (_, i) => i)
const totalBlocks = allPieces.reduce((sum, index) => sum + blockCount(torrent, index), 0)

/** Timeouts in the hundreds of milliseconds, so misbehaving peers are dealt with well inside a test's time. */
const fastConfig: Partial<SessionConfig> = {
  // The doubles speak plaintext only (encrypted dialling and its fallback have tests of their own).
  encryption: "disable",
  connectTimeout: Duration.seconds(1),
  handshakeTimeout: Duration.millis(500),
  keepAliveAfter: Duration.millis(500),
  keepAlive: Schedule.spaced(Duration.millis(100)),
  idleTimeout: Duration.seconds(1),
  requestTimeout: Duration.millis(200),
  snubTimeout: Duration.millis(500),
  chokedTimeout: Duration.millis(400),
  reconnect: Schedule.spaced(Duration.millis(100)).pipe(Schedule.intersect(Schedule.recurs(3))),
  tick: Duration.millis(50)
}

type Env = Session | Transport | MemoryStorage | Scope.Scope

/** Runs `body` against a fresh memory network and memory storage, stopping everything when it ends. */
const inSwarm = <A, E>(
  body: Effect.Effect<A, E, Env>,
  options: {
    readonly config?: Partial<SessionConfig>
    readonly stored?: Uint8Array
    readonly verifier?: Layer.Layer<Verifier.Verifier>
  } = {}
) => {
  const base = Layer.mergeAll(
    MemoryTransport.layerMemory,
    layerMemory(options.stored === undefined ? undefined : new Map([[torrent.infoHashHex, options.stored]])),
    options.verifier ?? Verifier.layer,
    trackerTest({})
  )
  return body.pipe(
    Effect.scoped,
    Effect.provide(layerConfig({ ...fastConfig, ...options.config }).pipe(Layer.provideMerge(base)))
  )
}

const seeder = (options: Omit<SeederOptions, "torrent" | "content"> = {}) => startSeeder({ ...fixture, ...options })

const add = (peers: ReadonlyArray<SeederDouble>) =>
  Effect.flatMap(Session, (session) =>
    session.add(torrent, { directory: "/downloads", peers: peers.map((peer) => peer.address), trackers: false }))

/** Waits for the download, failing the test (not hanging it) if it takes too long. */
const finish = (handle: TorrentHandle, within = Duration.seconds(4)) =>
  handle.done.pipe(Effect.timeoutFail({ duration: within, onTimeout: () => new Error("the download did not finish") }))

/** Polls a condition on plain state (a double's log) until it holds. */
const waitUntil = (what: string, condition: () => boolean, within = Duration.seconds(3)) =>
  Effect.suspend(() => (condition() ? Effect.void : Effect.fail("not yet" as const))).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(10))),
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`timed out waiting until ${what}`) })
  )

const firstDifference = (a: Uint8Array, b: Uint8Array): number => {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
  return -1
}

const expectStoredContent = (fixture: SwarmFixture) =>
  Effect.gen(function*() {
    const stored = (yield* MemoryStorage).contents(fixture.torrent.infoHashHex)
    expect(stored).toBeDefined()
    expect(firstDifference(stored!, fixture.content)).toBe(-1)
  })

/** The client spoke valid protocol to the double and never requested while choked. */
const expectWellBehaved = (double: SeederDouble) => {
  expect(double.log.errors).toEqual([])
  expect(double.log.requestsWhileChoking).toBe(0)
}

const blockKey = (event: { readonly index: number; readonly begin: number }) => `${event.index}/${event.begin}`

describe("a swarm of seeder doubles on the memory transport", () => {
  it.live("downloads everything from one honest seeder, asking for each block once", () =>
    inSwarm(Effect.gen(function*() {
      const honest = yield* seeder()
      const handle = yield* add([honest])
      yield* finish(handle)

      yield* expectStoredContent(fixture)
      expect(yield* handle.progress).toMatchObject({
        state: "seeding",
        verifiedPieces: torrent.pieceCount,
        bytesVerified: torrent.totalLength,
        downloaded: torrent.totalLength,
        wasted: 0
      })
      expect(honest.log.requests).toHaveLength(totalBlocks)
      expect(new Set(honest.log.requests.map(blockKey)).size).toBe(totalBlocks)
      expect(honest.log.haves).toEqual([])
      expectWellBehaved(honest)
      // Two seeds have nothing to exchange: we hang up, once.
      yield* waitUntil("the client hangs up", () => honest.log.closes.length > 0)
      expect(honest.log.closes).toMatchObject([{ by: "client" }])
      expect(honest.log.connections).toBe(1)
    })))

  it.live("becomes quiet (nothing for a client to sample) once done and without peers or pieces in flight", () =>
    inSwarm(Effect.gen(function*() {
      const honest = yield* seeder()
      const handle = yield* add([honest])
      // (Not asserted: that it is busy while it downloads. With no peer connected yet it is quiet by definition, and
      // this small torrent can be fetched whole between two looks, so no look is sure to catch it busy.)
      yield* waitUntil("the seeder is asked for blocks", () => honest.log.requests.length > 0)
      yield* finish(handle)
      // Two seeds hang up; with no peer left and every piece verified, nothing can change until a peer comes.
      yield* waitUntil("the client hangs up", () => honest.log.closes.length > 0)
      yield* waitUntil("it is quiet", () => handle.quiet())
      expect((yield* handle.progress).peers).toBe(0)
    })))

  it.live("downloads from three honest seeders, asking each of them", () =>
    inSwarm(Effect.gen(function*() {
      const seeders = [yield* seeder(), yield* seeder(), yield* seeder()]
      const handle = yield* add(seeders)
      yield* finish(handle)

      yield* expectStoredContent(fixture)
      const progress = yield* handle.progress
      expect(progress.state).toBe("seeding")
      // Endgame may fetch a block twice, and only what was used counts as downloaded.
      expect(progress.downloaded).toBe(torrent.totalLength)
      for (const double of seeders) {
        expect(double.log.requests.length).toBeGreaterThan(0)
        expect(double.log.served.length).toBeGreaterThan(0)
        expectWellBehaved(double)
      }
    })))

  it.live("assembles the torrent from seeders that each have only part of it", () =>
    inSwarm(Effect.gen(function*() {
      const half = Math.floor(torrent.pieceCount / 2)
      const first = allPieces.filter((i) => i < half)
      const odd = allPieces.filter((i) => i % 2 === 1)
      const lastEven = allPieces.filter((i) => i >= half && i % 2 === 0)
      const seeders = [yield* seeder({ pieces: first }), yield* seeder({ pieces: odd }), yield* seeder({ pieces: lastEven })]
      const handle = yield* add(seeders)
      yield* finish(handle)

      yield* expectStoredContent(fixture)
      for (const [double, has] of [[seeders[0]!, first], [seeders[1]!, odd], [seeders[2]!, lastEven]] as const) {
        // The double refuses (and logs) a request for a piece it lacks.
        expectWellBehaved(double)
        for (const index of piecesOf(double.log.requests)) expect(has).toContain(index)
        // It is told about every piece it lacks, as we verify them.
        const lacks = allPieces.filter((i) => !has.includes(i))
        yield* waitUntil("every have arrived", () => piecesOf(double.log.haves).size === lacks.length)
        expect([...piecesOf(double.log.haves)].sort((a, b) => a - b)).toEqual(lacks)
      }
    })))

  it.live("fetches a piece again when it fails its hash check once", () =>
    inSwarm(Effect.gen(function*() {
      const flaky = yield* seeder({ corrupt: { pieces: [12], times: 1 } })
      const handle = yield* add([flaky])
      yield* finish(handle)

      yield* expectStoredContent(fixture)
      expect(flaky.log.served.filter((block) => block.corrupted)).toHaveLength(1)
      // Both blocks of piece 12 were asked for twice; every other block once.
      const requested = flaky.log.requests.map(blockKey)
      expect(requested.filter((key) => key.startsWith("12/"))).toEqual(["12/0", "12/16384", "12/0", "12/16384"])
      expect(requested).toHaveLength(totalBlocks + 2)
      const progress = yield* handle.progress
      expect(progress.downloaded).toBe(torrent.totalLength + torrent.pieceLength)
      // One strike is not enough for a ban: the piece came again over the same connection.
      expect(flaky.log.connections).toBe(1)
      expect(flaky.log.requests.every((request) => request.connection === 1)).toBe(true)
    })))

  it.live("reuses piece buffers (no cache to speak of): written and failed pieces hold later ones, data intact", () =>
    inSwarm(
      Effect.gen(function*() {
        const flaky = yield* seeder({ corrupt: { pieces: [3, 20], times: 1 } })
        const handle = yield* add([flaky])
        yield* finish(handle)

        yield* expectStoredContent(fixture)
        expect((yield* handle.progress).downloaded).toBe(torrent.totalLength + 2 * torrent.pieceLength)
      }),
      // The cache keeps one piece: each piece verified sends the one before it back to be reused.
      { config: { cacheBytes: 0, backlogBytes: 2 * torrent.pieceLength } }
    ))

  it.live("keeps no more requests outstanding than the peer's BEP 10 reqq, and uses all of it", () =>
    inSwarm(Effect.gen(function*() {
      const narrow = yield* seeder({ reqq: 3, delayMs: 1 })
      yield* finish(yield* add([narrow]))
      yield* expectStoredContent(fixture)
      expect(narrow.log.maxQueued).toBe(3)
      expectWellBehaved(narrow)
    })))

  for (const reqq of [0, 2 ** 32]) {
    it.live(`takes a reqq of ${reqq} as unsaid: the pipeline goes past it, and the download completes`, () =>
      inSwarm(Effect.gen(function*() {
        const odd = yield* seeder({ reqq, delayMs: 1 })
        yield* finish(yield* add([odd]))
        yield* expectStoredContent(fixture)
        expect(odd.log.maxQueued).toBeGreaterThan(3)
      })))
  }

  it.live("bans a seeder whose every block is corrupt and completes from an honest one", () =>
    inSwarm(Effect.gen(function*() {
      const liar = yield* seeder({ corrupt: {} })
      const honest = yield* seeder({ delayMs: 2 })
      const handle = yield* add([liar, honest])
      yield* finish(handle)
      const doneAt = Date.now()

      yield* expectStoredContent(fixture)
      // Banned: disconnected by us while downloading, never reconnected, no requests after the ban.
      expect(liar.log.connections).toBe(1)
      expect(liar.log.closes).toMatchObject([{ by: "client" }])
      const bannedAt = liar.log.closes[0]!.at
      expect(bannedAt).toBeLessThan(doneAt)
      expect(liar.log.requests.filter((request) => request.at > bannedAt)).toEqual([])
      // Every piece it served failed, and was fetched again from the honest seeder.
      const honestBlocks = new Set(honest.log.served.map(blockKey))
      for (const block of liar.log.served) expect(honestBlocks).toContain(blockKey(block))
      expect(honest.log.open).toBe(1)
      expectWellBehaved(honest)
    })))

  it.live("does not ban an honest seeder for a piece it shared with a liar", () =>
    inSwarm(
      Effect.gen(function*() {
        // The liar sends one corrupt block and then nothing, so the other block of that piece comes from the honest
        // seeder: the piece fails with two contributors. Blaming both would ban both (one strike bans, here) and
        // leave that piece with nobody to fetch it from.
        const liar = yield* seeder({ corrupt: {}, stallAfter: 1, keepAliveMs: 50 })
        const honest = yield* seeder()
        const handle = yield* add([liar, honest])
        yield* finish(handle)
        const doneAt = Date.now()

        yield* expectStoredContent(fixture)
        const [bad] = liar.log.served
        expect(bad).toMatchObject({ corrupted: true })
        expect(liar.log.served).toHaveLength(1)
        // The honest seeder sent the whole piece again, and was never dropped while we needed it.
        const fromHonest = honest.log.served.filter((block) => block.index === bad!.index).map(blockKey)
        expect(fromHonest).toContain(blockKey(bad!))
        expect(honest.log.closes.filter((close) => close.at < doneAt)).toEqual([])
        // The good copy convicted the liar: banned, disconnected, never let back.
        yield* waitUntil("the liar is disconnected", () => liar.log.open === 0)
        const connections = liar.log.connections
        yield* Effect.sleep(Duration.millis(300))
        expect(liar.log.connections).toBe(connections)
        expectWellBehaved(honest)
      }),
      { config: { banAfterStrikes: 1 } }
    ))

  it.live("re-issues requests a seeder stalls on mid-piece, and drops the staller", () =>
    inSwarm(Effect.gen(function*() {
      // The staller answers one block (half a piece) and then only keeps the connection alive.
      const staller = yield* seeder({ stallAfter: 1, keepAliveMs: 50 })
      // The honest seeder is slow enough (~1.5 s for all) that endgame does not hide the timeouts.
      const honest = yield* seeder({ delayMs: 20 })
      const handle = yield* add([staller, honest])
      yield* finish(handle)
      const doneAt = Date.now()

      yield* expectStoredContent(fixture)
      expect(staller.log.served).toHaveLength(1)
      // Timed-out requests were cancelled while the staller was still connected; then it was dropped as snubbing.
      const firstDrop = staller.log.closes[0]
      expect(firstDrop).toMatchObject({ by: "client" })
      expect(firstDrop!.at).toBeLessThan(doneAt)
      expect(staller.log.cancels.some((cancel) => cancel.connection === 1 && cancel.at < firstDrop!.at)).toBe(true)
      const ignored = staller.log.requests.filter((r) => !staller.log.served.some((s) => blockKey(s) === blockKey(r)))
      const fromHonest = new Set(honest.log.served.map(blockKey))
      for (const request of ignored) expect(fromHonest).toContain(blockKey(request))
      expectWellBehaved(honest)
    })))

  it.live("drops a seeder that keeps us choked and completes from an honest one", () =>
    inSwarm(Effect.gen(function*() {
      const choker = yield* seeder({ chokeForever: true, keepAliveMs: 50 })
      const honest = yield* seeder({ delayMs: 15 })
      const handle = yield* add([choker, honest])
      yield* finish(handle)
      const doneAt = Date.now()

      yield* expectStoredContent(fixture)
      expect(choker.log.interest.some((event) => event.interested)).toBe(true)
      expect(choker.log.requests).toEqual([])
      // The download takes ~1 s, the choked timeout is 400 ms: dropped while we still needed pieces.
      expect(choker.log.closes.length).toBeGreaterThan(0)
      expect(choker.log.closes[0]).toMatchObject({ by: "client" })
      expect(choker.log.closes[0]!.at).toBeLessThan(doneAt)
    })))

  it.live("completes when an honest seeder is added after the only one stalled", () =>
    inSwarm(Effect.gen(function*() {
      const staller = yield* seeder({ stallAfter: 5, keepAliveMs: 50 })
      const handle = yield* add([staller])
      yield* waitUntil("the staller is dropped", () => staller.log.closes.length > 0)
      expect((yield* handle.progress).verifiedPieces).toBeLessThan(torrent.pieceCount)

      const honest = yield* seeder()
      yield* handle.addPeers([honest.address])
      yield* finish(handle)

      yield* expectStoredContent(fixture)
      expect(staller.log.served).toHaveLength(5)
      expect(staller.log.closes[0]).toMatchObject({ by: "client" })
      expect(honest.log.served.length).toBeGreaterThanOrEqual(totalBlocks - 5)
    })))

  it.live("checks data already stored and, all of it being there, fetches nothing", () => {
    const entered = Deferred.unsafeMake<void>(FiberId.none)
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    let verified = 0
    // Holds the first hash check until the test has seen the torrent checking.
    const gatedVerifier = Layer.effect(
      Verifier.Verifier,
      Effect.map(Verifier.Verifier, (real) => ({
        verify: (data: Uint8Array, expected: Verifier.Expected) =>
          Deferred.succeed(entered, undefined).pipe(
            Effect.zipRight(Deferred.await(gate)),
            Effect.zipRight(real.verify(data, expected)),
            Effect.tap(() => Effect.sync(() => verified++))
          )
      }))
    ).pipe(Layer.provide(Verifier.layer))

    return inSwarm(
      Effect.gen(function*() {
        const unused = yield* seeder()
        const handle = yield* add([unused])
        yield* Deferred.await(entered)
        expect(yield* handle.progress).toMatchObject({ state: "checking", checkedPieces: 0 })
        yield* Deferred.succeed(gate, undefined)
        yield* finish(handle)

        expect(yield* handle.progress).toMatchObject({
          state: "seeding",
          checkedPieces: torrent.pieceCount,
          verifiedPieces: torrent.pieceCount,
          downloaded: 0
        })
        expect(verified).toBe(torrent.pieceCount)
        yield* expectStoredContent(fixture)
        // A seed may dial the peer (it could have been a leecher), but finding another seed it hangs up unasked.
        yield* Effect.sleep(Duration.millis(100))
        yield* waitUntil("no connection is left open", () => unused.log.open === 0)
        expect(unused.log.closes.every((close) => close.by === "client")).toBe(true)
        expect(unused.log.requests).toEqual([])
        expect(unused.log.interest).toEqual([])
      }),
      { stored: fixture.content, verifier: gatedVerifier }
    )
  })

  it.live("downloads only the pieces missing from what is stored", () => {
    const missing = [0, 5, 12, 13, 20, 32, torrent.pieceCount - 1]
    return inSwarm(
      Effect.gen(function*() {
        const honest = yield* seeder()
        const handle = yield* add([honest])
        yield* finish(handle)

        yield* expectStoredContent(fixture)
        expect([...piecesOf(honest.log.requests)].sort((a, b) => a - b)).toEqual(missing)
        const missingBytes = missing.reduce(
          (sum, index) => sum + (index === torrent.pieceCount - 1 ? torrent.totalLength % torrent.pieceLength : torrent.pieceLength),
          0
        )
        expect((yield* handle.progress).downloaded).toBe(missingBytes)
      }),
      { stored: withPiecesZeroed(fixture, missing) }
    )
  })

  it.live("drops a peer whose handshake names another torrent and completes from another", () =>
    inSwarm(Effect.gen(function*() {
      const stranger = yield* seeder({ handshakeInfoHash: new Uint8Array(20).fill(9) })
      const honest = yield* seeder()
      const handle = yield* add([stranger, honest])
      yield* finish(handle)

      yield* expectStoredContent(fixture)
      // The handshake failure is final: one attempt, closed by us, nothing asked.
      expect(stranger.log.connections).toBe(1)
      yield* waitUntil("the stranger is disconnected", () => stranger.log.open === 0)
      expect(stranger.log.closes).toMatchObject([{ by: "client" }])
      expect(stranger.log.interest).toEqual([])
      expect(stranger.log.requests).toEqual([])
    })))
})

describe("the Fast extension (BEP 6) with seeder doubles", () => {
  it.live("takes a seed's `have all`, and downloads everything", () =>
    inSwarm(Effect.gen(function*() {
      const fast = yield* seeder({ fast: {} })
      yield* finish(yield* add([fast]))
      yield* expectStoredContent(fixture)
      expectWellBehaved(fast)
    })))

  it.live("fetches the allowed-fast pieces from a seeder that never unchokes, and asks it for nothing else", () =>
    inSwarm(Effect.gen(function*() {
      const allowed = [0, 12, 35]
      const choker = yield* seeder({ fast: { allowed }, chokeForever: true })
      const handle = yield* add([choker])
      yield* waitUntil("the allowed pieces are verified", () => piecesOf(choker.log.served).size === allowed.length)
      yield* Effect.flatMap(handle.progress, (p) =>
        p.verifiedPieces === allowed.length ? Effect.void : Effect.fail("not yet" as const)).pipe(
          Effect.retry(Schedule.spaced(Duration.millis(20))),
          Effect.timeout(Duration.seconds(3))
        )
      expect([...piecesOf(choker.log.served)].sort((a, b) => a - b)).toEqual(allowed)
      expect(choker.log.requestsWhileChoking).toBe(0)
      expect(choker.log.errors).toEqual([])
    }), { config: { chokedTimeout: Duration.seconds(30) } }))
})

describe("requests taken back from a slow seeder double", () => {
  it.live("CANCELs the old window's queued requests and asks for the new window's first piece at once", () =>
    inSwarm(
      Effect.gen(function*() {
        // One block per 100 ms, answered in the order asked; a CANCEL takes a request out of its queue.
        const slow = yield* seeder({ delayMs: 100 })
        const handle = yield* add([slow])
        const reader = Symbol("reader")
        yield* handle.setWindow(reader, { from: 2, to: 3 })
        const old = new Set(["2/0", `2/${BLOCK_SIZE}`, "3/0", `3/${BLOCK_SIZE}`])
        yield* waitUntil("the old window is asked for", () => slow.log.requests.filter((r) => old.has(blockKey(r))).length === 4)

        // The new window: two pieces not asked for yet (others go on being fetched at normal priority meanwhile).
        const asked = new Set(slow.log.requests.map((r) => r.index))
        const target = allPieces.find((i) => i >= 20 && !asked.has(i) && !asked.has(i + 1) && i + 1 < torrent.pieceCount)!
        const sent = slow.log.requests.length
        yield* handle.setWindow(reader, { from: target, to: target + 1 })
        const first = () => slow.log.requests.slice(sent).find((r) => r.index === target)
        yield* waitUntil("the new window is asked for", () => first() !== undefined)
        // Cancels for the old window only (other pieces still wanted keep their requests), sent before the new
        // window's first request, so the double had dropped them from its queue by the time it came.
        const cancels = slow.log.cancels.map(blockKey)
        expect(cancels.length).toBeGreaterThan(0)
        expect(cancels.every((key) => old.has(key))).toBe(true)
        expect(slow.log.cancels.every((c) => c.at <= first()!.at)).toBe(true)
        // No old-window block was served after its CANCEL came: the new window is not queued behind them.
        yield* waitUntil("the new window is served", () => slow.log.served.some((s) => s.index === target), Duration.seconds(10))
        const cancelledAt = new Map(slow.log.cancels.map((c) => [blockKey(c), c.at]))
        const reached = slow.log.served.find((s) => s.index === target)!.at
        // (Between the cancel and the new window's first block: the old pieces are asked again after the window.)
        const servedOld = slow.log.served.filter((s) => s.at > (cancelledAt.get(blockKey(s)) ?? Infinity) && s.at <= reached)
        expect(servedOld).toEqual([])

        // The old window is fetched again later, and everything arrives intact.
        yield* finish(handle, Duration.seconds(40))
        yield* expectStoredContent(fixture)
        expectWellBehaved(slow)
      }),
      // A slow peer is not a stuck one: no request may time out here (a timeout would CANCEL as well).
      { config: { requestTimeout: Duration.seconds(30), snubTimeout: Duration.seconds(30), idleTimeout: Duration.seconds(30) } }
    ), 60_000)

  it.live("CANCELs the queued requests of a file set to skip, and still finishes the files wanted", () =>
    inSwarm(
      Effect.gen(function*() {
        const slow = yield* seeder({ delayMs: 100 })
        const handle = yield* add([slow])
        // Pieces 13 to 31 lie wholly in sub/two.bin (12 and 32 are shared with the other files, so stay wanted).
        const middle = (index: number) => index >= 13 && index <= 31
        const queued = () => {
          const served = new Set(slow.log.served.map(blockKey))
          return slow.log.requests.filter((r) => middle(r.index) && !served.has(blockKey(r)))
        }
        yield* waitUntil("a block of the middle file waits in the double's queue", () => queued().length > 0)
        yield* handle.setFiles(["normal", "skip", "normal"])
        yield* waitUntil("the double is sent CANCEL", () => slow.log.cancels.length > 0)
        expect(slow.log.cancels.every((c) => middle(c.index))).toBe(true)
        const cancelled = Math.max(...slow.log.cancels.map((c) => c.at))

        yield* finish(handle, Duration.seconds(40))
        // Nothing of the skipped file was asked for again, and what is wanted arrived intact.
        expect(slow.log.requests.filter((r) => r.at > cancelled && middle(r.index))).toEqual([])
        const stored = (yield* MemoryStorage).contents(torrent.infoHashHex)!
        for (const file of [torrent.files[0]!, torrent.files[2]!]) {
          const range = [file.offset, file.offset + file.length] as const
          expect(firstDifference(stored.subarray(...range), fixture.content.subarray(...range))).toBe(-1)
        }
        expectWellBehaved(slow)
      }),
      { config: { requestTimeout: Duration.seconds(30), snubTimeout: Duration.seconds(30), idleTimeout: Duration.seconds(30) } }
    ), 60_000)
})
