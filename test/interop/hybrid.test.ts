/**
 * Hybrid v1+v2 (BEP 52 with BEP 47 padding) and v2-only torrents moving between bt and libtorrent 2.0 on 127.0.0.1,
 * from .torrent files, so both sides have the piece layers (the hash messages, for magnet links, are v2wire.test.ts). libtorrent downloads what `bt create`
 * made from `bt seed`, and `bt download` fetches what libtorrent made from a libtorrent seeder, every piece checked
 * against its merkle hash (and SHA-1 for a hybrid). Padding files are never written to disk by either side.
 */
import { join } from "node:path"
import { expect, test } from "vitest"
import { type FileSpec, interopSuite, lt, type LtInfo, runBt, startLtSeeder, tempDir, writeFiles } from "./harness.js"
import { btDownloadFrom, describeProc, hashFiles, listFiles, startBtSeed, startLtLeecher } from "./leechers.js"

const NAME = "hybrid"
/** Uneven sizes: every file but the last ends inside a piece, so every one is followed by padding. */
const spec: ReadonlyArray<FileSpec> = [
  { path: "a.bin", size: 300_001 },
  { path: "docs/empty", size: 0 },
  { path: "docs/tiny.txt", size: 1_234 },
  { path: "z/big.bin", size: 1_048_583 }
]
const sizes = Object.fromEntries(spec.map((file) => [file.path, file.size]))

const kinds = [
  { kind: "hybrid", flag: [], pieceLength: 32_768 },
  { kind: "v2", flag: ["--v2"], pieceLength: 16_384 }
] as const

interopSuite("hybrid and v2-only torrents between bt and libtorrent", ["libtorrent"], () => {
  test.each(kinds)("libtorrent downloads a $kind torrent made by bt create from bt seed", async ({ flag, kind, pieceLength }) => {
    const work = await tempDir()
    const src = join(work, "src")
    await writeFiles(join(src, NAME), spec, 41)
    const torrent = join(work, `${NAME}.torrent`)
    const created = await runBt(["create", join(src, NAME), "-o", torrent, "--piece-length", String(pieceLength), "--json", ...flag])
    expect(created.code, created.stderr).toBe(0)
    const { infoHash, infoHashV2, version } = JSON.parse(created.stdout) as Record<string, string>
    expect(version).toBe(kind)
    const ref = (await lt(["info", torrent])) as LtInfo
    expect([ref.info_hash, ref.info_hash_v2]).toEqual([kind === "v2" ? null : infoHash, infoHashV2])

    const seeder = await startBtSeed({ torrent, dir: src })
    expect(seeder.infoHash).toBe(infoHash)
    const out = join(work, "lt-out")
    const leecher = await startLtLeecher({ torrent, save: out, peers: [`127.0.0.1:${seeder.port}`], timeoutSeconds: 60 })
    const context = () => `${describeProc("bt seed", seeder.proc)}\n${describeProc("lt.py leech", leecher.proc)}`
    const done = await leecher.done.catch((error: unknown) => {
      throw new Error(`${String(error)}\n${context()}`)
    })
    expect(done.from[`127.0.0.1:${seeder.port}`], context()).toBeGreaterThan(0)
    expect(await listFiles(join(out, NAME)), context()).toEqual(sizes)
    expect(await hashFiles(join(out, NAME), spec), context()).toEqual(await hashFiles(join(src, NAME), spec))
  }, 90_000)

  test.each(kinds)("bt downloads a $kind torrent libtorrent made from a libtorrent seeder", async ({ kind, pieceLength }) => {
    const work = await tempDir()
    const src = join(work, "src")
    await writeFiles(join(src, NAME), spec, 42)
    const torrent = join(work, `${NAME}.torrent`)
    const ref = (await lt(["create", join(src, NAME), "--out", torrent, "--kind", kind, "--piece-length", String(pieceLength)])) as LtInfo
    expect(ref.info_hash_v2).toMatch(/^[0-9a-f]{64}$/)
    const seeder = await startLtSeeder({ torrent, save: src })
    const out = join(work, "out")
    const { result } = await btDownloadFrom(torrent, out, `127.0.0.1:${seeder.port}`)
    expect(result.code, result.stderr).toBe(0)
    expect(await listFiles(join(out, NAME))).toEqual(sizes)
    expect(await hashFiles(join(out, NAME), spec)).toEqual(await hashFiles(join(src, NAME), spec))
  }, 90_000)
})
