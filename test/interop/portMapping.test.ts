/**
 * `bt seed` opening its port through fake gateways on 127.0.0.1 (a real router cannot be used here: see
 * INTEROP.md on miniupnpd): the gateway is named with BT_PORTMAP_GATEWAY / BT_PORTMAP_SSDP, the mapping shows in
 * `--json` progress, and it is deleted when bt stops. Every other test runs bt with `--no-port-mapping` (harness).
 */
import { Effect, Exit, Scope } from "effect"
import { join } from "node:path"
import { afterEach, expect, test } from "vitest"
import { fakeIgd, fakePmpGateway } from "../net/portmap/fakes.js"
import { btArgs, interopSuite, runBt, spawnTracked, tempDir, waitForLine, writeFiles } from "./harness.js"

interopSuite("port mapping from the bt command (fake gateways on 127.0.0.1)", [], () => {
  let scope = Effect.runSync(Scope.make())
  afterEach(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    scope = Effect.runSync(Scope.make())
  })

  const torrentIn = async () => {
    const dir = await tempDir()
    await writeFiles(join(dir, "data"), [{ path: "a.bin", size: 100_000 }], 7)
    const torrent = join(dir, "t.torrent")
    const made = await runBt(["create", join(dir, "data", "a.bin"), "-o", torrent])
    expect(made.code).toBe(0)
    return { dir, torrent, data: join(dir, "data") }
  }

  test("bt seed maps TCP and UDP through PCP, shows it in --json progress, deletes both on exit", async () => {
    const gw = await Effect.runPromise(fakePmpGateway({ speaks: "pcp" }).pipe(Scope.extend(scope)))
    const igd = await Effect.runPromise(fakeIgd({ silent: true }).pipe(Scope.extend(scope)))
    const { data, dir, torrent } = await torrentIn()
    // Not btArgs: it adds --no-port-mapping to every swarm command.
    const proc = spawnTracked(process.execPath, [
      join("bin", "bt.js"), "seed", torrent, "-d", data, "--json", "--port", "0", "--no-trackers", "--no-dht",
      "--no-lsd", "--state-dir", join(dir, "state")
    ], { env: { ...process.env, BT_PORTMAP_GATEWAY: `127.0.0.1:${gw.port}`, BT_PORTMAP_SSDP: `127.0.0.1:${igd.ssdpPort}` } })
    const seeding = JSON.parse(await waitForLine(proc, (l) => l.includes(`"event":"seeding"`), 30_000)) as { port: number }
    const line = await waitForLine(proc, (l) => l.includes(`"state":"mapped"`), 15_000)
    expect(JSON.parse(line).portMapping).toEqual({
      state: "mapped",
      method: "pcp",
      externalAddress: "203.0.113.7",
      ports: [
        { protocol: "tcp", internalPort: seeding.port, externalPort: seeding.port + 1000, lifetime: 3600 },
        { protocol: "udp", internalPort: seeding.port, externalPort: seeding.port + 1000, lifetime: 3600 }
      ]
    })
    proc.child.kill("SIGINT")
    const exit = await proc.exited
    expect(gw.requests.filter((r) => r.lifetime === 0).map((r) => [r.protocol, r.internalPort])).toEqual([
      ["tcp", seeding.port],
      ["udp", seeding.port]
    ])
    expect(exit.stderr).not.toContain("port mapping")
    expect(igd.searches).toEqual([])
  })

  test("the harness runs bt with --no-port-mapping: no gateway is asked, no portMapping in progress", async () => {
    const gw = await Effect.runPromise(fakePmpGateway({ speaks: "pcp" }).pipe(Scope.extend(scope)))
    const { data, dir, torrent } = await torrentIn()
    const args = btArgs(["seed", torrent, "-d", data, "--json", "--port", "0", "--no-trackers", "--state-dir", join(dir, "s")])
    expect(args).toContain("--no-port-mapping")
    expect(args).toContain("--no-lsd")
    const proc = spawnTracked(process.execPath, args, { env: { ...process.env, BT_PORTMAP_GATEWAY: `127.0.0.1:${gw.port}` } })
    const line = await waitForLine(proc, (l) => l.includes(`"event":"progress"`), 30_000)
    expect(JSON.parse(line).portMapping).toBeUndefined()
    proc.child.kill("SIGINT")
    await proc.exited
    expect(gw.requests).toEqual([])
  })
})
