/**
 * The DHT against libtorrent on 127.0.0.1, with no tracker and no peer address anywhere: a libtorrent DHT node is
 * the meeting point, libtorrent sessions run their DHT joined through it, bt joins through it with
 * `--dht-bootstrap`. bt downloads a bare magnet link from a libtorrent seeder it can only find through the DHT, and a
 * libtorrent leecher downloads a bare magnet link from `bt seed`, found the same way (also over uTP only, which
 * shares the DHT's UDP port).
 */
import { join } from "node:path"
import { expect, test } from "vitest"
import { freePort, interopSuite, runBt, startLtDhtNode, startLtSeeder, waitForLine } from "./harness.js"
import {
  btEvents,
  exitWithin,
  freshStateDir,
  hashFiles,
  makeLtTorrent,
  startBtSeed,
  startLtLeecher
} from "./leechers.js"

/**
 * `bt download` of a bare magnet link, joining the DHT through `node` alone: it must finish with the right data,
 * and with the metadata from the one peer the DHT led to.
 */
const downloadThroughDht = async (
  made: { readonly dir: string; readonly hashes: unknown; readonly spec: Parameters<typeof hashFiles>[1] },
  infoHash: string,
  node: string,
  extra: ReadonlyArray<string>
) => {
  const out = join(made.dir, "out")
  const result = await runBt([
    "download", `magnet:?xt=urn:btih:${infoHash}`, "-o", out, "--dht-bootstrap", node, ...extra, "--port", "0",
    "--json", ...(await freshStateDir())
  ], { timeoutMs: 60_000 })
  expect(result.code, result.stderr).toBe(0)
  expect(await hashFiles(out, made.spec)).toEqual(made.hashes)
  const metadata = btEvents(result.stdout).find((e) => e.event === "metadata-done")
  expect(metadata, result.stdout.slice(0, 2000)).toMatchObject({ infoHash, peers: 1 })
}

