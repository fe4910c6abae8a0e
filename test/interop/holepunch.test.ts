/**
 * BEP 55 holepunch with libtorrent 2.0: `bt` as the relay, then as the initiator. Two network namespaces on a veth pair that this suite
 * makes and removes (it needs root, `ip` and `nft`): in the open one, `bt download` (10.78.0.1) and a libtorrent
 * seeder (10.78.0.3); in the other, behind an nftables filter that drops every packet coming in that is not part
 * of a flow it started, a libtorrent leecher (10.78.0.2) that connects out to bt. bt's PEX names the leecher to the
 * seeder (flag 0x08: it speaks ut_holepunch), the seeder's uTP dial to it is dropped, the seeder asks bt for a
 * rendezvous, bt sends `connect` to both, and they meet over uTP. As the initiator, bt learns a walled libtorrent
 * seeder from a libtorrent relay's PEX, cannot dial it, asks the relay, and the two meet over uTP. Nothing reaches
 * the machine's LAN.
 */
import { join } from "node:path"
import { afterAll, beforeAll, expect, test } from "vitest"
import { debianPython, interopSuite, repoRoot, runBt, spawnTracked, tempDir, waitForLine, writeFiles } from "./harness.js"
import { hashFiles } from "./leechers.js"
import { run, vethPair } from "./netns.js"

const tag = String(process.pid % 100000)
const NS_OPEN = `bthp${tag}a`
const NS_WALLED = `bthp${tag}b`
const ADDR_BT = "10.78.0.1"
const ADDR_WALLED = "10.78.0.2"
const ADDR_SEEDER = "10.78.0.3"
const [PORT_BT, PORT_LEECHER, PORT_SEEDER] = [6881, 6883, 6882]

/** Inbound: loopback and replies to what the namespace sent; nothing else (a home router's NAT, as a filter). */
const firewall = `table inet bthp {
  chain input {
    type filter hook input priority 0; policy drop;
    iif lo accept
    ct state established,related accept
  }
}
`

const lt = (ns: string, args: ReadonlyArray<string>) =>
  spawnTracked("ip", ["netns", "exec", ns, debianPython, join(repoRoot, "test", "interop", "lt.py"), ...args])

