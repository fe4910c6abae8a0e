/**
 * `bt info --json` against libtorrent's reading of the same .torrent, for torrents made by mktorrent and by
 * libtorrent itself.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { beforeAll, expect, test } from "vitest"
import { type FileSpec, interopSuite, lt, type LtInfo, runBt, runMktorrent, tempDir, writeFiles } from "./harness.js"

/** What `bt info FILE --json` prints. */
interface BtInfo {
  readonly name: string
  readonly infoHash: string
  readonly totalLength: number
  readonly pieceLength: number
  readonly pieceCount: number
  readonly private: boolean
  readonly files: ReadonlyArray<{ readonly path: string; readonly length: number; readonly offset: number }>
  readonly trackers: ReadonlyArray<ReadonlyArray<string>>
  readonly comment?: string
}

const singleSpec: ReadonlyArray<FileSpec> = [{ path: "odd.bin", size: 1_234_567 }]
const multiSpec: ReadonlyArray<FileSpec> = [
  { path: "a.bin", size: 40_000 },
  { path: "docs/readme.txt", size: 1_000 }, // smaller than a piece
  { path: "docs/deep/nested/data.bin", size: 100_003 },
  { path: "z/empty.bin", size: 0 },
  { path: "z/exact.bin", size: 16_384 } // exactly one 16 KiB piece
]
const oneSpec: ReadonlyArray<FileSpec> = [{ path: "only.bin", size: 3_000 }] // a folder holding one file

const oneTracker = [["http://127.0.0.1:6969/announce"]]
const tiers = [["http://a.example/announce", "http://b.example/announce"], ["udp://c.example:6969/announce"]]

interface Case {
  readonly title: string
  /** Folder under the work dir holding the content. */
  readonly content: "single" | "multi" | "one"
  /** The file paths and sizes the torrent must list. */
  readonly spec: ReadonlyArray<FileSpec>
  readonly trackers: ReadonlyArray<ReadonlyArray<string>>
  readonly private: boolean
  readonly comment?: string
  readonly make: (target: string, out: string) => Promise<unknown>
}

// mktorrent 1.1 takes piece lengths of 32 KiB and up; libtorrent is asked for 16 KiB.
const cases: ReadonlyArray<Case> = [
  {
    title: "mktorrent, single file",
    content: "single",
    spec: singleSpec,
    trackers: oneTracker,
    private: false,
    make: (target, out) => runMktorrent({ target, out, pieceLengthLog2: 15, trackers: oneTracker })
  },
  {
    title: "mktorrent, multi-file, renamed, private, tiers",
    content: "multi",
    spec: multiSpec,
    trackers: tiers,
    private: true,
    comment: "made by mktorrent",
    make: (target, out) =>
      runMktorrent({
        target,
        out,
        pieceLengthLog2: 15,
        trackers: tiers,
        private: true,
        name: "renamed",
        comment: "made by mktorrent"
      })
  },
  {
    title: "mktorrent, folder with one file",
    content: "one",
    spec: oneSpec,
    trackers: [],
    private: false,
    make: (target, out) => runMktorrent({ target, out })
  },
  {
    title: "libtorrent, single file",
    content: "single",
    spec: singleSpec,
    trackers: [],
    private: false,
    make: (target, out) => lt(["create", target, "--out", out, "--piece-length", "16384"])
  },
  {
    title: "libtorrent, multi-file, private, tiers",
    content: "multi",
    spec: multiSpec,
    trackers: tiers,
    private: true,
    comment: "made by libtorrent",
    make: (target, out) =>
      lt([
        "create", target, "--out", out, "--piece-length", "16384", "--private", "--comment", "made by libtorrent",
        ...tiers.flatMap((urls, tier) => urls.flatMap((url) => ["--tier-tracker", String(tier), url]))
      ])
  }
]

const btInfo = async (torrent: string): Promise<BtInfo> => {
  const result = await runBt(["info", torrent, "--json"])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as BtInfo
}

