/**
 * LSD (BEP 14) between `bt download` and a libtorrent seeder with LSD on, with no tracker, no DHT and no --peer.
 * Multicast does not flow on `lo` here, so each runs in a network namespace of its own, joined by a veth pair that
 * this suite makes and removes (it needs root and `ip`); nothing reaches the machine's LAN.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { afterAll, beforeAll, expect, test } from "vitest"
import { debianPython, interopSuite, repoRoot, runBt, spawnTracked, tempDir, waitForLine, writeFiles } from "./harness.js"
import { hashFiles } from "./leechers.js"

const tag = String(process.pid % 100000)
const NS_BT = `btlsd${tag}a`
const NS_LT = `btlsd${tag}b`
const ADDR_BT = "10.77.0.1"
const ADDR_LT = "10.77.0.2"

const ip = (...args: Array<string>) => {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 })
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`)
}

interopSuite("LSD (BEP 14) with libtorrent, in two network namespaces", ["ip", "libtorrent"], () => {
  beforeAll(() => {
    const [va, vb] = [`btv${tag}a`, `btv${tag}b`]
    ip("netns", "add", NS_BT)
    ip("netns", "add", NS_LT)
    ip("link", "add", va, "type", "veth", "peer", "name", vb)
    ip("link", "set", va, "netns", NS_BT)
    ip("link", "set", vb, "netns", NS_LT)
    for (const [ns, dev, addr] of [[NS_BT, va, ADDR_BT], [NS_LT, vb, ADDR_LT]] as const) {
      ip("-n", ns, "addr", "add", `${addr}/24`, "dev", dev)
      ip("-n", ns, "link", "set", dev, "up")
      ip("-n", ns, "link", "set", "lo", "up")
      // With no default route, multicast needs a route of its own to leave through the veth.
      ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)
    }
  })
  afterAll(() => {
    // Deleting the namespaces deletes the veth pair with them.
    for (const ns of [NS_BT, NS_LT]) spawnSync("ip", ["netns", "del", ns], { timeout: 10_000 })
  })

  const spec = [{ path: "lsd/a.bin", size: 3_000_000 }, { path: "lsd/b.bin", size: 700_000 }]

  /** A tracker-less torrent, `bt download` of it in one namespace, then a libtorrent seeder (LSD on) in the other. */
  const start = async (btExtra: ReadonlyArray<string>) => {
    const work = await tempDir()
    await writeFiles(join(work, "src"), spec, 14)
    const torrent = join(work, "t.torrent")
    // No trackers in the torrent: LSD is the only way the two can meet.
    expect((await runBt(["create", join(work, "src", "lsd"), "-o", torrent, "--v1"])).code).toBe(0)
    const bt = spawnTracked("ip", [
      "netns", "exec", NS_BT, process.execPath, join(repoRoot, "bin", "bt.js"), "download", torrent,
      "-o", join(work, "out"), "--bind", ADDR_BT, "--port", "6881", "--no-dht", "--no-port-mapping",
      "--state-dir", join(work, "state"), "--json", ...btExtra
    ])
    await waitForLine(bt, (l) => l.includes(`"event":"progress"`), 20_000)
    const seeder = spawnTracked("ip", [
      "netns", "exec", NS_LT, debianPython, join(repoRoot, "test", "interop", "lt.py"), "seed", torrent,
      "--save", join(work, "src"), "--port", "6882", "--listen-host", ADDR_LT, "--lsd"
    ])
    await waitForLine(seeder, (l) => l.startsWith("{"), 60_000)
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
})
