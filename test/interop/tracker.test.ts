/**
 * The Tracker service and `bt peers` against opentracker (HTTP and UDP on one port), with libtorrent as a seeder that
 * announces to it. Each test gets its own opentracker on a fresh port and fresh info-hashes: opentracker keeps peers
 * that left without `stopped`, so a shared one could hand a test another test's peers.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Duration, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { expect, test } from "vitest"
import * as NodeDatagram from "../../src/net/NodeDatagram.js"
import {
  type AnnounceEvent,
  type AnnounceRequest,
  type AnnounceResponse,
  layerConfig as trackerLayer,
  type ScrapeEntry,
  Tracker,
  type TrackerError
} from "../../src/tracker/index.js"
import {
  freePort,
  interopSuite,
  lt,
  type LtInfo,
  runBt,
  runMktorrent,
  startLtSeeder,
  startOpentracker,
  tempDir,
  writeFiles
} from "./harness.js"

/** Short timeouts: opentracker on loopback answers at once, and a test must fail quickly when it does not. */
const TrackerLive = trackerLayer({ httpTimeout: Duration.seconds(5), udpTimeout: Duration.seconds(1), udpRetransmits: 2 })
  .pipe(Layer.provide(Layer.merge(NodeHttpClient.layer, NodeDatagram.layer)))

const runTracker = <A>(program: Effect.Effect<A, TrackerError, Tracker>): Promise<A> =>
  Effect.runPromise(Effect.provide(program, TrackerLive))

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

/** A peer of our own making: a fresh peer id, a port, and how much it still wants. */
const peer = (infoHash: Uint8Array, port: number, left: number) =>
  (event: AnnounceEvent | undefined): AnnounceRequest => ({
    infoHash,
    peerId: peerIdFor(port),
    port,
    uploaded: 0,
    downloaded: 0,
    left,
    event,
    numWant: 50,
    key: port
  })

// A peer id per port, so a peer keeps its id across announces.
const peerIds = new Map<number, Uint8Array>()
const peerIdFor = (port: number): Uint8Array => {
  let id = peerIds.get(port)
  if (id === undefined) {
    id = Buffer.concat([Buffer.from("-BT0001-"), randomBytes(12)])
    peerIds.set(port, id)
  }
  return id
}

const loopback = (port: number) => ({ host: "127.0.0.1", port })

const counts = (entry: ScrapeEntry | undefined) =>
  entry === undefined ? undefined : { complete: entry.complete, incomplete: entry.incomplete }

const freshTracker = async () => {
  const infoHash = randomBytes(20)
  const tracker = await startOpentracker(await tempDir(), [hex(infoHash)])
  return { infoHash, tracker }
}

/** Two leechers on different ports announce `started`; each then re-announces and must see the other. */
const twoPeersSeeEachOther = async (protocol: "http" | "udp") => {
  const { infoHash, tracker } = await freshTracker()
  const url = protocol === "http" ? tracker.httpUrl : tracker.udpUrl
  const [portA, portB] = [40001, 40002]
  const a = peer(infoHash, portA, 1000)
  const b = peer(infoHash, portB, 1000)
  const { afterA, afterB, againA } = await runTracker(
    Effect.gen(function*() {
      const tracker = yield* Tracker
      const afterA = yield* tracker.announce(url, a("started"))
      const afterB = yield* tracker.announce(url, b("started"))
      const againA = yield* tracker.announce(url, a(undefined))
      return { afterA, afterB, againA }
    })
  )
  const others = (r: AnnounceResponse, self: number) => r.peers.filter((p) => p.port !== self)
  // opentracker may list the announcing peer itself; nobody else is in this swarm yet.
  expect(others(afterA, portA)).toEqual([])
  expect(others(afterB, portB)).toEqual([loopback(portA)])
  expect(others(againA, portA)).toEqual([loopback(portB)])
  for (const r of [afterA, afterB, againA]) expect(r.interval).toBeGreaterThan(0)
  expect({ complete: afterB.complete, incomplete: afterB.incomplete }).toEqual({ complete: 0, incomplete: 2 })
}