const ltInfo = async (torrent: string): Promise<LtInfo> => (await lt(["info", torrent])) as LtInfo

/** The fields both tools report, with URLs sorted within a tier (libtorrent shuffles them when it loads). */
const fromBt = (i: BtInfo) => ({
  name: i.name,
  infoHash: i.infoHash,
  pieceCount: i.pieceCount,
  pieceLength: i.pieceLength,
  totalLength: i.totalLength,
  private: i.private,
  files: i.files.map((f) => ({ path: f.path, length: f.length, offset: f.offset })),
  trackers: i.trackers.map((tier) => [...tier].sort())
})

const fromLt = (i: LtInfo) => ({
  name: i.name,
  infoHash: i.info_hash,
  pieceCount: i.num_pieces,
  pieceLength: i.piece_length,
  totalLength: i.total_size,
  private: i.private,
  files: i.files.map((f) => ({ path: f.path, length: f.size, offset: f.offset })),
  trackers: i.trackers.reduce<Array<Array<string>>>((acc, t) => {
    ;(acc[t.tier] ??= []).push(t.url)
    return acc
  }, [])
})

const sortedByPath = (spec: ReadonlyArray<FileSpec>) => [...spec].sort((a, b) => a.path.localeCompare(b.path))

interopSuite("bt info --json agrees with libtorrent", ["mktorrent", "libtorrent"], () => {
  let work = ""

  beforeAll(async () => {
    work = await tempDir()
    await writeFiles(join(work, "single"), singleSpec, 1)
    await writeFiles(join(work, "multi"), multiSpec, 2)
    await writeFiles(join(work, "one"), oneSpec, 3)
  })

  test.each(cases)("$title", async (c) => {
    const target = c.content === "single" ? join(work, "single", "odd.bin") : join(work, c.content)
    const torrent = join(work, `${c.title.replace(/\W+/g, "-")}.torrent`)
    await c.make(target, torrent)

    const [bt, ref] = await Promise.all([btInfo(torrent), ltInfo(torrent)])
    expect(fromBt(bt)).toEqual(fromLt(ref))

    // Against what the test itself put in, so a slip in lt.py cannot hide one in bt.
    expect(bt.infoHash).toMatch(/^[0-9a-f]{40}$/)
    expect(bt.trackers).toEqual(c.trackers)
    expect(bt.private).toBe(c.private)
    expect(bt.comment).toBe(c.comment)
    expect(sortedByPath(bt.files.map((f) => ({ path: f.path, size: f.length })))).toEqual(sortedByPath(c.spec))
    expect(bt.totalLength).toBe(c.spec.reduce((sum, f) => sum + f.size, 0))
    expect(bt.pieceCount).toBe(Math.ceil(bt.totalLength / bt.pieceLength))
  })

  const expectOneLineError = async (torrent: string): Promise<void> => {
    const result = await runBt(["info", torrent, "--json"])
    expect(result.code, result.stderr).not.toBe(0)
    expect(result.code).not.toBeNull()
    const lines = result.stderr.trimEnd().split("\n")
    expect(lines, result.stderr).toHaveLength(1)
    expect(lines[0]?.trim()).not.toBe("")
    expect(lines.filter((line) => line.startsWith("    at "))).toEqual([])
  }

  test("a missing file is one line on stderr and a non-zero exit", async () => {
    await expectOneLineError(join(work, "does-not-exist.torrent"))
  })

  test("a truncated torrent is one line on stderr and a non-zero exit", async () => {
    const whole = join(work, "whole.torrent")
    await lt(["create", join(work, "multi"), "--out", whole, "--piece-length", "16384", "--tracker", "http://a.example/announce"])
    const bytes = await readFile(whole)
    const truncated = join(work, "truncated.torrent")
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)))
    await expect(lt(["info", truncated])).rejects.toThrow()
    await expectOneLineError(truncated)
  })
})
