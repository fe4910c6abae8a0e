import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { vi } from "vitest"
import { progressLine, type Shown, stoppedLine } from "../../src/cli/progress.js"
import { reportProgress } from "../../src/cli/report.js"
import type { TorrentHandle, TorrentProgress } from "../../src/session/index.js"

const MiB = 1024 * 1024

const progress = (over: Partial<TorrentProgress> = {}): TorrentProgress => {
  const shown = progressOf(over)
  // Every file wanted unless a test says otherwise.
  return { ...shown, wantedLength: over.wantedLength ?? shown.totalLength, wantedVerified: over.wantedVerified ?? shown.bytesVerified }
}

const progressOf = (over: Partial<TorrentProgress>) => ({
  state: "downloading" as const,
  pieceCount: 400,
  verifiedPieces: 0,
  checkedPieces: 400,
  totalLength: 400 * MiB,
  bytesVerified: 0,
  downloaded: 0,
  wasted: 0,
  uploaded: 0,
  // What the session's own smoothed meters said at the moment: nothing yet.
  downloadRate: 0,
  uploadRate: 0,
  peers: 3,
  peerList: [],
  trackers: [],
  ...over
})

/** A torrent handle whose progress is `current()`: all a report reads. */
const handleOf = (current: () => TorrentProgress) =>
  ({ progress: Effect.sync(current) }) as unknown as TorrentHandle

/** Runs `body` with console.log captured (Effect's default Console writes through it). */
const capturingLogs = <A, E, R>(body: (logs: Array<string>) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const logs: Array<string> = []
      const spy = vi.spyOn(console, "log").mockImplementation((line?: unknown) => {
        logs.push(String(line))
      })
      return { logs, spy }
    }),
    ({ logs }) => body(logs),
    ({ spy }) => Effect.sync(() => spy.mockRestore())
  )

describe("progress report", () => {
  it.scoped("the first JSON line after a second of transfer carries that second's rate and an ETA from it", () =>
    capturingLogs((logs) =>
      Effect.gen(function*() {
        let current = progress()
        yield* reportProgress(handleOf(() => current), "json")
        current = progress({ downloaded: 40 * MiB, bytesVerified: 40 * MiB })
        yield* TestClock.adjust("1 second")
        expect(logs).toHaveLength(1)
        const line = JSON.parse(logs[0]!) as Record<string, unknown>
        expect(line).toMatchObject({ event: "progress", downloadRate: 40 * MiB, eta: 9 })
        expect(line).not.toHaveProperty("reason")
      })
    ))

  it.scoped("a seeder's up rate is what its upload total did", () =>
    capturingLogs((logs) =>
      Effect.gen(function*() {
        let uploaded = 0
        const seeding = () => progress({ state: "seeding", bytesVerified: 400 * MiB, uploaded })
        yield* reportProgress(handleOf(seeding), "json")
        for (let second = 1; second <= 3; second++) {
          uploaded += 5 * MiB
          yield* TestClock.adjust("1 second")
        }
        expect(logs).toHaveLength(3)
        for (const log of logs) expect(JSON.parse(log)).toMatchObject({ uploadRate: 5 * MiB })
      })
    ))

  it.scoped("follows a transfer that starts and stops within two seconds, whatever came before", () =>
    capturingLogs((logs) =>
      Effect.gen(function*() {
        let uploaded = 0
        const seeding = () => progress({ state: "seeding", bytesVerified: 400 * MiB, uploaded })
        yield* reportProgress(handleOf(seeding), "json")
        // Five seconds with no peer, then one that takes 2 MiB a second for four seconds, then leaves.
        yield* TestClock.adjust("5 seconds")
        for (let second = 1; second <= 4; second++) {
          uploaded += 2 * MiB
          yield* TestClock.adjust("1 second")
        }
        const rates = () => logs.map((log) => (JSON.parse(log) as { uploadRate: number }).uploadRate)
        expect(rates().slice(6)).toEqual([2 * MiB, 2 * MiB, 2 * MiB])
        yield* TestClock.adjust("2 seconds")
        expect(rates().at(-1)).toBe(0)
      })
    ))

  it.scoped("says why when nothing moves, instead of an ETA", () =>
    capturingLogs((logs) =>
      Effect.gen(function*() {
        yield* reportProgress(handleOf(() => progress({ peers: 0 })), "json")
        yield* TestClock.adjust("1 second")
        expect(JSON.parse(logs[0]!)).toMatchObject({ downloadRate: 0, eta: null, reason: "looking for peers" })
      })
    ))
})

describe("progress on a terminal", () => {
  it.scoped("rewrites its line at least once a second, and clears it when stopped", () =>
    Effect.gen(function*() {
      const writes: Array<string> = []
      const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
        writes.push(String(chunk))
        return true
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => spy.mockRestore()))
      let downloaded = 0
      const report = yield* reportProgress(handleOf(() => progress({ downloaded, bytesVerified: downloaded })), "tty")
      for (let second = 1; second <= 3; second++) {
        downloaded += 2 * MiB
        yield* TestClock.adjust("1 second")
        expect(writes.length).toBeGreaterThanOrEqual(second)
      }
      expect(writes.at(-1)).toMatch(/^\r\x1b\[K +1\.5%  6 MiB of 400 MiB  down 2 MiB\/s/)
      yield* report.stop
      expect(writes.at(-1)).toBe("\r\x1b[K")
    }))
})

describe("progress line", () => {
  const shown = (over: Partial<Shown>): Shown => ({ progress: progress(), downloadRate: 0, uploadRate: 0, eta: Infinity, ...over })

  it("shows the session's reason when nothing moves", () => {
    const line = progressLine(shown({ progress: progress({ reason: "no peer has piece 12" }) }))
    expect(line).toMatch(/\(no peer has piece 12\)$/)
    expect(line).not.toMatch(/ETA/)
  })

  it("counts the web seeds in use beside the peers", () => {
    const seed = (url: string, state: "active" | "dropped") => ({ url, state, downloadRate: 0, downloaded: 0 })
    const line = progressLine(shown({
      progress: progress({ peers: 0, webSeeds: [seed("http://a.test/", "active"), seed("http://b.test/", "dropped")] }),
      downloadRate: MiB
    }))
    expect(line).toMatch(/0 peers {2}1 web seed {2}/)
    expect(progressLine(shown({ progress: progress(), downloadRate: MiB }))).not.toMatch(/web seed/)
  })

  it("shows the rate and ETA while data moves, and the session's reason for slowness beside them", () => {
    const line = progressLine(shown({ progress: progress({ reason: "only 1 seed" }), downloadRate: 2 * MiB, eta: 65 }))
    expect(line).toMatch(/down 2 MiB\/s/)
    expect(line).toMatch(/ETA 1:05  \(only 1 seed\)$/)
  })

  it("a stopped download says how far it got and how to go on", () => {
    const line = stoppedLine("album", progress({ bytesVerified: 108 * MiB, downloaded: 100 * MiB }), "/data/out")
    expect(line).toBe(
      "album: stopped at 27 % (108 MiB of 400 MiB verified; downloaded 100 MiB this run) — run the same command " +
        "to resume; files in /data/out"
    )
  })
})