interopSuite("the DHT with libtorrent", ["libtorrent"], () => {
  test("bt downloads a magnet link without trackers or peers from a libtorrent seeder found through the DHT", async () => {
    const { dir, hashes, spec, torrent } = await makeLtTorrent("found.bin", 3 * 1024 * 1024 + 5, 81)
    const meeting = await startLtDhtNode()
    const node = `127.0.0.1:${meeting.port}`
    const seeder = await startLtSeeder({ torrent, save: join(dir, "data"), dhtNodes: [node] })
    await downloadThroughDht({ dir, hashes, spec }, seeder.infoHash, node, [])
  }, 90_000)

  test("a libtorrent leecher downloads a bare magnet link from bt seed, found through the DHT", async () => {
    const { dir, hashes, spec, torrent } = await makeLtTorrent("shared.bin", 2 * 1024 * 1024 + 9, 82)
    const meeting = await startLtDhtNode()
    const node = `127.0.0.1:${meeting.port}`
    const seed = await startBtSeed({ torrent, dir: join(dir, "data"), extraArgs: ["--dht-bootstrap", node] })
    const leecher = await startLtLeecher({
      magnet: `magnet:?xt=urn:btih:${seed.infoHash}`,
      save: join(dir, "lt"),
      dhtNodes: [node],
      timeoutSeconds: 60
    })
    const done = await leecher.done
    expect(done.downloaded).toBeGreaterThanOrEqual(spec[0]!.size)
    expect(await hashFiles(join(dir, "lt"), spec)).toEqual(hashes)
    // Every byte came from bt: the only peer there was.
    expect(Object.keys(done.from)).toEqual([`127.0.0.1:${seed.port}`])
  }, 90_000)

  test("one UDP port for the DHT and uTP: a uTP-only libtorrent leecher finds bt seed through the DHT and downloads", async () => {
    const { dir, hashes, spec, torrent } = await makeLtTorrent("one-port.bin", 2 * 1024 * 1024 + 11, 84)
    const meeting = await startLtDhtNode()
    const node = `127.0.0.1:${meeting.port}`
    const port = await freePort()
    const seed = await startBtSeed({ torrent, dir: join(dir, "data"), port, extraArgs: ["--dht-bootstrap", node] })
    const leecher = await startLtLeecher({
      magnet: `magnet:?xt=urn:btih:${seed.infoHash}`,
      save: join(dir, "lt"),
      dhtNodes: [node],
      transport: "utp",
      reportPeers: true,
      timeoutSeconds: 60
    })
    const done = await leecher.done
    expect(await hashFiles(join(dir, "lt"), spec)).toEqual(hashes)
    expect(Object.keys(done.from)).toEqual([`127.0.0.1:${seed.port}`])
    expect(leecher.peers().find((peer) => peer.peer === `127.0.0.1:${seed.port}`)).toMatchObject({ utp: true })
    // bt's DHT node answers on the port its uTP (and TCP) listen on.
    const line = await waitForLine(seed.proc, (l) => l.includes(`"dht":{`), 15_000)
    expect((JSON.parse(line) as { readonly dht: { readonly port: number } }).dht.port).toBe(seed.port)
  }, 90_000)

  test("SIGTERM stops bt seed at once, even while its DHT bootstrap waits on a node that never answers", async () => {
    const { dir, torrent } = await makeLtTorrent("quiet.bin", 100_000, 83)
    const silent = `127.0.0.1:${await freePort()}`
    const seed = await startBtSeed({ torrent, dir: join(dir, "data"), extraArgs: ["--dht-bootstrap", silent] })
    const stoppedAt = Date.now()
    seed.proc.child.kill("SIGTERM")
    const result = await exitWithin(seed.proc, 5_000, "bt seed after SIGTERM")
    expect(result.code).toBe(130)
    // The bootstrap's query would take 5 s to time out: the stop must not wait for it.
    expect(Date.now() - stoppedAt).toBeLessThan(2_000)
  }, 30_000)

  test("over IPv6 (BEP 32): bt on [::1] finds a libtorrent seeder through a libtorrent DHT node on [::1]", async () => {
    const { dir, hashes, spec, torrent } = await makeLtTorrent("six.bin", 2 * 1024 * 1024 + 32, 86)
    // Everything on ::1 only: libtorrent's node and seeder listen there, bt binds there and bootstraps there, so
    // the IPv4 DHT node has nobody to ask and the seeder is found by the IPv6 one.
    const meeting = await startLtDhtNode([], "::1")
    const node = `[::1]:${meeting.port}`
    const seeder = await startLtSeeder({ torrent, save: join(dir, "data"), dhtNodes: [node], listenHost: "::1" })
    // The seeder listens on [::1] only and was named nowhere: the IPv6 DHT is the only way bt could find it (before
    // BEP 32 the IPv4 node dropped the [::1] bootstrap node, and this download found no peer).
    await downloadThroughDht({ dir, hashes, spec }, seeder.infoHash, node, ["--bind", "::1"])
  }, 90_000)

  test("over IPv6 (BEP 32): a libtorrent leecher on [::1] finds bt seed through a libtorrent DHT node on [::1]", async () => {
    const { dir, hashes, spec, torrent } = await makeLtTorrent("six-back.bin", 2 * 1024 * 1024 + 61, 87)
    // Everything on ::1 only, as above, the other way: bt seed binds [::1] and bootstraps there, so its IPv4 DHT node
    // has nobody to ask, and the leecher (listening and bootstrapping on [::1]) can learn of bt only from bt's
    // announce on the IPv6 DHT.
    const meeting = await startLtDhtNode([], "::1")
    const node = `[::1]:${meeting.port}`
    const seed = await startBtSeed({ torrent, dir: join(dir, "data"), extraArgs: ["--bind", "::1", "--dht-bootstrap", node] })
    const leecher = await startLtLeecher({
      magnet: `magnet:?xt=urn:btih:${seed.infoHash}`,
      save: join(dir, "lt"),
      dhtNodes: [node],
      listenHost: "::1",
      timeoutSeconds: 60
    })
    const done = await leecher.done
    expect(await hashFiles(join(dir, "lt"), spec)).toEqual(hashes)
    // Every byte came from bt, over IPv6.
    expect(Object.keys(done.from)).toEqual([`::1:${seed.port}`])
    // bt's IPv6 node has the meeting point (and the leecher) in its table.
    const line = await waitForLine(seed.proc, (l) => l.includes(`"ipv6":{"nodes":`) && !l.includes(`"ipv6":{"nodes":0`), 15_000)
    expect(JSON.parse(line).dht.ipv6.nodes).toBeGreaterThanOrEqual(1)
  }, 90_000)
})
