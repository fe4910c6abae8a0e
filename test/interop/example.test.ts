import { Effect } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import { BtLayer, downloadTorrent } from "../../examples/download.js"
import { interopSuite, lt, startLtSeeder, tempDir, writeFiles } from "./harness.js"

const sha1 = async (path: string) => createHash("sha1").update(await readFile(path)).digest("hex")

interopSuite("examples/download.ts: bt embedded in another Effect program", ["libtorrent"], () => {
  test("downloads from a libtorrent seeder through the library's Layer graph", async () => {
    const work = await tempDir()
    const files = [{ path: "album/one.bin", size: 400_000 }, { path: "album/two.bin", size: 123_457 }]
    await writeFiles(join(work, "src"), files, 11)
    const torrent = join(work, "t.torrent")
    await lt(["create", join(work, "src", "album"), "--out", torrent, "--piece-length", "32768"])
    const seeder = await startLtSeeder({ torrent, save: join(work, "src") })

    const out = join(work, "out")
    const program = downloadTorrent(torrent, out, [{ host: "127.0.0.1", port: seeder.port }]).pipe(
      Effect.provide(BtLayer),
      Effect.timeout("60 seconds")
    )
    const downloaded = await Effect.runPromise(program)

    expect(downloaded.name).toBe("album")
    for (const file of files) {
      expect(await sha1(join(out, file.path))).toBe(await sha1(join(work, "src", file.path)))
    }
  })
})
