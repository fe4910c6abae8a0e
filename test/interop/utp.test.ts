/**
 * uTP (BEP 29) with libtorrent on 127.0.0.1: libtorrent with TCP off both ways (uTP only) seeding to `bt download`
 * and leeching from `bt seed`, plaintext and RC4-encrypted, with bt's default transports (TCP first, uTP when TCP is
 * refused, closed or left silent); bt falling back to TCP for a libtorrent without uTP; and the defaults choosing TCP
 * where both are offered.
 */
import { join } from "node:path"
import { expect, test } from "vitest"
import { formatEndpoint } from "../../src/net/endpoint.js"
import { interopSuite, type LtEncryption, type LtTransport, startLtSeeder } from "./harness.js"
import { btDownloadFrom, hashFiles, makeLtTorrent, startBtSeed, startLtLeecher } from "./leechers.js"

const spec = [{ path: "over-utp.bin", size: 6 * 1024 * 1024 + 1234 }]
const makeTorrent = () => makeLtTorrent("over-utp.bin", spec[0]!.size, 29)

/**
 * `bt download` (default transports) from a libtorrent seeder speaking `transport`; the seeder as `--json`
 * progress showed it.
 */
const downloadFrom = async (transport: LtTransport, encryption: LtEncryption = "disabled", btArgs: ReadonlyArray<string> = []) => {
  const { dir, hashes, torrent } = await makeTorrent()
  // Slow enough for progress lines to show the peer.
  const seeder = await startLtSeeder({ torrent, save: join(dir, "data"), transport, encryption, uploadLimit: 4_000_000 })
  const address = formatEndpoint({ host: "127.0.0.1", port: seeder.port })
  const out = join(dir, "out")
  const { result, seen } = await btDownloadFrom(torrent, out, address, btArgs)
  expect(result.code, result.stderr).toBe(0)
  expect(await hashFiles(out, spec)).toEqual(hashes)
  expect(seen, result.stdout.slice(0, 2000)).toBeDefined()
  return seen!
}

/** A libtorrent leecher speaking uTP only downloads from `bt seed` (default transports); its report of bt. */
const leechFromBt = async (encryption: LtEncryption, btArgs: ReadonlyArray<string>) => {
  const { dir, hashes, torrent } = await makeTorrent()
  const seed = await startBtSeed({ torrent, dir: join(dir, "data"), extraArgs: btArgs })
  const leecher = await startLtLeecher({
    torrent,
    save: join(dir, "lt"),
    peers: [`127.0.0.1:${seed.port}`],
    transport: "utp",
    encryption,
    reportPeers: true
  })
  const done = await leecher.done
  expect(done.from[`127.0.0.1:${seed.port}`], JSON.stringify(done.from)).toBeGreaterThan(0)
  expect(await hashFiles(join(dir, "lt"), spec)).toEqual(hashes)
  const report = leecher.peers().find((peer) => peer.peer === `127.0.0.1:${seed.port}`)
  expect(report, JSON.stringify(leecher.peers())).toBeDefined()
  return report!
}

interopSuite("uTP with libtorrent", ["libtorrent"], () => {
  test("downloads from a libtorrent seeder that speaks uTP only, its uTP counters in --json", async () => {
    const seen = await downloadFrom("utp")
    expect(seen).toMatchObject({ transport: "utp", encrypted: false })
    const counters = seen.transportCounters as Record<string, number>
    expect(counters.packetsReceived, JSON.stringify(counters)).toBeGreaterThan(100)
    expect(counters.rttMs, JSON.stringify(counters)).toBeGreaterThan(0)
  }, 90_000)

  test("downloads over uTP from a libtorrent seeder that speaks uTP only and forces RC4", async () => {
    expect(await downloadFrom("utp", "forced", ["--encryption", "require"])).toMatchObject({ transport: "utp", encrypted: true })
  }, 90_000)

  test("with --transport utp, downloads from a libtorrent seeder that speaks both", async () => {
    expect(await downloadFrom("both", "disabled", ["--transport", "utp"])).toMatchObject({ transport: "utp" })
  }, 90_000)

  test("falls back to TCP for a libtorrent seeder without uTP", async () => {
    expect(await downloadFrom("tcp")).toMatchObject({ transport: "tcp" })
  }, 90_000)

  test("with default transports, reaches a libtorrent seeder that speaks both over TCP", async () => {
    expect(await downloadFrom("both")).toMatchObject({ transport: "tcp" })
  }, 90_000)

  test("bt seed to bt download, both with default transports, run over TCP", async () => {
    const { dir, hashes, torrent } = await makeTorrent()
    // Slow enough for progress lines to show the peer.
    const seed = await startBtSeed({ torrent, dir: join(dir, "data"), extraArgs: ["--upload-limit", "4M"] })
    const address = `127.0.0.1:${seed.port}`
    const out = join(dir, "out")
    const { result, seen } = await btDownloadFrom(torrent, out, address)
    expect(result.code, result.stderr).toBe(0)
    expect(await hashFiles(out, spec)).toEqual(hashes)
    expect(seen, result.stdout.slice(0, 2000)).toMatchObject({ transport: "tcp" })
  }, 90_000)

  test("a libtorrent leecher that speaks uTP only downloads from bt seed", async () => {
    expect(await leechFromBt("disabled", [])).toMatchObject({ utp: true, encrypted: false })
  }, 90_000)

  test("a libtorrent leecher that speaks uTP only and forces RC4 downloads from bt seed", async () => {
    expect(await leechFromBt("forced", ["--encryption", "require"])).toMatchObject({ utp: true, encrypted: true })
  }, 90_000)
})
