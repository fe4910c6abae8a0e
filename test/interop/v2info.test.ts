/**
 * BitTorrent v2 and hybrid torrents (BEP 52) that libtorrent 2.0 makes: `bt info --json` agrees with libtorrent on
 * both info-hashes, the files (padding left aside), each file's `pieces root` and the `piece layers`; `bt magnet`
 * makes a link libtorrent reads with the same hashes.
 */
import { join } from "node:path"
import { beforeAll, expect, test } from "vitest"
import { type FileSpec, interopSuite, lt, type LtInfo, runBt, tempDir, writeFiles } from "./harness.js"

interface BtInfo {
  readonly name: string
  readonly infoHash: string
  readonly infoHashV2?: string
  readonly metaVersion: number
  readonly version: string
  readonly pieceLength: number
  readonly pieceCount: number
  readonly files: ReadonlyArray<{
    readonly path: string
    readonly length: number
    readonly offset: number
    readonly padding?: boolean
    readonly piecesRoot?: string
    readonly pieceLayer?: string
  }>
}

const multiSpec: ReadonlyArray<FileSpec> = [
  { path: "a.bin", size: 100_000 }, // several pieces, the last one short
  { path: "docs/readme.txt", size: 1_000 }, // under one block
  { path: "docs/deep/exact.bin", size: 65_536 }, // exactly two 32 KiB pieces
  { path: "m/empty.bin", size: 0 },
  { path: "m/five.bin", size: 5 * 32_768 + 1 }, // six pieces: the layer is padded to eight
  { path: "z.bin", size: 16_384 } // one block
]
const singleSpec: ReadonlyArray<FileSpec> = [{ path: "odd.bin", size: 1_234_567 }]

interface Case {
  readonly title: string
  readonly kind: "hybrid" | "v2"
  readonly content: "single" | "multi"
  readonly pieceLength: number
}

const cases: ReadonlyArray<Case> = [
  { title: "hybrid, multi-file, 32 KiB pieces", kind: "hybrid", content: "multi", pieceLength: 32_768 },
  { title: "hybrid, single file, 16 KiB pieces", kind: "hybrid", content: "single", pieceLength: 16_384 },
  { title: "v2-only, multi-file, 16 KiB pieces", kind: "v2", content: "multi", pieceLength: 16_384 },
  { title: "v2-only, multi-file, 64 KiB pieces", kind: "v2", content: "multi", pieceLength: 65_536 },
  { title: "v2-only, single file, 256 KiB pieces", kind: "v2", content: "single", pieceLength: 262_144 }
]

interopSuite("bt info --json agrees with libtorrent on v2 and hybrid torrents", ["libtorrent"], () => {
  let work = ""

  beforeAll(async () => {
    work = await tempDir()
    await writeFiles(join(work, "multi"), multiSpec, 7)
    await writeFiles(join(work, "single"), singleSpec, 8)
  })

  test.each(cases)("$title", async (c) => {
    const target = c.content === "single" ? join(work, "single", "odd.bin") : join(work, "multi")
    const torrent = join(work, `${c.title.replace(/\W+/g, "-")}.torrent`)
    const ref = (await lt(["create", target, "--out", torrent, "--kind", c.kind, "--piece-length", String(c.pieceLength)])) as LtInfo
    const result = await runBt(["info", torrent, "--json"])
    expect(result.code, result.stderr).toBe(0)
    const bt = JSON.parse(result.stdout) as BtInfo

    expect(bt.metaVersion).toBe(2)
    expect(bt.version).toBe(c.kind)
    expect(bt.infoHashV2).toBe(ref.info_hash_v2)
    expect(bt.infoHashV2).toMatch(/^[0-9a-f]{64}$/)
    // A hybrid's wire hash is its v1 hash; a v2-only torrent's is its v2 hash cut to 20 bytes.
    expect(bt.infoHash).toBe(c.kind === "hybrid" ? ref.info_hash : ref.info_hash_v2!.slice(0, 40))
    expect(bt.pieceLength).toBe(ref.piece_length)
    expect(bt.pieceCount).toBe(ref.num_pieces)
    const files = bt.files.filter((f) => f.padding !== true)
    expect(files.map((f) => ({ path: f.path, size: f.length, offset: f.offset }))).toEqual(ref.files)
    expect(files.map((f) => f.piecesRoot ?? "")).toEqual(ref.roots)
    const layers = Object.fromEntries(files.filter((f) => f.pieceLayer !== undefined).map((f) => [f.piecesRoot, f.pieceLayer]))
    expect(layers).toEqual(ref.piece_layers)
    // Against the test's own input: every file starts on a piece boundary, larger ones have a layer.
    const spec = c.content === "single" ? singleSpec : multiSpec
    expect(files.length).toBe(spec.length)
    for (const f of files) {
      if (f.length > 0) expect(f.offset % bt.pieceLength).toBe(0)
      expect(f.pieceLayer !== undefined).toBe(f.length > bt.pieceLength)
      if (f.pieceLayer !== undefined) expect(f.pieceLayer.length).toBe(64 * Math.ceil(f.length / bt.pieceLength))
    }

    const magnet = await runBt(["magnet", torrent])
    expect(magnet.code, magnet.stderr).toBe(0)
    const link = magnet.stdout.trim()
    expect(link).toContain(`xt=urn:btmh:1220${ref.info_hash_v2}`)
    expect(link.includes("xt=urn:btih:")).toBe(c.kind === "hybrid")
    const parsed = (await lt(["parse-magnet", link])) as { info_hash: string; info_hash_v2: string | null }
    expect(parsed.info_hash_v2).toBe(ref.info_hash_v2)
    if (c.kind === "hybrid") expect(parsed.info_hash).toBe(ref.info_hash)
  })
})
