import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import { appLayer } from "../../examples/client.js"
import { freePort, interopSuite, lt, startLtSeeder, tempDir, writeFiles } from "./harness.js"

const sha1 = async (path: string) => createHash("sha1").update(await readFile(path)).digest("hex")
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interopSuite("examples/client.ts: the Client embedded beside the program's own HTTP route", ["libtorrent"], () => {
  test("a magnet link POSTed to the program's route downloads from libtorrent; GET lists it", async () => {
    const work = await tempDir()
    await writeFiles(join(work, "src", "album"), [{ path: "one.bin", size: 700_000 }], 12)
    const torrent = join(work, "t.torrent")
    await lt(["create", join(work, "src", "album"), "--out", torrent, "--piece-length", "32768"])
    const seeder = await startLtSeeder({ torrent, save: join(work, "src") })
    const { magnet } = (await lt(["magnet", torrent])) as { readonly magnet: string }
    const httpPort = await freePort()

    const program = Effect.gen(function*() {
      yield* Layer.build(appLayer({
        stateDir: join(work, "state"),
        downloadDir: join(work, "out"),
        httpPort,
        peerPort: yield* Effect.promise(freePort)
      }))
      return yield* Effect.promise(async () => {
        const base = `http://127.0.0.1:${httpPort}/torrents`
        const added = await fetch(base, { method: "POST", body: `${magnet}&x.pe=127.0.0.1:${seeder.port}` })
        expect(added.status).toBe(201)
        const bad = await fetch(base, { method: "POST", body: "magnet:?xt=nonsense" })
        expect(bad.status).toBe(400)
        for (let i = 0; i < 300; i++) {
          const list = (await (await fetch(base)).json()) as ReadonlyArray<{ readonly status: string; readonly name: string }>
          if (list[0]?.status === "seeding") return list
          await sleep(100)
        }
        throw new Error("not seeding within 30 s")
      })
    }).pipe(Effect.scoped)
    const list = await Effect.runPromise(program)
    expect(list.map((t) => [t.name, t.status])).toEqual([["album", "seeding"]])
    expect(await sha1(join(work, "out", "album", "one.bin"))).toBe(await sha1(join(work, "src", "album", "one.bin")))
  }, 60_000)
})
