/**
 * MSE/PE against libtorrent and Transmission on 127.0.0.1: downloads from seeders that force or require RC4, a
 * libtorrent leecher that forces RC4 served by `bt seed --encryption require`, and bt's default (prefer) falling
 * back to plaintext with a libtorrent that has encryption disabled.
 */
import { join } from "node:path"
import { formatEndpoint } from "../../src/net/endpoint.js"
import { expect, test } from "vitest"
import { interopSuite, type LtEncryption, runBt, startLtSeeder } from "./harness.js"
import {
  btDownloadFrom,
  btEvents,
  freshStateDir,
  hashFiles,
  makeLtTorrent,
  startBtSeed,
  startLtLeecher,
  startTransmission,
  transmissionAdd,
  transmissionComplete
} from "./leechers.js"

const spec = [{ path: "secret.bin", size: 5 * 1024 * 1024 + 77 }]
const makeTorrent = () => makeLtTorrent("secret.bin", spec[0]!.size, 71)

/**
 * `bt download` from a libtorrent seeder with `seederEncryption`, listening on `host`; the peer as `--json`
 * progress showed it.
 */
const downloadFrom = async (seederEncryption: LtEncryption, btEncryption: string, host = "127.0.0.1") => {
  const { dir, hashes, torrent } = await makeTorrent()
  // Slow enough for progress lines to show the peer.
  const seeder = await startLtSeeder({
    torrent,
    save: join(dir, "data"),
    encryption: seederEncryption,
    uploadLimit: 3_000_000,
    listenHost: host
  })
  const address = formatEndpoint({ host, port: seeder.port })
  const out = join(dir, "out")
  const { result, seen } = await btDownloadFrom(torrent, out, address, ["--encryption", btEncryption])
  expect(result.code, result.stderr).toBe(0)
  expect(await hashFiles(out, spec)).toEqual(hashes)
  expect(seen, result.stdout.slice(0, 2000)).toBeDefined()
  return seen!
}

interopSuite("MSE/PE with libtorrent", ["libtorrent"], () => {
  test("downloads from a libtorrent seeder that forces RC4 (bt --encryption require)", async () => {
    expect(await downloadFrom("forced", "require")).toMatchObject({ encrypted: true })
  }, 90_000)

  test("by default (prefer), downloads over RC4 from a libtorrent seeder that forces it", async () => {
    expect(await downloadFrom("forced", "prefer")).toMatchObject({ encrypted: true })
  }, 90_000)

  test("over IPv6: downloads from a libtorrent seeder on [::1] that forces RC4", async () => {
    expect(await downloadFrom("forced", "require", "::1")).toMatchObject({ encrypted: true, family: "ipv6" })
  }, 90_000)

  test("over IPv6: a libtorrent leecher on [::1] that forces RC4 downloads from bt seed", async () => {
    const { dir, hashes, torrent } = await makeTorrent()
    const seed = await startBtSeed({ torrent, dir: join(dir, "data"), extraArgs: ["--encryption", "require"] })
    const leecher = await startLtLeecher({
      torrent,
      save: join(dir, "lt"),
      peers: [`[::1]:${seed.port}`],
      encryption: "forced",
      listenHost: "::1"
    })
    const done = await leecher.done
    expect(Object.keys(done.from)).toContain(`::1:${seed.port}`)
    expect(await hashFiles(join(dir, "lt"), spec)).toEqual(hashes)
  }, 90_000)

  test("by default (prefer), falls back to plaintext with a libtorrent seeder that has encryption disabled", async () => {
    expect(await downloadFrom("disabled", "prefer")).toMatchObject({ encrypted: false })
  }, 90_000)

  test("a libtorrent leecher that forces RC4 downloads from bt seed --encryption require", async () => {
    const { dir, hashes, torrent } = await makeTorrent()
    const seed = await startBtSeed({ torrent, dir: join(dir, "data"), extraArgs: ["--encryption", "require"] })
    const leecher = await startLtLeecher({
      torrent,
      save: join(dir, "lt"),
      peers: [`127.0.0.1:${seed.port}`],
      encryption: "forced"
    })
    const done = await leecher.done
    expect(done.downloaded).toBeGreaterThanOrEqual(spec[0]!.size)
    expect(await hashFiles(join(dir, "lt"), spec)).toEqual(hashes)
  }, 90_000)
})

interopSuite("MSE/PE with Transmission", ["transmission-daemon"], () => {
  /** A download from a Transmission seeder that requires encryption, reached at `host` (it listens on both). */
  const fromTransmission = async (host: string) => {
    const { dir, hashes, torrent } = await makeTorrent()
    const daemon = await startTransmission(join(dir, "transmission"), join(dir, "data"))
    await daemon.rpc("session-set", { encryption: "required" })
    const id = await transmissionAdd(daemon, torrent)
    await daemon.rpc("torrent-verify", { ids: [id] })
    await transmissionComplete(daemon, id, 30_000)
    const out = join(dir, "out")
    const address = formatEndpoint({ host, port: daemon.peerPort })
    // Transmission unchokes at its rechoke pulse, about 10 s after we connect.
    const result = await runBt([
      "download", torrent, "-o", out, "--peer", address, "--no-trackers", "--port", "0", "--json",
      ...(await freshStateDir())
    ], { timeoutMs: 60_000 })
    expect(result.code, `${result.stderr}\n${daemon.proc.stderr()}`).toBe(0)
    expect(await hashFiles(out, spec)).toEqual(hashes)
    return btEvents(result.stdout).flatMap((e) =>
      e.event === "progress" ? (e.peerList as ReadonlyArray<Record<string, unknown>>) : []
    ).find((peer) => peer.address === address)
  }

  test("downloads from a Transmission seeder that requires encryption", async () => {
    expect(await fromTransmission("127.0.0.1")).toMatchObject({ encrypted: true })
  }, 90_000)

  test("over IPv6: downloads from a Transmission seeder on [::1] that requires encryption", async () => {
    expect(await fromTransmission("::1")).toMatchObject({ encrypted: true, family: "ipv6" })
  }, 90_000)

  /** A Transmission leecher that requires encryption, which `bt seed` dials at `host` (it listens on both). */
  const toTransmission = async (host: string) => {
    const { dir, hashes, torrent } = await makeTorrent()
    // Transmission never dials loopback peers but accepts them: add the torrent first, then let bt seed dial it.
    const out = join(dir, "tr-out")
    const daemon = await startTransmission(join(dir, "transmission"), out)
    await daemon.rpc("session-set", { encryption: "required" })
    const id = await transmissionAdd(daemon, torrent)
    const seed = await startBtSeed({
      torrent,
      dir: join(dir, "data"),
      peers: [formatEndpoint({ host, port: daemon.peerPort })]
    })
    await transmissionComplete(daemon, id, 60_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${seed.proc.stderr()}\n${daemon.proc.stderr()}`)
    })
    expect(await hashFiles(out, spec)).toEqual(hashes)
  }

  test("a Transmission leecher that requires encryption downloads from bt seed (which dials it)", async () => {
    await toTransmission("127.0.0.1")
  }, 90_000)

  test("over IPv6: a Transmission leecher on [::1] that requires encryption downloads from bt seed", async () => {
    await toTransmission("::1")
  }, 90_000)
})
