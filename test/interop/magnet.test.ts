/**
 * Magnet links against libtorrent, both ways: libtorrent's link for a .torrent read by `bt info --json`, and
 * `bt magnet`'s link read by libtorrent. No session, no network: only the links are compared.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { beforeAll, expect, test } from "vitest"
import { interopSuite, lt, type LtInfo, runBt, tempDir, writeFiles } from "./harness.js"

/** What `bt info MAGNET --json` prints. */
interface BtMagnet {
  readonly infoHash: string
  readonly name?: string
  readonly trackers: ReadonlyArray<ReadonlyArray<string>>
  readonly peers: ReadonlyArray<string>
  readonly webSeeds: ReadonlyArray<string>
  readonly selectOnly?: ReadonlyArray<{ readonly from: number; readonly to: number }>
}

/** What `lt.py parse-magnet` prints. */
interface LtMagnet {
  readonly info_hash: string
  readonly name: string
  readonly trackers: ReadonlyArray<{ readonly url: string; readonly tier: number }>
  readonly peers: ReadonlyArray<string>
  readonly url_seeds: ReadonlyArray<string>
  readonly file_priorities: ReadonlyArray<number>
}

// A name and tracker URLs that need escaping: space, `+`, `&`, `=`, `%`, non-ASCII, and a query holding an escape.
const folder = "caf\u00e9 au lait+sugar&milk=100%"
const tiers = [
  ["http://127.0.0.1:6969/announce?key=a%20b&x=1"],
  ["udp://127.0.0.1:6969", "http://127.0.0.1:6970/announce"]
]
const flat = tiers.flat()

const btMagnet = async (uri: string): Promise<BtMagnet> => {
  const result = await runBt(["info", uri, "--json"])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as BtMagnet
}

const btMagnetOf = async (torrent: string): Promise<string> => {
  const result = await runBt(["magnet", torrent])
  expect(result.code, result.stderr).toBe(0)
  const lines = result.stdout.trimEnd().split("\n")
  expect(lines).toHaveLength(1)
  return lines[0]!
}

const ltParse = async (uri: string): Promise<LtMagnet> => (await lt(["parse-magnet", uri])) as LtMagnet

/** The file indices libtorrent selects from `so`: those with a priority above 0. */
const ltSelected = (m: LtMagnet): Array<number> =>
  m.file_priorities.flatMap((priority, index) => (priority > 0 ? [index] : []))

const btSelected = (m: BtMagnet): Array<number> =>
  (m.selectOnly ?? []).flatMap(({ from, to }) => Array.from({ length: to - from + 1 }, (_, i) => from + i))

interopSuite("magnet links agree with libtorrent", ["libtorrent"], () => {
  let torrent = ""
  let ref: LtInfo

  beforeAll(async () => {
    const work = await tempDir()
    await writeFiles(join(work, folder), [{ path: "a.bin", size: 40_000 }, { path: "sub/b c.bin", size: 5_000 }], 5)
    torrent = join(work, "t.torrent")
    ref = (await lt([
      "create", join(work, folder), "--out", torrent, "--piece-length", "16384",
      ...tiers.flatMap((urls, tier) => urls.flatMap((url) => ["--tier-tracker", String(tier), url]))
    ])) as LtInfo
  })

  test("libtorrent's magnet link, read by bt info --json", async () => {
    const { magnet } = (await lt(["magnet", torrent])) as { magnet: string }
    const bt = await btMagnet(magnet)
    expect(bt.infoHash).toBe(ref.info_hash)
    expect(bt.name).toBe(ref.name)
    expect(bt.name).toBe(folder)
    // libtorrent shuffles the URLs within a tier when it loads a torrent; each `tr` becomes a tier of its own.
    expect(bt.trackers.every((tier) => tier.length === 1)).toBe(true)
    expect(bt.trackers.flat().sort()).toEqual([...flat].sort())
    expect(bt.peers).toEqual([])
    expect(bt.selectOnly).toBeUndefined()
  })

  test("bt magnet's link, read by libtorrent", async () => {
    const uri = await btMagnetOf(torrent)
    expect(uri).toMatch(new RegExp(`^magnet:\\?xt=urn:btih:${ref.info_hash}&dn=`))
    const parsed = await ltParse(uri)
    expect(parsed.info_hash).toBe(ref.info_hash)
    expect(parsed.name).toBe(folder)
    expect(parsed.trackers).toEqual(flat.map((url, tier) => ({ url, tier })))
    // And bt reads its own link the same way.
    const bt = await btMagnet(uri)
    expect([bt.infoHash, bt.name, bt.trackers]).toEqual([ref.info_hash, folder, flat.map((url) => [url])])
  })

  test("a link with base32, peers, web seeds and so, read by both", async () => {
    const hex = "92cb0166259fd3949675d82f93fdc0df37fd79a1"
    const uri = "magnet:?xt=urn:btih:SLFQCZRFT7JZJFTV3AXZH7OA343726NB" + // the same hash, base32
      "&dn=caf%C3%A9+au%20lait%2Bsugar&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr=http://127.0.0.1:6970/announce" +
      "&x.pe=127.0.0.1:6881&x.pe=[::1]:6882&ws=http%3A%2F%2F127.0.0.1%3A8080%2Fseed%2F&so=0,2,4-6&kt=ignored"
    const [bt, parsed] = await Promise.all([btMagnet(uri), ltParse(uri)])
    expect(bt.infoHash).toBe(hex)
    expect(parsed.info_hash).toBe(hex)
    expect(bt.name).toBe("caf\u00e9 au lait+sugar")
    expect(parsed.name).toBe(bt.name)
    expect(bt.trackers).toEqual([["udp://127.0.0.1:6969"], ["http://127.0.0.1:6970/announce"]])
    expect(parsed.trackers).toEqual(bt.trackers.map(([url], tier) => ({ url, tier })))
    expect(bt.peers).toEqual(["127.0.0.1:6881", "[::1]:6882"])
    expect(parsed.peers).toEqual(bt.peers)
    expect(bt.webSeeds).toEqual(["http://127.0.0.1:8080/seed/"])
    expect(parsed.url_seeds).toEqual(bt.webSeeds)
    expect(btSelected(bt)).toEqual([0, 2, 4, 5, 6])
    expect(ltSelected(parsed)).toEqual(btSelected(bt))
  })

  test("a link both refuse is one line on stderr from bt and exit 1", async () => {
    const uri = "magnet:?xt=urn:btih:92cb0166259fd3949675d82f93fd&dn=short"
    await expect(ltParse(uri)).rejects.toThrow(/invalid info-hash/)
    const result = await runBt(["info", uri])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr).toBe(
      `bt: the magnet link's info-hash "92cb0166259fd3949675d82f93fd" has 28 characters, not 40 (hex) or 32 (base32)\n`
    )
  })

  test("bt magnet on a file that is not a torrent is one line on stderr and exit 1, as bt info", async () => {
    const bad = join(await tempDir(), "bad.torrent")
    await writeFile(bad, "d4:infoi1ee")
    const [magnet, info] = await Promise.all([runBt(["magnet", bad]), runBt(["info", bad])])
    expect(magnet.code).toBe(1)
    expect(magnet.stdout).toBe("")
    expect(magnet.stderr).toBe(`bt: ${bad}: the torrent's "info" is not a dictionary\n`)
    expect([info.code, info.stderr]).toEqual([magnet.code, magnet.stderr])
  })
})
