/**
 * `bt create` against libtorrent and Transmission: both read our torrents with the same info-hash, pieces and files
 * as `bt info`, and libtorrent seeds the original data with them, which it only does once every piece hash matches.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { beforeAll, expect, test } from "vitest"
import {
  type FileSpec,
  interopSuite,
  lt,
  type LtInfo,
  run,
  runBt,
  startLtSeeder,
  tempDir,
  writeFiles
} from "./harness.js"

/** What `bt create --json` prints. */
interface BtCreate {
  readonly infoHash: string
  readonly output: string
  readonly name: string
  readonly totalLength: number
  readonly pieceLength: number
  readonly pieceCount: number
}

/** The part of `bt info --json` compared here. */
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
  readonly createdBy?: string
}

const multiSpec: ReadonlyArray<FileSpec> = [
  { path: "video/part2.bin", size: 5 * 1024 * 1024 + 17 }, // more than one 4 MiB read
  { path: "a.bin", size: 40_000 },
  { path: "notes.txt", size: 1_000 }, // smaller than a piece
  { path: "video/part1.bin", size: 100_003 },
  { path: "video/empty.bin", size: 0 },
  { path: "z/exact.bin", size: 16_384 }
]
const singleSpec: ReadonlyArray<FileSpec> = [{ path: "odd.bin", size: 1_234_567 }]

const tiers = [["http://a.example/announce", "http://b.example/announce"], ["udp://c.example:6969/announce"]]

/** Paths in bytewise order of their components, the order `bt create` lists files in. */
const byComponents = (a: string, b: string): number => {
  const x = a.split("/")
  const y = b.split("/")
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const order = Buffer.compare(Buffer.from(x[i]!), Buffer.from(y[i]!))
    if (order !== 0) return order
  }
  return x.length - y.length
}

const btCreate = async (args: ReadonlyArray<string>): Promise<BtCreate> => {
  const result = await runBt(["create", ...args, "--json"], { timeoutMs: 60_000 })
  expect(result.code, result.stderr).toBe(0)
  expect(result.stderr).toBe("") // no progress line when stderr is not a terminal
  return JSON.parse(result.stdout) as BtCreate
}

const btInfo = async (torrent: string): Promise<BtInfo> => {
  const result = await runBt(["info", torrent, "--json"])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as BtInfo
}

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

/** The info-hash `transmission-show` prints ("Hash: <hex>"). */
const transmissionHash = async (torrent: string): Promise<string | undefined> => {
  const result = await run("transmission-show", [torrent])
  expect(result.code, result.stderr).toBe(0)
  return /^\s*Hash: ([0-9a-f]{40})$/m.exec(result.stdout)?.[1]
}

/** bt create's answer, bt info, libtorrent and Transmission all agree; libtorrent seeds from the data. */
const checkEverywhere = async (
  created: BtCreate,
  spec: ReadonlyArray<FileSpec>,
  save: string,
  expected: { readonly trackers: ReadonlyArray<ReadonlyArray<string>>; readonly private: boolean }
): Promise<void> => {
  const [bt, ref, transmission] = await Promise.all([
    btInfo(created.output),
    lt(["info", created.output]) as Promise<LtInfo>,
    transmissionHash(created.output)
  ])
  expect(fromBt(bt)).toEqual(fromLt(ref))
  expect(transmission).toBe(created.infoHash)
  expect(created).toEqual({
    infoHash: bt.infoHash,
    output: created.output,
    name: bt.name,
    totalLength: bt.totalLength,
    pieceLength: bt.pieceLength,
    pieceCount: bt.pieceCount
  })

  // Against what the test itself wrote, so a slip shared by bt create and bt info cannot pass.
  const total = spec.reduce((sum, f) => sum + f.size, 0)
  expect(bt.totalLength).toBe(total)
  expect(bt.pieceCount).toBe(Math.ceil(total / bt.pieceLength))
  expect(bt.files.map((f) => ({ path: f.path, size: f.length }))).toEqual(
    [...spec].sort((a, b) => byComponents(a.path, b.path))
  )
  expect(bt.trackers).toEqual(expected.trackers)
  expect(bt.private).toBe(expected.private)
  expect(bt.createdBy).toBe("bt 0.1.0")

  const seeder = await startLtSeeder({ torrent: created.output, save })
  expect(seeder.infoHash).toBe(created.infoHash)
}

