/**
 * bt uploading to real clients on 127.0.0.1: `bt seed` serves a multi-file torrent made by `bt create` to
 * libtorrent, aria2 (which finds it through opentracker) and Transmission (which we dial); a mixed swarm of one
 * `bt seed`, two `bt download --seed` and a libtorrent leecher; and `bt seed` refusing data that does not match.
 * Every leecher's files are compared, by SHA-1, with the originals taken before anything ran.
 */
import { cp, open, readdir, rm } from "node:fs/promises"
import { join } from "node:path"
import { beforeAll, expect, test } from "vitest"
import {
  type FileSpec,
  freePort,
  interopSuite,
  runBt,
  startOpentracker,
  type Tracked,
  tempDir,
  waitForLine,
  writeFiles
} from "./harness.js"
import {
  btEvents,
  describeProc,
  exitWithin,
  freshStateDir,
  hashFiles,
  lastUploaded,
  listFiles,
  spawnBt,
  startAria2Leecher,
  startBtSeed,
  startLtLeecher,
  startTransmission,
  transmissionAdd,
  transmissionComplete,
  untilTrackerCounts
} from "./leechers.js"

// ---------------------------------------------------------------------------------------------------------------
// The torrent

const NAME = "shared"
const PIECE = 32 * 1024

/**
 * Uneven sizes, in bt create's order: alpha.bin ends mid-piece; docs/tiny.txt (smaller than a piece) sits inside
 * one piece with the end of docs/mid.bin and the start of zeta/big.bin.
 */
const spec: ReadonlyArray<FileSpec> = [
  { path: "alpha.bin", size: 1_000_003 },
  { path: "docs/mid.bin", size: 300_001 },
  { path: "docs/tiny.txt", size: 1_234 },
  { path: "zeta/big.bin", size: 2_621_447 }
]
const total = spec.reduce((sum, file) => sum + file.size, 0)

interface Fixture {
  readonly work: string
  /** Holds `shared/`, the torrent's content. */
  readonly src: string
  readonly torrent: string
  readonly infoHash: string
  readonly expected: Record<string, string>
}

/** What `bt create --json` prints. */
interface BtCreate {
  readonly infoHash: string
  readonly pieceLength: number
  readonly pieceCount: number
  readonly totalLength: number
}

const btCreate = async (target: string, out: string, trackers: ReadonlyArray<string> = []): Promise<BtCreate> => {
  const result = await runBt(
    ["create", target, "-o", out, "--piece-length", "32K", "--json", ...trackers.flatMap((url) => ["-t", url])],
    { timeoutMs: 30_000 }
  )
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as BtCreate
}

/** The content, its SHA-1s, and a tracker-less torrent of it made by `bt create`. */
const makeFixture = async (seed: number): Promise<Fixture> => {
  const work = await tempDir()
  const src = join(work, "src")
  await writeFiles(join(src, NAME), spec, seed)
  const expected = await hashFiles(join(src, NAME), spec)
  const torrent = join(work, `${NAME}.torrent`)
  const created = await btCreate(join(src, NAME), torrent)
  expect(created).toMatchObject({ pieceLength: PIECE, totalLength: total, pieceCount: Math.ceil(total / PIECE) })
  return { work, src, torrent, infoHash: created.infoHash, expected }
}

/** The folder holds exactly the torrent's files, each with the original's bytes. */
const expectSameFiles = async (root: string, fixture: Fixture, context: string): Promise<void> => {
  expect(await listFiles(root), context).toEqual(Object.fromEntries(spec.map((file) => [file.path, file.size])))
  expect(await hashFiles(root, spec), context).toEqual(fixture.expected)
}

const peer = (port: number): string => `127.0.0.1:${port}`