interopSuite("BEP 55 holepunch with libtorrent, in two network namespaces", [
  "ip",
  "nft",
  "libtorrent"
], () => {
  let remove = () => {}
  beforeAll(() => {
    remove = vethPair(`bthv${tag}`, [
      { ns: NS_OPEN, addresses: [ADDR_BT, ADDR_SEEDER] },
      { ns: NS_WALLED, addresses: [ADDR_WALLED], setUp: (ns) => run("ip", ["netns", "exec", ns, "nft", "-f", "-"], firewall) }
    ])
  })
  afterAll(() => remove())

  const spec = [{ path: "hp/a.bin", size: 6_000_000 }, { path: "hp/b.bin", size: 500_000 }]

  const setUp = async () => {
    const work = await tempDir()
    await writeFiles(join(work, "src"), spec, 55)
    const torrent = join(work, "t.torrent")
    expect((await runBt(["create", join(work, "src", "hp"), "-o", torrent, "--v1"])).code).toBe(0)
    return { work, torrent }
  }

  test("the control: the seeder cannot dial into the walled namespace", async () => {
    const { torrent, work } = await setUp()
    const leecher = lt(NS_WALLED, [
      "leech", torrent, "--save", join(work, "out"), "--port", String(PORT_LEECHER), "--listen-host", ADDR_WALLED,
      "--transport", "utp", "--timeout", "12"
    ])
    const seeder = lt(NS_OPEN, [
      "seed", torrent, "--save", join(work, "src"), "--port", String(PORT_SEEDER), "--listen-host", ADDR_SEEDER,
      "--transport", "utp", "--peer", `${ADDR_WALLED}:${PORT_LEECHER}`
    ])
    await waitForLine(seeder, (l) => l.startsWith("{"), 60_000)
    const exit = await leecher.exited
    expect(exit.code).not.toBe(0)
    expect(leecher.stderr()).toContain("not complete within 12")
  })

  test("bt relays a rendezvous: the seeder reaches the walled leecher over uTP and it downloads", async () => {
    const { torrent, work } = await setUp()
    const bt = spawnTracked("ip", [
      "netns", "exec", NS_OPEN, process.execPath, join(repoRoot, "bin", "bt.js"), "download", torrent,
      "-o", join(work, "bt"), "--bind", ADDR_BT, "--port", String(PORT_BT), "--no-dht", "--no-lsd",
      "--no-port-mapping", "--only", "1", "--seed",
      "--state-dir", join(work, "state"), "--json"
    ])
    await waitForLine(bt, (l) => l.includes(`"event":"progress"`), 20_000)
    // The leecher first, connected to bt only (no PEX, so it never learns the seeder's address and dials it).
    const leecher = lt(NS_WALLED, [
      "leech", torrent, "--save", join(work, "out"), "--port", String(PORT_LEECHER), "--listen-host", ADDR_WALLED,
      "--transport", "utp", "--peer", `${ADDR_BT}:${PORT_BT}`, "--no-pex", "--report-peers", "--log-holepunch",
      "--timeout", "90"
    ])
    await waitForLine(bt, (l) => l.includes(`"event":"progress"`) && JSON.parse(l).peers >= 1, 30_000)
    const seeder = lt(NS_OPEN, [
      "seed", torrent, "--save", join(work, "src"), "--port", String(PORT_SEEDER), "--listen-host", ADDR_SEEDER,
      "--transport", "utp", "--peer", `${ADDR_BT}:${PORT_BT}`, "--log-holepunch", "--log-pex"
    ])
    await waitForLine(seeder, (l) => l.startsWith("{"), 60_000)

    const met = await waitForLine(
      leecher,
      (l) => l.startsWith("{") && JSON.parse(l).peer === `${ADDR_SEEDER}:${PORT_SEEDER}`,
      90_000
    ).catch((error) => {
      throw new Error(`${error}\nleecher: ${leecher.stderr()}\nseeder: ${seeder.stderr()}`)
    })
    expect(JSON.parse(met)).toMatchObject({ utp: true })
    const done = await waitForLine(leecher, (l) => l.includes(`"done": true`), 90_000)
    expect(JSON.parse(done).from[`${ADDR_SEEDER}:${PORT_SEEDER}`]).toBeGreaterThan(0)
    expect(await hashFiles(join(work, "out"), spec)).toEqual(await hashFiles(join(work, "src"), spec))

    const last = bt.stdout().trim().split("\n").filter((l) => l.includes(`"event":"progress"`)).at(-1)!
    // bt relayed (each rendezvous the seeder sent before they met), dialled nobody and refused nothing.
    const counts = JSON.parse(last).holepunch
    expect(counts.relayed).toBeGreaterThanOrEqual(1)
    expect(counts).toMatchObject({ dialled: 0, refused: 0, malformed: 0 })
  })

  test("bt as the initiator: a libtorrent relay names a walled libtorrent seeder, bt asks for a rendezvous, they meet", async () => {
    const { torrent, work } = await setUp()
    // Ports of its own: the walled namespace's conntrack still holds the first test's flows (a UDP entry outlives
    // it), which would let bt's direct dial through.
    const [btPort, relayPort, targetPort] = [PORT_BT + 10, PORT_SEEDER + 10, PORT_LEECHER + 10]
    const relayAt = `${ADDR_SEEDER}:${relayPort}`
    // The relay downloads slowly, so bt wants the walled seeder.
    const relay = lt(NS_OPEN, [
      "leech", torrent, "--save", join(work, "relay"), "--port", String(relayPort), "--listen-host", ADDR_SEEDER,
      "--transport", "utp", "--download-limit", "100000", "--stay", "--timeout", "120", "--log-holepunch"
    ])
    // The target, walled: it connects out to the relay only (no PEX, so it never dials bt by itself).
    const target = lt(NS_WALLED, [
      "seed", torrent, "--save", join(work, "src"), "--port", String(targetPort), "--listen-host", ADDR_WALLED,
      "--transport", "utp", "--peer", relayAt, "--no-pex", "--report-peers", "--log-holepunch"
    ])
    await waitForLine(target, (l) => l.startsWith("{") && JSON.parse(l).peer === relayAt, 60_000)
    const bt = spawnTracked("ip", [
      "netns", "exec", NS_OPEN, process.execPath, join(repoRoot, "bin", "bt.js"), "download", torrent,
      "-o", join(work, "bt"), "--bind", ADDR_BT, "--port", String(btPort), "--no-dht", "--no-lsd",
      "--no-port-mapping", "--seed", "--state-dir", join(work, "state"), "--json", "--peer", relayAt
    ])
    // The walled seeder's own word: a connection with bt, made in holepunch mode, past the handshake.
    const met = await waitForLine(
      target,
      (l) => l.startsWith("{") && JSON.parse(l).peer === `${ADDR_BT}:${btPort}` && JSON.parse(l).holepunched === true,
      90_000
    ).catch((error) => {
      const last = bt.stdout().trim().split("\n").filter((l) => l.includes(`"event":"progress"`)).at(-1) ?? "{}"
      const hp = JSON.stringify(JSON.parse(last).holepunch)
      throw new Error(`${String(error).slice(0, 300)}\nbt holepunch: ${hp}\ntarget: ${target.stderr()}\nrelay: ${relay.stderr()}`)
    })
    expect(JSON.parse(met)).toMatchObject({ utp: true })
    const progress = await waitForLine(bt, (l) => l.includes(`"event":"progress"`) && JSON.parse(l).holepunch?.dialled >= 1, 20_000)
    // bt asked the relay once (one rendezvous a peer) and dialled the address its `connect` named.
    expect(JSON.parse(progress).holepunch).toMatchObject({ asked: 1, dialled: 1 })
  })
})