/** What bt peers --json prints. */
interface BtPeers {
  readonly infoHash: string
  readonly trackers: ReadonlyArray<{
    readonly url: string
    readonly tier: number
    readonly peers?: ReadonlyArray<{ readonly host: string; readonly port: number }>
    readonly interval?: number
    readonly complete?: number
    readonly incomplete?: number
    readonly error?: string
    readonly reason?: string
    readonly state?: string
    readonly seeders?: number
    readonly downloaded?: number
  }>
}

interopSuite("trackers: the Tracker service and bt peers against opentracker", ["opentracker", "libtorrent", "mktorrent"], () => {
  test("HTTP: two peers that announce see each other", () => twoPeersSeeEachOther("http"))

  test("UDP: two peers that announce see each other", () => twoPeersSeeEachOther("udp"))

  test("scrape over HTTP and UDP counts leechers, a stop and a completion", async () => {
    const { infoHash, tracker } = await freshTracker()
    const other = randomBytes(20) // not on the whitelist: not tracked
    const a = peer(infoHash, 40011, 1000)
    const b = peer(infoHash, 40012, 1000)
    const { httpUrl, udpUrl } = tracker
    // Two hashes in one scrape over HTTP, where the second is not tracked; one over UDP.
    const scrapeBoth = (t: Tracker["Type"]) =>
      Effect.all({ http: t.scrape(httpUrl, [infoHash, other]), udp: t.scrape(udpUrl, [infoHash]) }).pipe(
        Effect.map(({ http, udp }) => ({ http: counts(http.get(hex(infoHash))), udp: counts(udp.get(hex(infoHash))) }))
      )
    const seen = await runTracker(
      Effect.gen(function*() {
        const t = yield* Tracker
        const empty = yield* scrapeBoth(t)
        yield* t.announce(httpUrl, a("started"))
        yield* t.announce(udpUrl, b("started"))
        const twoLeechers = yield* scrapeBoth(t)
        yield* t.announce(httpUrl, a("stopped"))
        const oneLeecher = yield* scrapeBoth(t)
        yield* t.announce(udpUrl, { ...b("completed"), left: 0, downloaded: 1000 })
        const oneSeeder = yield* scrapeBoth(t)
        const downloaded = (yield* t.scrape(httpUrl, [infoHash])).get(hex(infoHash))?.downloaded
        return { empty, twoLeechers, oneLeecher, oneSeeder, downloaded }
      })
    )
    const both = (complete: number, incomplete: number) => ({ http: { complete, incomplete }, udp: { complete, incomplete } })
    expect(seen.twoLeechers).toEqual(both(0, 2))
    expect(seen.oneLeecher).toEqual(both(0, 1))
    expect(seen.oneSeeder).toEqual(both(1, 0))
    expect(seen.downloaded).toBe(1)
    // Before anyone announced, opentracker either leaves the torrent out or counts it empty.
    for (const c of [seen.empty.http, seen.empty.udp]) {
      if (c !== undefined) expect(c).toEqual({ complete: 0, incomplete: 0 })
    }
  })

  test("bt peers --json lists a libtorrent seeder over the http:// and the udp:// tracker", async () => {
    const work = await tempDir()
    const tracker = await startOpentracker(join(work, "tracker"), [])
    await writeFiles(join(work, "data"), [{ path: "payload.bin", size: 300_000 }], 7)
    const torrent = await runMktorrent({
      target: join(work, "data", "payload.bin"),
      out: join(work, "t.torrent"),
      pieceLengthLog2: 15,
      trackers: [[tracker.httpUrl], [tracker.udpUrl]]
    })
    const infoHash = ((await lt(["info", torrent])) as LtInfo).info_hash
    await tracker.allow([infoHash])

    const seeder = await startLtSeeder({ torrent, save: join(work, "data"), trackerAnnounce: true })
    expect(seeder.infoHash).toBe(infoHash)
    const listsSeeder = (t: BtPeers["trackers"][number]) =>
      t.peers?.some((p) => p.host === "127.0.0.1" && p.port === seeder.port) === true

    // The seeder announces right after its check; give it a moment, bounded.
    const ourPort = await freePort()
    const deadline = Date.now() + 20_000
    let answer: BtPeers | undefined
    let last = ""
    for (;;) {
      const result = await runBt(["peers", torrent, "--json", "--port", String(ourPort), "--timeout", "5"])
      last = `exit ${result.code}\n${result.stdout}\n${result.stderr}`
      if (result.code === 0) {
        answer = JSON.parse(result.stdout) as BtPeers
        if (answer.trackers.length === 2 && answer.trackers.every(listsSeeder)) break
      }
      if (Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(answer, last).toBeDefined()
    expect(answer!.infoHash).toBe(infoHash)
    expect(answer!.trackers.map((t) => ({ url: t.url, tier: t.tier })), last).toEqual([
      { url: tracker.httpUrl, tier: 1 },
      { url: tracker.udpUrl, tier: 2 }
    ])
    for (const t of answer!.trackers) {
      expect(t.error, last).toBeUndefined()
      // The status a download shows, with the scrape's counts.
      expect(t.state, last).toBe("working")
      expect(t.seeders, last).toBeGreaterThanOrEqual(1)
      expect(t.downloaded, last).toBeGreaterThanOrEqual(0)
      expect(listsSeeder(t), last).toBe(true)
      expect(t.complete, last).toBeGreaterThanOrEqual(1)
      expect(t.interval, last).toBeGreaterThan(0)
    }

    // The text form names the seeder under each tracker too.
    const text = await runBt(["peers", torrent, "--port", String(ourPort), "--timeout", "5"])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout.split("\n").filter((line) => line.trim() === `127.0.0.1:${seeder.port}`), text.stdout).toHaveLength(2)
  })

  test("bt peers exits 1 with one error line per tracker when no tracker answers", async () => {
    const work = await tempDir()
    const closed = await freePort() // nothing listens there, for TCP or UDP
    const trackers = [[`http://127.0.0.1:${closed}/announce`], [`udp://127.0.0.1:${closed}/announce`]]
    await writeFiles(join(work, "data"), [{ path: "payload.bin", size: 50_000 }], 8)
    const torrent = await runMktorrent({
      target: join(work, "data", "payload.bin"),
      out: join(work, "t.torrent"),
      pieceLengthLog2: 15,
      trackers
    })

    const started = Date.now()
    const json = await runBt(["peers", torrent, "--json", "--timeout", "2"], { timeoutMs: 20_000 })
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(json.code, json.stderr).toBe(1)
    const answer = JSON.parse(json.stdout) as BtPeers
    expect(answer.trackers.map(({ reason, tier, url }) => ({ url, tier, reason }))).toEqual([
      { url: trackers[0]![0], tier: 1, reason: "Network" },
      { url: trackers[1]![0], tier: 2, reason: "Timeout" }
    ])
    for (const t of answer.trackers) {
      expect(t.error).toMatch(/\S/)
      expect(t.state).toBe("error")
    }

    const text = await runBt(["peers", torrent, "--timeout", "2"], { timeoutMs: 20_000 })
    expect(text.code, text.stderr).toBe(1)
    const errorLines = text.stdout.split("\n").filter((line) => line.includes(": error: "))
    expect(errorLines, text.stdout).toHaveLength(2)
    expect(errorLines[0]).toContain(trackers[0]![0])
    expect(errorLines[1]).toContain(trackers[1]![0])
    const stderrLines = text.stderr.trimEnd().split("\n")
    expect(stderrLines, text.stderr).toHaveLength(1)
    expect(text.stderr).not.toMatch(/^\s+at /m)
  })
})
