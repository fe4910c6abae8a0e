/**
 * LSD (BEP 14) between `bt download` and a libtorrent seeder with LSD on, with no tracker, no DHT and no --peer.
 * Multicast does not flow on `lo` here, so each runs in a network namespace of its own, joined by a veth pair that
 * this suite makes and removes (it needs root and `ip`); nothing reaches the machine's LAN.
 */
import { copyFile, mkdir } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, expect, test } from "vitest"
import { debianPython, interopSuite, repoRoot, runBt, spawnTracked, tempDir, waitForLine, writeFiles } from "./harness.js"
import { hashFiles } from "./leechers.js"
import { run, vethPair } from "./netns.js"

const tag = String(process.pid % 100000)
const NS_BT = `btlsd${tag}a`
const NS_LT = `btlsd${tag}b`
const ADDR_BT = "10.77.0.1"
const ADDR_LT = "10.77.0.2"

interopSuite("LSD (BEP 14) with libtorrent, in two network namespaces", ["ip", "libtorrent"], () => {
  let remove = () => {}
  beforeAll(() => {
    // With no default route, multicast needs a route of its own to leave through the veth.
    const multicast = (ns: string, dev: string) => run("ip", ["-n", ns, "route", "add", "224.0.0.0/4", "dev", dev])
    remove = vethPair(`btv${tag}`, [
      { ns: NS_BT, addresses: [ADDR_BT], setUp: multicast },
      { ns: NS_LT, addresses: [ADDR_LT], setUp: multicast }
    ])
  })
  afterAll(() => remove())

  const spec = [{ path: "lsd/a.bin", size: 3_000_000 }, { path: "lsd/b.bin", size: 700_000 }]

  /** A tracker-less torrent of `spec`: LSD is the only way two peers can meet over it. */
  const trackerless = async () => {
    const work = await tempDir()
    await writeFiles(join(work, "src"), spec, 14)
    const torrent = join(work, "t.torrent")
    expect((await runBt(["create", join(work, "src", "lsd"), "-o", torrent, "--v1"])).code).toBe(0)
    return { work, torrent }
  }

  /** A libtorrent seeder of `torrent` with LSD on, in its namespace; resolves once it is ready. */
  const ltSeeder = async (work: string, torrent: string) => {
    const seeder = spawnTracked("ip", [
      "netns", "exec", NS_LT, debianPython, join(repoRoot, "test", "interop", "lt.py"), "seed", torrent,
      "--save", join(work, "src"), "--port", "6882", "--listen-host", ADDR_LT, "--lsd"
    ])
    await waitForLine(seeder, (l) => l.startsWith("{"), 60_000)
  }

  /** `bt download` of a tracker-less torrent in one namespace, then a libtorrent seeder (LSD on) in the other. */
  const start = async (btExtra: ReadonlyArray<string>) => {
    const { torrent, work } = await trackerless()
    const bt = spawnTracked("ip", [
      "netns", "exec", NS_BT, process.execPath, join(repoRoot, "bin", "bt.js"), "download", torrent,
      "-o", join(work, "out"), "--bind", ADDR_BT, "--port", "6881", "--no-dht", "--no-port-mapping",
      "--state-dir", join(work, "state"), "--json", ...btExtra
    ])
    await waitForLine(bt, (l) => l.includes(`"event":"progress"`), 20_000)
    await ltSeeder(work, torrent)
    return { work, bt }
  }

  test("bt download finds a libtorrent seeder through LSD alone and downloads from it", async () => {
    const { bt, work } = await start([])

    const done = await waitForLine(bt, (l) => l.includes(`"event":"done"`), 60_000)
    expect(JSON.parse(done)).toMatchObject({ downloaded: 3_700_000 })
    const exit = await bt.exited
    expect(exit.code).toBe(0)
    expect(await hashFiles(join(work, "out"), spec)).toEqual(await hashFiles(join(work, "src"), spec))
  })

  test("the control: with --no-lsd, bt and the same seeder never meet", async () => {
    const { bt } = await start(["--no-lsd"])
    await new Promise((resolve) => setTimeout(resolve, 8_000))
    const last = bt.stdout().trim().split("\n").filter((l) => l.includes(`"event":"progress"`)).at(-1)!
    expect(JSON.parse(last)).toMatchObject({ peers: 0, bytesVerified: 0 })
    expect(bt.stdout()).not.toContain(`"event":"done"`)
  })

  test("bt daemon (LSD on by default) finds the libtorrent seeder of a torrent from its watch folder", async () => {
    const { torrent, work } = await trackerless()
    const watch = join(work, "watch")
    await mkdir(watch)
    const daemon = spawnTracked("ip", [
      "netns", "exec", NS_BT, process.execPath, join(repoRoot, "bin", "bt.js"), "daemon", "--rpc-port", "0",
      "--port", "6881", "--no-dht", "--no-port-mapping", "--state-dir", join(work, "state"),
      "--download-dir", join(work, "out"), "--watch-dir", watch
    ])
    const deadline = Date.now() + 20_000
    while (!daemon.stderr().includes("bt daemon: RPC at")) {
      if (daemon.child.exitCode !== null || Date.now() > deadline) throw new Error(`bt daemon: ${daemon.stderr()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await copyFile(torrent, join(watch, "t.torrent"))
    await ltSeeder(work, torrent)
    const want = await hashFiles(join(work, "src"), spec)
    const until = Date.now() + 60_000
    for (;;) {
      const got = await hashFiles(join(work, "out"), spec).catch(() => undefined)
      if (JSON.stringify(got) === JSON.stringify(want)) break
      if (daemon.child.exitCode !== null || Date.now() > until) {
        throw new Error(`the daemon did not download through LSD: ${daemon.stderr()}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    daemon.child.kill("SIGTERM")
    expect((await daemon.exited).code).toBe(0)
  })
})