interopSuite("bt create makes torrents libtorrent and Transmission accept", ["libtorrent", "transmission-show"], () => {
  let work = ""

  beforeAll(async () => {
    work = await tempDir()
    await writeFiles(join(work, "multi"), multiSpec, 11)
    await writeFiles(join(work, "single"), singleSpec, 12)
    await mkdir(join(work, "out"))
  })

  test("a multi-file folder, automatic piece length, tiers, private", async () => {
    const created = await btCreate([
      join(work, "multi"),
      "-o", join(work, "out", "multi.torrent"),
      "-t", tiers[0]!.join(","),
      "-t", tiers[1]![0]!,
      "--private",
      "--comment", "made by bt"
    ])
    expect(created.name).toBe("multi")
    expect(created.pieceLength).toBe(16_384) // about 5.3 MB: the smallest pieces
    expect(created.output).toBe(join(work, "out", "multi.torrent"))
    await checkEverywhere(created, multiSpec, work, { trackers: tiers, private: true })
    expect((await btInfo(created.output)).comment).toBe("made by bt")
  })

  test("a multi-file folder with 64 KiB pieces", async () => {
    const created = await btCreate([join(work, "multi"), "-o", join(work, "out", "multi-64k.torrent"), "--piece-length", "64K"])
    expect(created.pieceLength).toBe(65_536)
    await checkEverywhere(created, multiSpec, work, { trackers: [], private: false })
  })

  test("a single file, written to NAME.torrent in the current folder", async () => {
    const cwd = join(work, "cwd")
    await mkdir(cwd)
    const result = await runBt(
      ["create", join(work, "single", "odd.bin"), "-t", "udp://127.0.0.1:6969/announce", "--piece-length", "32768", "--json"],
      { cwd }
    )
    expect(result.code, result.stderr).toBe(0)
    const created = JSON.parse(result.stdout) as BtCreate
    expect(created.output).toBe(join(cwd, "odd.bin.torrent"))
    expect(created.name).toBe("odd.bin")
    expect(created.pieceLength).toBe(32_768)
    await checkEverywhere(created, singleSpec, join(work, "single"), {
      trackers: [["udp://127.0.0.1:6969/announce"]],
      private: false
    })
  })

  test("text output names the info-hash and the output file", async () => {
    const out = join(work, "out", "text.torrent")
    const result = await runBt(["create", join(work, "single", "odd.bin"), "-o", out])
    expect(result.code, result.stderr).toBe(0)
    const hash = /^info-hash\s+([0-9a-f]{40})$/m.exec(result.stdout)?.[1]
    expect(hash).toBe((await btInfo(out)).infoHash)
    expect(result.stdout).toMatch(new RegExp(`^output\\s+${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"))
  })

  const expectOneLineError = async (args: ReadonlyArray<string>, pattern: RegExp): Promise<void> => {
    const result = await runBt(["create", ...args])
    expect(result.code, result.stderr).not.toBe(0)
    expect(result.code).not.toBeNull()
    const lines = result.stderr.trimEnd().split("\n")
    // The error, and for a command line to change, a hint to the help.
    expect(lines.length, result.stderr).toBeLessThanOrEqual(2)
    if (lines.length === 2) expect(lines[1], result.stderr).toBe("try: bt create --help")
    expect(lines[0]).toMatch(pattern)
    expect(result.stdout).toBe("")
  }

  test("refuses to overwrite an existing file unless --force", async () => {
    const out = join(work, "out", "exists.torrent")
    await writeFile(out, "keep me")
    await expectOneLineError([join(work, "single", "odd.bin"), "-o", out], /already exists; use --force/)
    const result = await runBt(["create", join(work, "single", "odd.bin"), "-o", out, "--force", "--json"])
    expect(result.code, result.stderr).toBe(0)
    expect((await btInfo(out)).name).toBe("odd.bin")
  })

  test("bad input is one line on stderr and a non-zero exit", async () => {
    const out = join(work, "out", "never.torrent")
    const single = join(work, "single", "odd.bin")
    await expectOneLineError([single, "-o", out, "--piece-length", "1000"], /--piece-length 1000 is not a power of two/)
    await expectOneLineError([single, "-o", out, "--piece-length", "8K"], /--piece-length 8K is not a power of two/)
    await expectOneLineError([single, "-o", out, "-t", "example.com:6969"], /is not an http:\/\/, https:\/\/ or udp:\/\//)
    await expectOneLineError([join(work, "missing"), "-o", out], /missing: no such file or folder/)
    const empty = join(work, "empty")
    await mkdir(join(empty, "sub"), { recursive: true })
    await expectOneLineError([empty, "-o", out], /the folder holds no files/)
    await expectOneLineError([join(work, "multi"), "-o", join(work, "multi", "inside.torrent")], /inside the folder/)
  })
})