/** Polls `check` until it returns a value (bounded); undefined at the deadline. */
const until = async <A>(check: () => A | undefined, ms: number): Promise<A | undefined> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value !== undefined || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Waits, bounded, until bt's progress lines count at least `bytes` uploaded; the last count seen. */
const untilUploaded = async (stdout: () => string, bytes: number, ms: number): Promise<number | undefined> => {
  const enough = () => {
    const uploaded = lastUploaded(stdout())
    return uploaded !== undefined && uploaded >= bytes ? uploaded : undefined
  }
  return (await until(enough, ms)) ?? lastUploaded(stdout())
}

// ---------------------------------------------------------------------------------------------------------------

interopSuite("bt seed to a libtorrent leecher", ["libtorrent"], () => {
  let fixture: Fixture
  beforeAll(async () => {
    fixture = await makeFixture(31)
  })

  test("libtorrent downloads every byte from bt seed", async () => {
    const seeder = await startBtSeed({ torrent: fixture.torrent, dir: fixture.src })
    expect(seeder.infoHash).toBe(fixture.infoHash)
    const out = join(fixture.work, "lt-out")
    const leecher = await startLtLeecher({ torrent: fixture.torrent, save: out, peers: [peer(seeder.port)], timeoutSeconds: 60 })
    const context = () => `${describeProc("bt seed", seeder.proc)}\n${describeProc("lt.py leech", leecher.proc)}`
    const done = await leecher.done.catch((error: unknown) => {
      throw new Error(`${String(error)}\n${context()}`)
    })
    expect(done.info_hash).toBe(fixture.infoHash)
    expect(done.downloaded, context()).toBe(total)
    await expectSameFiles(join(out, NAME), fixture, context())
    // bt counts what it sent: everything, once (libtorrent asked for each block once, from its only peer).
    expect(await untilUploaded(seeder.proc.stdout, total, 5_000), context()).toBe(total)
  }, 90_000)
})

interopSuite("bt seed to an aria2 leecher, through opentracker", ["aria2c", "opentracker"], () => {
  let fixture: Fixture
  beforeAll(async () => {
    fixture = await makeFixture(32)
  })

  test("aria2 finds bt seed through an http:// tracker and downloads every byte", async () => {
    // aria2 has no option to dial a given peer: both announce to opentracker, and bt seed first, so aria2's first
    // announce already lists it. The torrent is the same content with the tracker in it (another info-hash).
    const tracker = await startOpentracker(join(fixture.work, "tracker"), [])
    const torrent = join(fixture.work, "tracked.torrent")
    const created = await btCreate(join(fixture.src, NAME), torrent, [tracker.httpUrl])
    await tracker.allow([created.infoHash])

    const seeder = await startBtSeed({ torrent, dir: fixture.src, trackers: true })
    await untilTrackerCounts(tracker.httpUrl, created.infoHash, 1, 15_000)

    const out = join(fixture.work, "aria2-out")
    const aria2 = await startAria2Leecher({ torrent, dir: out })
    const context = () => `${describeProc("bt seed", seeder.proc)}\n${describeProc("aria2c", aria2.proc)}`
    const result = await exitWithin(aria2.proc, 60_000, "aria2c").catch((error: unknown) => {
      throw new Error(`${String(error)}\n${describeProc("bt seed", seeder.proc)}`)
    })
    expect(result.code, context()).toBe(0)
    expect(result.stdout, context()).toMatch(/Download complete/)
    await expectSameFiles(join(out, NAME), fixture, context())
    expect(await untilUploaded(seeder.proc.stdout, total, 5_000), context()).toBeGreaterThanOrEqual(total)
  }, 90_000)
})

