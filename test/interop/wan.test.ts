/**
 * `bt download` from libtorrent through the link emulator (test/support/linkEmulator.ts): a long fat TCP link
 * (100 ms round trip, 20 MiB/s) and a long lossy uTP one (300 ms, 5 % loss each way). Each side has its own
 * loopback address (bt 127.0.0.1, the relay 127.0.0.3 reaching the seeder on 127.0.0.2 from 127.0.0.4), so no
 * byte goes around the relay. Nothing here is timed: the machine is shared. What is asserted is completion, the
 * bytes, and on the fast link that the pipeline grew past the bandwidth-delay product.
 */
import { join } from "node:path"
import { afterEach, expect, test } from "vitest"
import { BLOCK_SIZE } from "../../src/piece/index.js"
import { type LinkEmulator, type LinkShape, startLinkEmulator } from "../support/linkEmulator.js"
import { interopSuite, runBt, startLtSeeder, type LtTransport } from "./harness.js"
import { btEvents, freshStateDir, hashFiles, makeLtTorrent } from "./leechers.js"

const SEEDER_HOST = "127.0.0.2"
const RELAY_HOST = "127.0.0.3"
const RELAY_SOURCE = "127.0.0.4"

const links: Array<LinkEmulator> = []
afterEach(async () => {
  for (const link of links.splice(0)) await link.close()
})

/** A libtorrent seeder behind the emulator; `bt download` through it. Returns bt's result and its view of the peer. */
const downloadThrough = async (
  size: number,
  shape: LinkShape,
  transport: LtTransport,
  btArgs: ReadonlyArray<string>,
  timeoutMs: number
) => {
  const { dir, hashes, spec, torrent } = await makeLtTorrent("over-wan.bin", size, 41)
  const seeder = await startLtSeeder({ torrent, save: join(dir, "data"), listenHost: SEEDER_HOST, transport })
  const link = await startLinkEmulator({
    listen: { host: RELAY_HOST },
    target: { host: SEEDER_HOST, port: seeder.port },
    sourceHost: RELAY_SOURCE,
    shape
  })
  links.push(link)
  const address = `${RELAY_HOST}:${link.port}`
  const out = join(dir, "out")
  const result = await runBt([
    "download", torrent, "-o", out, "--peer", address, "--no-trackers", "--bind", "127.0.0.1", "--port", "0",
    "--json", ...btArgs, ...(await freshStateDir())
  ], { timeoutMs })
  expect(result.code, result.stderr).toBe(0)
  expect(await hashFiles(out, spec)).toEqual(hashes)
  const events = btEvents(result.stdout)
  const seen = events.flatMap((e) =>
    e.event === "progress" ? (e.peerList as ReadonlyArray<Record<string, unknown>>) : []
  ).filter((peer) => peer.address === address)
  const done = events.find((e) => e.event === "done")
  return { link, seen, seconds: done?.seconds as number }
}

interopSuite("bt over an emulated WAN (link emulator) from libtorrent", ["libtorrent"], () => {
  test("100 ms round trip at 20 MiB/s over TCP: completes, and the pipeline grows to cover the link's BDP", async () => {
    const rate = 20 * 1024 * 1024
    // Big enough that the link's 20 MiB/s takes more than the 1 s before the first JSON progress line, so at least
    // one line shows the peer with its pipeline.
    const size = 32 * 1024 * 1024 + 777
    const { link, seconds, seen } = await downloadThrough(
      size,
      { delayMs: 50, jitterMs: 2, rate },
      "tcp",
      ["--transport", "tcp"],
      90_000
    )
    expect(link.connections()).toBeGreaterThanOrEqual(1)
    // The depth follows the rate measured, which a loaded machine keeps below the link's 20 MiB/s: the pipeline
    // must have grown past its starting depth (16 blocks) to cover the round trip at the rate this run reached
    // on average (at 20 MiB/s that is 128 blocks; the unit tests check the arithmetic at full rate).
    const reached = size / seconds
    const bdpBlocks = Math.ceil((Math.min(rate, reached) * 0.1) / BLOCK_SIZE)
    expect(seen.length, "no progress line showed the peer").toBeGreaterThan(0)
    const peak = Math.max(...seen.map((peer) => peer.peakOutstanding as number))
    const context = `${JSON.stringify(seen.at(-1))}; ${(reached / 1024 / 1024).toFixed(1)} MiB/s on average`
    expect(peak, context).toBeGreaterThan(Math.max(16, bdpBlocks))
  }, 120_000)

  test("300 ms round trip, 5 % loss each way, over uTP: completes", async () => {
    const { link } = await downloadThrough(
      512 * 1024 + 99,
      { delayMs: 150, jitterMs: 10, rate: 10 * 1024 * 1024, loss: 0.05, seed: 5 },
      "utp",
      ["--transport", "utp"],
      150_000
    )
    expect(link.datagrams().lost).toBeGreaterThan(0)
    expect(link.connections()).toBe(0)
  }, 180_000)
})
