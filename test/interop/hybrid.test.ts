/**
 * Hybrid v1+v2 (BEP 52 with BEP 47 padding) and v2-only torrents moving between bt and libtorrent 2.0 on 127.0.0.1,
 * from .torrent files, so both sides have the piece layers (the hash messages, for magnet links, are v2wire.test.ts). libtorrent downloads what `bt create`
 * made from `bt seed`, and `bt download` fetches what libtorrent made from a libtorrent seeder, every piece checked
 * against its merkle hash (and SHA-1 for a hybrid). Padding files are never written to disk by either side.
 */
import { join } from "node:path"
import { expect, test } from "vitest"
import { type FileSpec, interopSuite, lt, type LtInfo, runBt, startLtSeeder, tempDir, writeFiles } from "./harness.js"
import { btDownloadFrom, btEvents, describeProc, hashFiles, listFiles, startBtSeed, startLtLeecher } from "./leechers.js"

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

  test("bt never requests a block that lies wholly in padding (libtorrent's hybrid, 64 KiB pieces)", async () => {
    const work = await tempDir()
    const src = join(work, "src")
    await writeFiles(join(src, NAME), spec, 43)
    const torrent = join(work, `${NAME}.torrent`)
    await lt(["create", join(src, NAME), "--out", torrent, "--kind", "hybrid", "--piece-length", "65536"])
    // The padding blocks, from the torrent's own file list: 16 KiB blocks (pieces are whole blocks) inside a padding file.
    const info = await runBt(["info", torrent, "--json"])
    expect(info.code, info.stderr).toBe(0)
    const { files, totalLength } = JSON.parse(info.stdout) as {
      files: ReadonlyArray<{ offset: number; length: number; padding?: boolean }>
      totalLength: number
    }
    let padBlockBytes = 0
    for (const file of files.filter((f) => f.padding === true)) {
      for (let start = Math.ceil(file.offset / 16_384) * 16_384; start < file.offset + file.length; start += 16_384) {
        const end = Math.min(start + 16_384, totalLength)
        if (end <= file.offset + file.length) padBlockBytes += end - start
      }
    }
    expect(padBlockBytes).toBeGreaterThan(0)
    const seeder = await startLtSeeder({ torrent, save: src })
    const { result } = await btDownloadFrom(torrent, join(work, "out"), `127.0.0.1:${seeder.port}`)
    expect(result.code, result.stderr).toBe(0)
    const done = btEvents(result.stdout).find((event) => event.event === "done")!
    // Every byte of payload came from the peer once, and no byte of a padding block did.
    expect({ padRequests: done.padRequests, downloaded: done.downloaded }).toEqual({
      padRequests: 0,
      downloaded: totalLength - padBlockBytes
    })
    expect(await hashFiles(join(work, "out", NAME), spec)).toEqual(await hashFiles(join(src, NAME), spec))
  }, 90_000)
})