interopSuite("bt seed to a Transmission leecher that we dial", ["transmission-daemon"], () => {
  let fixture: Fixture
  beforeAll(async () => {
    fixture = await makeFixture(33)
  })

  test("Transmission downloads every byte from bt seed --peer", async () => {
    // Transmission never dials 127.0.0.1 but accepts peers there: add the torrent first, then let bt seed dial it.
    const out = join(fixture.work, "tr-out")
    const transmission = await startTransmission(join(fixture.work, "transmission"), out)
    const id = await transmissionAdd(transmission, fixture.torrent)
    const seeder = await startBtSeed({ torrent: fixture.torrent, dir: fixture.src, peers: [peer(transmission.peerPort)] })
    const context = () => `${describeProc("bt seed", seeder.proc)}\n${describeProc("transmission-daemon", transmission.proc)}`
    // Transmission unchokes us at its rechoke pulse (~10 s), then downloads at its own pace.
    const status = await transmissionComplete(transmission, id, 90_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${context()}`)
    })
    expect(status.sizeWhenDone).toBe(total)
    await expectSameFiles(join(out, NAME), fixture, context())
    expect(await untilUploaded(seeder.proc.stdout, total, 5_000), context()).toBeGreaterThanOrEqual(total)
  }, 120_000)
})

/** The pieces (indices) whose every byte lies in the given files of `spec`. */
const piecesWithin = (paths: ReadonlyArray<string>): Set<number> => {
  const files = spec.map((file, i) => ({ ...file, offset: spec.slice(0, i).reduce((sum, f) => sum + f.size, 0) }))
  const held = new Set<number>()
  for (let piece = 0; piece * PIECE < total; piece++) {
    const [start, end] = [piece * PIECE, Math.min((piece + 1) * PIECE, total)]
    const overlapping = files.filter((f) => f.size > 0 && f.offset < end && start < f.offset + f.size)
    if (overlapping.every((f) => paths.includes(f.path))) held.add(piece)
  }
  return held
}

interopSuite("a mixed swarm: bt seed, two bt download --seed and libtorrent", ["libtorrent"], () => {
  let fixture: Fixture
  beforeAll(async () => {
    fixture = await makeFixture(34)
  })

  test("the bt leechers trade pieces with each other and serve libtorrent; everyone completes with identical bytes", async () => {
    // A and B start with complementary halves of the content on disk and only each other's address, so each can
    // only get the other's half from the other: what they upload before anyone else joins went to each other. (With
    // everyone present from the start, bt seed on loopback serves the whole torrent in a fraction of a second and
    // rarest-first steers each leecher away from what the other has, so whether they trade at all is a race.)
    // Neither half holds the piece that spans docs/tiny.txt and zeta/big.bin, so nobody can finish before bt seed
    // joins. Before that, libtorrent joins by dialling A and B, which are still downloading, and can only get their
    // pieces from them. Then bt seed dials all three.
    const halfA = ["alpha.bin", "docs/mid.bin", "docs/tiny.txt"]
    const halfB = ["zeta/big.bin"]
    const pieceCount = Math.ceil(total / PIECE)
    const tradable = new Set([...piecesWithin(halfA), ...piecesWithin(halfB)])
    const bytesOf = (pieces: Set<number>) => [...pieces].reduce((sum, p) => sum + Math.min(PIECE, total - p * PIECE), 0)
    expect(tradable.size).toBeLessThan(pieceCount)
    expect(tradable.size).toBeGreaterThan(pieceCount - 3)

    const outA = join(fixture.work, "a")
    const outB = join(fixture.work, "b")
    for (const [out, half] of [[outA, halfA], [outB, halfB]] as const) {
      for (const path of half) await cp(join(fixture.src, NAME, path), join(out, NAME, path))
    }
    const [portA, portB] = [await freePort(), await freePort()]
    const btLeecher = async (out: string, port: number, other: number) =>
      spawnBt([
        "download", fixture.torrent, "-o", out, "--port", String(port), "--no-trackers", "--json",
        "--peer", peer(other), "--seed", "--seed-time", "10s", ...(await freshStateDir())
      ])
    const a = await btLeecher(outA, portA, portB)
    // Its first progress line comes once it listens: then B, dialling A, finds it there.
    await waitForLine(a, (line) => line.includes(`"event":"progress"`), 20_000)
    const b = await btLeecher(outB, portB, portA)
    const procs: Array<[string, Tracked]> = [["bt download A", a], ["bt download B", b]]
    const context = () => procs.map(([name, proc]) => describeProc(name, proc)).join("\n")

    // Phase 1: A and B alone. Each ends with every piece but the one neither has.
    const lastProgress = (proc: Tracked) => btEvents(proc.stdout()).filter((e) => e.event === "progress").at(-1)
    const traded = await until(() => {
      const [pa, pb] = [lastProgress(a), lastProgress(b)]
      return pa?.verifiedPieces === tradable.size && pb?.verifiedPieces === tradable.size ? [pa, pb] as const : undefined
    }, 30_000)
    expect(traded, context()).toBeDefined()
    const [tradedA, tradedB] = traded!
    expect(tradedA.state, context()).toBe("downloading")
    expect(tradedB.state, context()).toBe("downloading")
    // Nobody else was there to upload to: each sent the other exactly the pieces of its own half, once.
    expect(tradedA.uploaded, context()).toBe(bytesOf(piecesWithin(halfA)))
    expect(tradedB.uploaded, context()).toBe(bytesOf(piecesWithin(halfB)))
    expect(tradedA.downloaded, context()).toBe(bytesOf(piecesWithin(halfB)))

    // Phase 2: libtorrent joins, dialling A and B, and gets from them every piece they have: nobody else has any.
    const outL = join(fixture.work, "lt")
    const libtorrent = await startLtLeecher({ torrent: fixture.torrent, save: outL, peers: [peer(portA), peer(portB)], timeoutSeconds: 60 })
    procs.push(["lt.py leech", libtorrent.proc])
    const uploadedSum = () => (lastProgress(a)?.uploaded as number) + (lastProgress(b)?.uploaded as number)
    const before = (tradedA.uploaded as number) + (tradedB.uploaded as number)
    const servedLibtorrent = await until(() => (uploadedSum() - before >= bytesOf(tradable) ? true : undefined), 30_000)
    expect(servedLibtorrent, `uploaded ${uploadedSum() - before} of ${bytesOf(tradable)} to libtorrent\n${context()}`).toBe(true)

    // Phase 3: bt seed dials all three; it alone has the missing piece.
    const seeder = await startBtSeed({
      torrent: fixture.torrent,
      dir: fixture.src,
      peers: [peer(portA), peer(portB), peer(libtorrent.port)]
    })
    procs.push(["bt seed", seeder.proc])
    const done = await libtorrent.done.catch((error: unknown) => {
      throw new Error(`${String(error)}\n${context()}`)
    })
    expect(done.downloaded, context()).toBeGreaterThanOrEqual(total)
    // libtorrent's own count agrees: the bt leechers sent it all but the missing piece.
    const fromBt = (done.from[peer(portA)] ?? 0) + (done.from[peer(portB)] ?? 0)
    expect(fromBt, `${JSON.stringify(done.from)}\n${context()}`).toBeGreaterThanOrEqual(bytesOf(tradable))
    // Each bt leecher seeds 10 s after completing, then exits 0 on its own.
    const [resultA, resultB] = await Promise.all([exitWithin(a, 60_000, "bt download A"), exitWithin(b, 60_000, "bt download B")])
    expect(resultA.code, context()).toBe(0)
    expect(resultB.code, context()).toBe(0)
    for (const out of [outA, outB, outL]) await expectSameFiles(join(out, NAME), fixture, context())
    for (const [result, before] of [[resultA, tradedA], [resultB, tradedB]] as const) {
      const events = btEvents(result.stdout)
      expect(events.find((e) => e.event === "done"), context()).toMatchObject({ infoHash: fixture.infoHash, totalLength: total })
      const seeded = events.find((e) => e.event === "seeded")
      expect(seeded, context()).toBeDefined()
      expect(seeded!.uploaded as number, context()).toBeGreaterThanOrEqual(before.uploaded as number)
    }
  }, 120_000)
})

interopSuite("bt seed refuses data that does not match the torrent", [], () => {
  let fixture: Fixture
  beforeAll(async () => {
    fixture = await makeFixture(35)
  })

  /** A copy of the content, changed by `spoil`. */
  const spoiledCopy = async (dir: string, spoil: (root: string) => Promise<void>): Promise<string> => {
    const copy = join(fixture.work, dir)
    await cp(join(fixture.src, NAME), join(copy, NAME), { recursive: true })
    await spoil(join(copy, NAME))
    return copy
  }

  const flipByte = async (path: string, at: number): Promise<void> => {
    const handle = await open(path, "r+")
    try {
      const byte = Buffer.alloc(1)
      await handle.read(byte, 0, 1, at)
      byte[0] = byte[0]! ^ 0x01
      await handle.write(byte, 0, 1, at)
    } finally {
      await handle.close()
    }
  }

  const expectRefused = async (dir: string, file: string, json: boolean): Promise<void> => {
    const result = await runBt(
      ["seed", fixture.torrent, "-d", dir, "--port", "0", "--no-trackers", ...(await freshStateDir()), ...(json ? ["--json"] : [])],
      { timeoutMs: 30_000 }
    )
    const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
    expect(result.code, context).not.toBe(0)
    expect(result.code, context).not.toBeNull()
    const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
    // Without --json, a "checking ..." status line comes first; the error is the one `bt: ` line, then a hint.
    const errors = lines.filter((line) => line.startsWith("bt: "))
    expect(errors, context).toHaveLength(1)
    if (json) expect(lines.slice(0, 1), context).toEqual(errors)
    expect(lines.slice(lines.indexOf(errors[0]!)).length, context).toBeLessThanOrEqual(2)
    expect(errors[0], context).toContain(join(dir, NAME, file))
    expect(errors[0], context).toMatch(/does not match/)
    expect(result.stderr, context).not.toMatch(/^\s+at /m)
    expect(result.stdout, context).not.toMatch(/"event":"seeding"/)
  }

  test("a flipped byte in the middle of a file: that file is named", async () => {
    const dir = await spoiledCopy("flipped", (root) => flipByte(join(root, "zeta/big.bin"), 1_500_000))
    await expectRefused(dir, "zeta/big.bin", true)
    await expectRefused(dir, "zeta/big.bin", false)
  })

  test("a missing file whose first piece starts in the file before it: the missing file is named", async () => {
    const dir = await spoiledCopy("missing", (root) => rm(join(root, "docs/mid.bin")))
    await expectRefused(dir, "docs/mid.bin", true)
  })

  test("a file smaller than a piece, spoiled: it is named, not its neighbours", async () => {
    const dir = await spoiledCopy("tiny", (root) => flipByte(join(root, "docs/tiny.txt"), 600))
    await expectRefused(dir, "docs/tiny.txt", true)
  })

  test("-d pointing at a folder without the data", async () => {
    const empty = join(fixture.work, "empty")
    await cp(join(fixture.src, NAME, "docs"), join(empty, "unrelated"), { recursive: true })
    const result = await runBt(
      ["seed", fixture.torrent, "-d", empty, "--port", "0", "--no-trackers", ...(await freshStateDir()), "--json"],
      { timeoutMs: 30_000 }
    )
    const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
    expect(result.code, context).toBe(1)
    // Nothing of the torrent there: said so, with a hint at what -d should be, and nothing written.
    expect(result.stderr.trimEnd().split("\n"), context).toEqual([
      `bt: none of ${NAME}'s files are in ${empty}`,
      `is -d the folder that holds ${NAME}?`
    ])
    expect(await readdir(empty), context).toEqual(["unrelated"])
  })
})
