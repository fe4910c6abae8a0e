/**
 * `bt daemon` driven over Transmission's RPC as a user would: `transmission-remote` (Debian's, 3.00) adds a torrent
 * and a magnet seeded by libtorrent (found through opentracker), lists them, watches them reach 100 %, stops,
 * starts, verifies, limits and removes them (with and without deleting the data); then `bt add/list/stop/start/
 * remove` do the same against `bt daemon` and against a real `transmission-daemon`.
 */
import { existsSync } from "node:fs"
import { request } from "node:http"
import { mkdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { beforeAll, expect, test } from "vitest"
import {
  btArgs,
  freePort,
  interopSuite,
  lt,
  type LtInfo,
  rpcCall,
  run,
  runBt,
  startLtDhtNode,
  startLtSeeder,
  startOpentracker,
  spawnTracked,
  type Tracked,
  tempDir,
  until,
  writeFiles
} from "./harness.js"
import { describeProc, exitWithin, hashFiles, startTransmission } from "./leechers.js"

interface Payload {
  readonly name: string
  readonly torrent: string
  readonly info: LtInfo
  readonly src: string
  readonly hash: Record<string, string>
}

/** A single file of `size` pseudo-random bytes and its v1 torrent announcing to `tracker`. */
const payload = async (work: string, name: string, size: number, seed: number, tracker: string): Promise<Payload> => {
  const src = join(work, `src-${name}`)
  const spec = [{ path: name, size }]
  await writeFiles(src, spec, seed)
  const torrent = join(work, `${name}.torrent`)
  const info = (await lt([
    "create", join(src, name), "--out", torrent, "--piece-length", "32768", "--tracker", tracker
  ])) as LtInfo
  return { name, torrent, info, src, hash: await hashFiles(src, spec) }
}

interface Daemon {
  readonly rpc: string
  /** Holds `data` (the download folder) and `state`. */
  readonly work: string
  readonly downloadDir: string
  readonly proc: Tracked
}

/**
 * `bt daemon` on fresh ports, no DHT (unless `extra` gives a `--dht-bootstrap`), its state and data in `work` (a fresh folder unless given); resolves once
 * its RPC is up.
 */
const startBtDaemon = async (work?: string, extra: ReadonlyArray<string> = [], env?: NodeJS.ProcessEnv): Promise<Daemon> => {
  const dir = work ?? (await tempDir())
  const downloadDir = join(dir, "data")
  await mkdir(downloadDir, { recursive: true })
  const rpcPort = await freePort()
  const proc = spawnTracked(process.execPath, btArgs([
    "daemon", "--rpc-port", String(rpcPort), "--port", String(await freePort()),
    ...(extra.includes("--dht-bootstrap") ? [] : ["--no-dht"]),
    "--state-dir", join(dir, "state"), "--download-dir", downloadDir, ...extra
  ]), env === undefined ? {} : { env })
  await until("bt daemon's RPC", 20_000, async () => {
    if (proc.child.exitCode !== null) throw new Error(`bt daemon exited: ${proc.stderr()}`)
    return proc.stderr().includes("bt daemon: RPC at") ? true : undefined
  })
  return { rpc: `127.0.0.1:${rpcPort}`, work: dir, downloadDir, proc }
}

/** `transmission-remote HOST:PORT ...args`, which must succeed. */
const remote = async (d: Daemon, ...args: ReadonlyArray<string>): Promise<string> => {
  const result = await run("transmission-remote", [d.rpc, ...args], { timeoutMs: 15_000 })
  expect(result.code, `transmission-remote ${args.join(" ")}: ${result.stderr}\n${describeProc("bt daemon", d.proc)}`).toBe(0)
  return result.stdout
}

/** The rows of `transmission-remote -l`: id, done (percent or "n/a"), status, name. */
const listRows = async (d: Daemon) =>
  (await remote(d, "-l")).split("\n").slice(1).filter((line) => /^\s*\d+\*?\s/.test(line)).map((line) => {
    const cells = line.trim().split(/\s{2,}/)
    return { id: Number.parseInt(cells[0]!), done: cells[1]!, status: cells[cells.length - 2]!, name: cells[cells.length - 1]! }
  })

const bt = async (...args: ReadonlyArray<string>): Promise<string> => {
  const result = await runBt(args, { timeoutMs: 20_000 })
  expect(result.code, `bt ${args.join(" ")}: ${result.stderr}`).toBe(0)
  return result.stdout
}

interface BtRow {
  readonly id: number
  readonly infoHash: string
  readonly name: string
  readonly status: string
  readonly percentDone: number
}

const btList = async (rpc: string): Promise<ReadonlyArray<BtRow>> =>
  JSON.parse(await bt("list", "--rpc", rpc, "--json")) as ReadonlyArray<BtRow>

interopSuite("transmission-remote and bt add/list against bt daemon", ["transmission-remote", "libtorrent", "opentracker"], () => {
  let work: string
  let one: Payload
  let two: Payload

  beforeAll(async () => {
    work = await tempDir()
    const tracker = await startOpentracker(join(work, "tracker"), [], { scope: "suite" })
    one = await payload(work, "one.bin", 700_001, 11, tracker.httpUrl)
    two = await payload(work, "two.bin", 500_003, 12, tracker.httpUrl)
    await tracker.allow([one.info.info_hash, two.info.info_hash])
    for (const p of [one, two]) {
      await startLtSeeder({ torrent: p.torrent, save: p.src, trackerAnnounce: true, scope: "suite" })
    }
  })

  test("add a torrent and a magnet, watch them to 100 %, stop, start, verify, limit, remove with and without the data", async () => {
    const d = await startBtDaemon()
    const tracker = /tr=([^&]+)/.exec(await bt("magnet", two.torrent))![1]!
    const magnet = `magnet:?xt=urn:btih:${two.info.info_hash}&dn=two.bin&tr=${tracker}`
    expect(await remote(d, "-a", one.torrent)).toMatch(/success/)
    expect(await remote(d, "-a", magnet)).toMatch(/success/)

    const rows = await until("both at 100 %", 60_000, async () => {
      const rows = await listRows(d)
      return rows.length === 2 && rows.every((row) => row.done === "100%") ? rows : undefined
    })
    expect(rows.map((row) => row.name).sort()).toEqual(["one.bin", "two.bin"])
    for (const p of [one, two]) expect(await hashFiles(d.downloadDir, [{ path: p.name, size: p.info.total_size }])).toEqual(p.hash)
    // The libtorrent seeders told us where they see us (BEP 10 yourip): on loopback, a loopback address.
    const session = (await rpcCall(d.rpc, "session-get", { fields: ["bt-external-address"] })).arguments!
    expect(session["bt-external-address"]).toEqual({ local: ["127.0.0.1"] })
    const idOf = (name: string) => String(rows.find((row) => row.name === name)!.id)

    await remote(d, "-t", idOf("one.bin"), "-S")
    await until("one.bin stopped", 10_000, async () =>
      (await listRows(d)).find((row) => row.name === "one.bin")?.status === "Stopped" ? true : undefined)
    await remote(d, "-t", idOf("one.bin"), "-s")
    await until("one.bin seeding again", 20_000, async () =>
      (await listRows(d)).find((row) => row.name === "one.bin")?.status.match(/Seeding|Idle/) ? true : undefined)
    await remote(d, "-t", idOf("one.bin"), "-v")
    await until("one.bin verified at 100 %", 20_000, async () => {
      const row = (await listRows(d)).find((row) => row.name === "one.bin")
      return row?.done === "100%" && /Seeding|Idle/.test(row.status) ? true : undefined
    })

    await remote(d, "-t", idOf("two.bin"), "-d", "100")
    expect(await remote(d, "-t", idOf("two.bin"), "-i")).toMatch(/Download Limit: 100 kB\/s/)
    await remote(d, "-d", "250")
    expect(await remote(d, "-si")).toMatch(/Download speed limit: 250 kB\/s/)

    await remote(d, "-t", idOf("one.bin"), "-r")
    await remote(d, "-t", idOf("two.bin"), "--remove-and-delete")
    await until("both removed", 10_000, async () => ((await listRows(d)).length === 0 ? true : undefined))
    expect(existsSync(join(d.downloadDir, "one.bin"))).toBe(true)
    await until("two.bin deleted", 10_000, async () => (existsSync(join(d.downloadDir, "two.bin")) ? undefined : true))

    d.proc.child.kill("SIGTERM")
    expect((await exitWithin(d.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)
  })

  // transmission-remote 3.00 (Debian's) has no --path/--rename (4.0 added them): the call is sent as transmission-remote
  // 4.x sends it, and the same call to a real transmission-daemon is checked in the transmission-daemon suite below.
  test("torrent-rename-path renames the file of a downloaded torrent: on disk, in the list, verified, kept over a restart", async () => {
    const d = await startBtDaemon()
    await remote(d, "-a", one.torrent)
    await until("one.bin at 100 %", 60_000, async () => ((await listRows(d))[0]?.done === "100%" ? true : undefined))
    const rename = (path: string, name: string) => rpcCall(d.rpc, "torrent-rename-path", { ids: [1], path, name })
    expect(await rename("one.bin", "uno.bin")).toEqual({ result: "success", arguments: { id: 1, path: "one.bin", name: "uno.bin" } })
    expect(existsSync(join(d.downloadDir, "one.bin"))).toBe(false)
    expect(await hashFiles(d.downloadDir, [{ path: "uno.bin", size: one.info.total_size }])).toEqual({ "uno.bin": one.hash["one.bin"] })
    expect((await listRows(d))[0]?.name).toBe("uno.bin")
    for (const [path, name] of [["uno.bin", "../escape.bin"], ["uno.bin", "a/b.bin"], ["one.bin", "x.bin"], ["../uno.bin", "x.bin"]]) {
      expect((await rename(path!, name!)).result).not.toBe("success")
    }
    expect(await hashFiles(d.downloadDir, [{ path: "uno.bin", size: one.info.total_size }])).toEqual({ "uno.bin": one.hash["one.bin"] })
    await remote(d, "-t", "1", "-v")
    await until("uno.bin verified at 100 %", 20_000, async () => {
      const row = (await listRows(d))[0]
      return row?.done === "100%" && /Seeding|Idle/.test(row.status) ? true : undefined
    })
    d.proc.child.kill("SIGTERM")
    expect((await exitWithin(d.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)
    const again = await startBtDaemon(d.work)
    await remote(again, "-t", "1", "-v")
    await until("uno.bin at 100 % after the restart", 20_000, async () => {
      const row = (await listRows(again))[0]
      return row?.name === "uno.bin" && row.done === "100%" && /Seeding|Idle/.test(row.status) ? true : undefined
    })
    expect(existsSync(join(d.downloadDir, "one.bin"))).toBe(false)
    again.proc.child.kill("SIGTERM")
    expect((await exitWithin(again.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)
  })

  test("bt add/list/stop/start/remove against bt daemon, and the daemon keeps its torrents over a restart", async () => {
    const d = await startBtDaemon()
    expect(await bt("add", "--rpc", d.rpc, one.torrent)).toMatch(/^added #1 one\.bin/)
    expect(await bt("add", "--rpc", d.rpc, one.torrent)).toMatch(/^already there: #1 one\.bin/)
    const done = await until("one.bin at 100 %", 60_000, async () => {
      const rows = await btList(d.rpc)
      return rows[0]?.percentDone === 1 ? rows : undefined
    })
    expect(done[0]).toMatchObject({ id: 1, infoHash: one.info.info_hash, name: "one.bin" })
    expect(await bt("list", "--rpc", d.rpc)).toMatch(/^ID\s+Done.*\n\s*1\s+100%.*one\.bin$/m)
    await bt("stop", "--rpc", d.rpc, "1")
    await until("stopped", 10_000, async () => ((await btList(d.rpc))[0]?.status === "stopped" ? true : undefined))

    d.proc.child.kill("SIGTERM")
    expect((await exitWithin(d.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)
    const again = await startBtDaemon(d.work)
    const back = await btList(again.rpc)
    expect(back).toHaveLength(1)
    expect(back[0]).toMatchObject({ id: 1, infoHash: one.info.info_hash, status: "stopped" })

    await bt("start", "--rpc", again.rpc, one.info.info_hash)
    await until("seeding", 20_000, async () => ((await btList(again.rpc))[0]?.status === "seeding" ? true : undefined))
    await bt("remove", "--rpc", again.rpc, "--delete", "all")
    await until("removed and deleted", 10_000, async () =>
      (await btList(again.rpc)).length === 0 && !existsSync(join(d.downloadDir, "one.bin")) ? true : undefined)
    again.proc.child.kill("SIGTERM")
    expect((await exitWithin(again.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)
  })
})

interopSuite("bt daemon's guards: auth, Host, a public bind, /metrics, the watch folder", ["transmission-remote", "libtorrent"], () => {
  test("credentials from the environment, checked for transmission-remote and bt; a foreign Host refused", async () => {
    const work = await tempDir()
    const watch = join(work, "watch")
    await mkdir(watch)
    const d = await startBtDaemon(work, ["--watch-dir", watch], { ...process.env, BT_RPC_AUTH: "admin:s3:cret" })
    expect(d.proc.child.spawnargs.join(" ")).not.toContain("s3:cret")
    const url = `http://${d.rpc}/transmission/rpc`

    const denied = await run("transmission-remote", [d.rpc, "-l"], { timeoutMs: 15_000 })
    expect(denied.code).not.toBe(0)
    expect(denied.stderr + denied.stdout).toMatch(/401/)
    expect(await remote(d, "-n", "admin:s3:cret", "-l")).toMatch(/^\s*ID\s+Done/)
    const withAuth = { ...process.env, BT_RPC_AUTH: "admin:s3:cret" }
    const wrong = await runBt(["list", "--rpc", d.rpc], { env: { ...process.env, BT_RPC_AUTH: "admin:nope" } })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^bt: the daemon at .* refused our credentials/)

    const basic = `Basic ${Buffer.from("admin:s3:cret").toString("base64")}`
    // fetch will not send another Host header: node:http will.
    const statusWithHost = (host: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        const req = request(url, { method: "POST", headers: { host, authorization: basic } }, (res) => {
          res.resume()
          resolve(res.statusCode)
        })
        req.on("error", reject)
        req.end("{}")
      })
    expect(await statusWithHost("evil.example")).toBe(421)
    expect(await statusWithHost(`localhost:${d.rpc.split(":")[1]}`)).toBe(409)
    const metrics = await fetch(`http://${d.rpc}/metrics`, { headers: { authorization: basic } })
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toMatch(/^bt_torrents\{state="stopped"\} 0$/m)

    const p = await payload(work, "watched.bin", 100_000, 14, "http://127.0.0.1:1/announce")
    await run("cp", [p.torrent, join(watch, "watched.torrent")])
    const rows = await until("the watched torrent added", 15_000, async () => {
      const result = await runBt(["list", "--rpc", d.rpc, "--json"], { env: withAuth, timeoutMs: 20_000 })
      const rows = JSON.parse(result.stdout) as ReadonlyArray<BtRow>
      return rows.length === 1 ? rows : undefined
    })
    expect(rows[0]).toMatchObject({ name: "watched.bin", infoHash: p.info.info_hash })
    d.proc.child.kill("SIGINT")
    expect((await exitWithin(d.proc, 15_000, "bt daemon after SIGINT")).code).toBe(0)
  })

  test("a public --rpc-bind without auth is refused in one line", async () => {
    const result = await runBt(["daemon", "--rpc-bind", "0.0.0.0", "--rpc-port", "0", "--no-dht"], {
      env: { ...process.env, BT_RPC_AUTH: "" },
      timeoutMs: 20_000
    })
    // A wrong command line: exit 2 and the hint line, as every usage error.
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^bt: /), "try: bt daemon --help"])
    expect(result.stderr).toMatch(/^bt: --rpc-bind 0\.0\.0\.0 without --rpc-auth/)
  })
})

interopSuite("bt add/list/stop/start/remove against transmission-daemon", ["transmission-daemon", "libtorrent"], () => {
  test("torrent-rename-path answers as bt daemon's does, and renames on disk", async () => {
    const work = await tempDir()
    const p = await payload(work, "four.bin", 100_003, 15, "http://127.0.0.1:1/announce")
    const t = await startTransmission(join(work, "config"), p.src)
    await t.rpc("torrent-add", { filename: p.torrent })
    const address = `127.0.0.1:${await rpcPortOf(join(work, "config"))}`
    const renamed = await rpcCall(address, "torrent-rename-path", { ids: [1], path: "four.bin", name: "vier.bin" })
    expect(renamed).toEqual({ result: "success", arguments: { id: 1, path: "four.bin", name: "vier.bin" } })
    await until("vier.bin on disk", 10_000, async () => (existsSync(join(p.src, "vier.bin")) ? true : undefined))
    expect((await rpcCall(address, "torrent-rename-path", { ids: [1], path: "vier.bin", name: "a/b.bin" })).result).not.toBe("success")
    t.proc.child.kill("SIGTERM")
    await exitWithin(t.proc, 15_000, "transmission-daemon after SIGTERM")
  })

  test("a .torrent and a magnet added, listed, stopped, started and removed", async () => {
    const work = await tempDir()
    const t = await startTransmission(join(work, "config"), join(work, "data"))
    expect((await t.rpc("session-get", {}))["rpc-version"]).toBe(16)
    const address = `http://127.0.0.1:${await rpcPortOf(join(work, "config"))}`
    const p = await payload(work, "three.bin", 300_007, 13, "http://127.0.0.1:1/announce")
    expect(await bt("add", "--rpc", address, p.torrent)).toMatch(/^added #1 three\.bin/)
    const hash = "0123456789abcdef0123456789abcdef01234567"
    expect(await bt("add", "--rpc", address, `magnet:?xt=urn:btih:${hash}&dn=ghost`)).toMatch(/^added #2 ghost/)
    const rows = await btList(address)
    expect(rows.map((row) => [row.id, row.name, row.infoHash])).toEqual([
      [1, "three.bin", p.info.info_hash],
      [2, "ghost", hash]
    ])
    expect(await bt("list", "--rpc", address)).toMatch(/three\.bin/)
    await bt("stop", "--rpc", address, "all")
    await until("both stopped", 10_000, async () =>
      (await btList(address)).every((row) => row.status === "stopped") ? true : undefined)
    await bt("start", "--rpc", address, "1")
    await until("three.bin running", 10_000, async () =>
      (await btList(address))[0]?.status !== "stopped" ? true : undefined)
    await bt("remove", "--rpc", address, "1", hash)
    await until("both removed", 10_000, async () => ((await btList(address)).length === 0 ? true : undefined))
    const refused = await runBt(["stop", "--rpc", address, "nope"])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^bt: nope: expected a torrent id/)
  })
})

interopSuite("bt daemon's /metrics counts the DHT node's routing table", ["libtorrent"], () => {
  test("bt_dht_nodes: absent without a DHT node, at least the bootstrap node (libtorrent) once it answered", async () => {
    const meeting = await startLtDhtNode()
    const d = await startBtDaemon(undefined, ["--dht-bootstrap", `127.0.0.1:${meeting.port}`])
    const nodes = await until("a DHT node in bt daemon's /metrics", 30_000, async () => {
      const text = await (await fetch(`http://${d.rpc}/metrics`)).text()
      const found = /^bt_dht_nodes (\d+)$/m.exec(text)
      return found !== null && Number(found[1]) > 0 ? Number(found[1]) : undefined
    })
    expect(nodes).toBeGreaterThanOrEqual(1)
    d.proc.child.kill("SIGTERM")
    expect((await exitWithin(d.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)

    const without = await startBtDaemon()
    const text = await (await fetch(`http://${without.rpc}/metrics`)).text()
    expect(text).toMatch(/^bt_torrents\{state="stopped"\} 0$/m)
    expect(text).not.toContain("bt_dht_nodes")
    without.proc.child.kill("SIGTERM")
    expect((await exitWithin(without.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)
  })
})

/** The RPC port startTransmission wrote into settings.json. */
const rpcPortOf = async (configDir: string): Promise<number> =>
  (JSON.parse(await readFile(join(configDir, "settings.json"), "utf8")) as { "rpc-port": number })["rpc-port"]

interopSuite("transmission-remote's file choices on a magnet before its metadata", ["transmission-remote", "libtorrent"], () => {
  test("-G before the metadata (and -g/-G again after a restart, the later winning) holds once libtorrent serves it", async () => {
    const work = await tempDir()
    const src = join(work, "src")
    const spec = [{ path: "trio/a.bin", size: 300_001 }, { path: "trio/b.bin", size: 200_003 }, { path: "trio/c.bin", size: 250_007 }]
    await writeFiles(src, spec, 21)
    const torrent = join(work, "trio.torrent")
    const info = (await lt(["create", join(src, "trio"), "--out", torrent, "--piece-length", "32768"])) as LtInfo
    const wantedHash = await hashFiles(src, spec.slice(0, 2))
    // The only peer, named in the link, is not listening until the choices are made.
    const port = await freePort()
    const d = await startBtDaemon(join(work, "daemon"))
    expect(await remote(d, "-a", `magnet:?xt=urn:btih:${info.info_hash}&dn=trio&x.pe=127.0.0.1:${port}`)).toMatch(/success/)
    const id = String((await listRows(d))[0]!.id)
    const fields = ["metadataPercentComplete", "percentDone", "leftUntilDone", "wanted", "priorities", "fileStats", "files"]
    const get = async (daemon: Daemon) => (await rpcCall(daemon.rpc, "torrent-get", { ids: [Number(id)], fields })).arguments!.torrents[0]
    // b.bin unwanted first; c.bin is the one a later choice leaves unwanted.
    expect(await remote(d, "-t", id, "-G", "1")).toMatch(/success/)
    const before = await get(d)
    expect(before.metadataPercentComplete).toBeLessThan(1)
    // No files before the metadata: empty lists, as Transmission shows.
    expect([before.wanted, before.priorities, before.fileStats, before.files]).toEqual([[], [], [], []])
    d.proc.child.kill("SIGTERM")
    expect((await exitWithin(d.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)

    const again = await startBtDaemon(d.work)
    expect(await remote(again, "-t", id, "-g", "1")).toMatch(/success/)
    expect(await remote(again, "-t", id, "-G", "2")).toMatch(/success/)
    await startLtSeeder({ torrent, save: src, port })
    const done = await until("a.bin and b.bin downloaded", 90_000, async () => {
      const t = await get(again)
      return t.wanted.length === 3 && t.percentDone === 1 && t.leftUntilDone === 0 ? t : undefined
    })
    expect(done.wanted).toEqual([1, 1, 0])
    expect(await hashFiles(again.downloadDir, spec.slice(0, 2))).toEqual(wantedHash)
    // c.bin was not downloaded: absent (its bytes in a piece shared with b.bin went to the hidden part file).
    expect(existsSync(join(again.downloadDir, spec[2]!.path))).toBe(false)
    again.proc.child.kill("SIGTERM")
    expect((await exitWithin(again.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)
  })
})
