/**
 * `bt verify` on v2-only and hybrid torrents libtorrent 2.0 made: the data checks out against the merkle roots and
 * piece layers (and, for a hybrid, the SHA-1 piece hashes too); a flipped byte names its file.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { beforeAll, expect, test } from "vitest"
import { type FileSpec, interopSuite, lt, runBt, tempDir, writeFiles } from "./harness.js"

const spec: ReadonlyArray<FileSpec> = [
  { path: "a.bin", size: 300_001 },
  { path: "docs/empty", size: 0 },
  { path: "docs/tiny.txt", size: 1_234 },
  { path: "z/big.bin", size: 1_048_583 }
]

interface Verified {
  readonly event: string
  readonly goodPieces: number
  readonly pieceCount: number
  readonly damagedFiles: ReadonlyArray<{ readonly path: string; readonly pieces: number }>
}

const verify = async (torrent: string, dir: string) => {
  const result = await runBt(["verify", torrent, "-d", dir, "--json"], { timeoutMs: 60_000 })
  const last = result.stdout.trim().split("\n").at(-1)!
  return { code: result.code, stderr: result.stderr, verified: JSON.parse(last) as Verified }
}

interopSuite("bt verify checks v2 and hybrid torrents libtorrent made", ["libtorrent"], () => {
  let work = ""
  beforeAll(async () => {
    work = await tempDir()
  })

  test.each(["v2", "hybrid"] as const)("%s: good data passes, a flipped byte names its file", async (kind) => {
    const dir = join(work, kind)
    await writeFiles(join(dir, "data"), spec, 51)
    const torrent = join(work, `${kind}.torrent`)
    await lt(["create", join(dir, "data"), "--out", torrent, "--kind", kind, "--piece-length", "32768"])

    const good = await verify(torrent, dir)
    expect(good.code, good.stderr).toBe(0)
    expect(good.verified.event).toBe("verified")
    expect(good.verified.goodPieces).toBe(good.verified.pieceCount)
    expect(good.verified.pieceCount).toBe(spec.reduce((n, f) => n + Math.ceil(f.size / 32_768), 0))

    const path = join(dir, "data", "z", "big.bin")
    const bytes = await readFile(path)
    bytes[500_000]! ^= 1
    await writeFile(path, bytes)
    const bad = await verify(torrent, dir)
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split("\n")).toHaveLength(1)
    expect(bad.verified.goodPieces).toBe(bad.verified.pieceCount - 1)
    expect(bad.verified.damagedFiles).toEqual([{ path: "data/z/big.bin", kind: "bad pieces", pieces: 1 }])
  })
})
