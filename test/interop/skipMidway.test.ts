/**
 * A file set to skip while it downloads, against a rate-limited libtorrent seeder: the daemon takes back (CANCELs)
 * the requests for its pieces in flight, finishes the files still wanted intact, and leaves the skipped one unfinished.
 */
import { mkdir, readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import {
  btArgs,
  freePort,
  interopSuite,
  lt,
  rpcCall,
  spawnTracked,
  startLtSeeder,
  startOpentracker,
  tempDir,
  until,
  writeFiles
} from "./harness.js"

const MiB = 1024 * 1024

interopSuite("a file set to skip mid-download, libtorrent seeding", ["libtorrent", "opentracker"], () => {
  test("the wanted files complete and match; the skipped one is left unfinished", async () => {
    const work = await tempDir()
    const names = ["a.bin", "b.bin", "c.bin"]
    await writeFiles(join(work, "src", "set"), names.map((path) => ({ path, size: 4 * MiB })), 29)
    const tracker = await startOpentracker(join(work, "tracker"), [])
    const torrent = join(work, "set.torrent")
    const info = (await lt([
      "create", join(work, "src", "set"), "--out", torrent, "--piece-length", String(64 * 1024), "--tracker", tracker.httpUrl
    ])) as { readonly info_hash: string }
    await tracker.allow([info.info_hash])
    // 12 MiB at 1 MiB/s: the selection changes while every file is still in flight.
    await startLtSeeder({ torrent, save: join(work, "src"), trackerAnnounce: true, uploadLimit: 1 * MiB })

    const rpcPort = await freePort()
    const rpc = `127.0.0.1:${rpcPort}`
    await mkdir(join(work, "data"))
    spawnTracked(process.execPath, btArgs([
      "daemon", "--rpc-port", String(rpcPort), "--port", String(await freePort()), "--no-dht",
      "--state-dir", join(work, "state"), "--download-dir", join(work, "data")
    ]))
    await until("the daemon answers", 20_000, () => rpcCall(rpc, "session-get", {}).then(() => true, () => undefined))
    const added = await rpcCall(rpc, "torrent-add", { metainfo: (await readFile(torrent)).toString("base64") })
    expect(added.result).toBe("success")
    const get = async (fields: ReadonlyArray<string>) =>
      (await rpcCall(rpc, "torrent-get", { ids: [info.info_hash], fields })).arguments!.torrents[0] as Record<string, any>

    // Bytes flowing (about 1 MiB of 12): skip the middle file.
    await until("a MiB is downloaded", 60_000, async () => ((await get(["downloadedEver"])).downloadedEver >= MiB ? true : undefined))
    const set = await rpcCall(rpc, "torrent-set", { ids: [info.info_hash], "files-unwanted": [1] })
    expect(set.result).toBe("success")

    const done = await until("the wanted files are done", 90_000, async () => {
      const t = await get(["leftUntilDone", "percentDone", "corruptEver", "files", "wanted"])
      return t.leftUntilDone === 0 ? t : undefined
    })
    expect(done.percentDone).toBe(1)
    expect(done.wanted).toEqual([1, 0, 1])
    // Blocks of the dropped pieces that were on the wire before the CANCEL arrived are discarded (counted as waste).
    console.log(`skipped mid-download: ${done.corruptEver} bytes discarded after the cancel`)
    for (const name of ["a.bin", "c.bin"]) {
      const got = await readFile(join(work, "data", "set", name))
      expect(got.equals(await readFile(join(work, "src", "set", name))), name).toBe(true)
    }
    // The skipped file: far from whole (only the pieces it shares with its neighbours and what had arrived).
    const skipped = done.files[1] as { readonly bytesCompleted: number; readonly length: number }
    expect(skipped.bytesCompleted).toBeLessThan(skipped.length)
    const onDisk = await stat(join(work, "data", "set", "b.bin")).then((s) => s.blocks * 512, () => 0)
    expect(onDisk).toBeLessThan(4 * MiB)
  }, 240_000)
})
