/**
 * File selection against libtorrent on 127.0.0.1: a seeder of an eight-file torrent whose pieces span files, and
 * `bt download --only` fetching two of them (the others never created), then a second run selecting one more
 * (its bytes in shared pieces taken from the part file), then a magnet link whose `so=` selects the files.
 */
import { readdir } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import {
  type FileSpec,
  freePort,
  interopSuite,
  lt,
  type RunResult,
  runBt,
  startLtSeeder,
  tempDir,
  writeFiles
} from "./harness.js"
import { hashFiles, listFiles } from "./leechers.js"

/** Sizes that are not multiples of the 64 KiB pieces, so most pieces are shared by two files. */
const spec: ReadonlyArray<FileSpec> = Array.from({ length: 8 }, (_, i) => ({
  path: `show/ep${i}.mkv`,
  size: 150_000 + i * 33_333
}))

const describeRun = (result: RunResult): string => `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`

/** `bt info --json`'s files, by index: the numbering --only and so= use. */
const filesOf = async (torrent: string): Promise<Array<string>> => {
  const result = await runBt(["info", torrent, "--json"])
  const info = JSON.parse(result.stdout) as { readonly files: ReadonlyArray<{ readonly index: number; readonly path: string }> }
  return info.files.map((file) => file.path)
}

/** The eight files written from `seed`, a v1 torrent of them in 64 KiB pieces, and libtorrent seeding it. */
const seededSeason = async (seed: number) => {
  const work = await tempDir()
  await writeFiles(join(work, "src", "season"), spec, seed)
  const expected = await hashFiles(join(work, "src", "season"), spec)
  const torrent = join(work, "t.torrent")
  await lt(["create", join(work, "src", "season"), "--out", torrent, "--piece-length", String(64 * 1024)])
  const seeder = await startLtSeeder({ torrent, save: join(work, "src") })
  return { expected, out: join(work, "out"), paths: await filesOf(torrent), seeder, torrent }
}

interopSuite("bt download --only and so= against libtorrent", ["libtorrent"], () => {
  test("fetches exactly the selected files, creates no other, and fetches a file selected later", async () => {
    const { expected, out, paths, seeder, torrent } = await seededSeason(31)
    const indexOf = (path: string) => paths.indexOf(path)
    const chosen = [spec[2]!, spec[5]!]

    const download = (select: ReadonlyArray<string>) =>
      runBt(
        ["download", torrent, "-o", out, ...select, "--peer", `127.0.0.1:${seeder.port}`, "--no-trackers", "--no-dht",
          "--port", "0", "--json"],
        { timeoutMs: 60_000 }
      )
    const first = await download(["--only", chosen.map((file) => indexOf(file.path)).join(",")])
    expect(first.code, describeRun(first)).toBe(0)
    expect(await listFiles(join(out, "season"))).toEqual(Object.fromEntries(chosen.map((file) => [file.path, file.size])))
    expect(await hashFiles(join(out, "season"), chosen)).toEqual(Object.fromEntries(chosen.map((file) => [file.path, expected[file.path]])))
    // The bytes of shared pieces that belong to skipped files are in one hidden part file beside the folder.
    expect((await readdir(out)).sort()).toEqual([expect.stringMatching(/^\.[0-9a-f]{40}\.parts$/), "season"])

    // ep6 now too (all but the others): ep5's last piece holds ep6's first bytes, kept in the part file until now.
    const more = [...chosen, spec[6]!]
    const others = [0, 1, 3, 4, 7].map((i) => indexOf(spec[i]!.path)).join(",")
    const second = await download(["--exclude", others])
    expect(second.code, describeRun(second)).toBe(0)
    expect(await listFiles(join(out, "season"))).toEqual(Object.fromEntries(more.map((file) => [file.path, file.size])))
    expect(await hashFiles(join(out, "season"), more)).toEqual(Object.fromEntries(more.map((file) => [file.path, expected[file.path]])))
  }, 120_000)

  test("a magnet link's so= selects its files (BEP 53)", async () => {
    const { expected, out, paths, seeder, torrent } = await seededSeason(32)
    const chosen = [spec[0]!, spec[3]!, spec[4]!]
    const indices = chosen.map((file) => paths.indexOf(file.path)).sort((a, b) => a - b)
    const { magnet } = (await lt(["magnet", torrent])) as { readonly magnet: string }
    const result = await runBt(
      ["download", `${magnet}&so=${indices.join(",")}`, "-o", out, "--peer", `127.0.0.1:${seeder.port}`,
        "--no-trackers", "--no-dht", "--port", String(await freePort()), "--json"],
      { timeoutMs: 60_000 }
    )
    expect(result.code, describeRun(result)).toBe(0)
    expect(await listFiles(join(out, "season"))).toEqual(Object.fromEntries(chosen.map((file) => [file.path, file.size])))
    expect(await hashFiles(join(out, "season"), chosen)).toEqual(Object.fromEntries(chosen.map((file) => [file.path, expected[file.path]])))
  }, 120_000)
})
