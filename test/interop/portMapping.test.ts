/**
 * `bt seed` opening its port through fake gateways on 127.0.0.1 (a real router cannot be used here: see
 * INTEROP.md on miniupnpd): the gateway is named with BT_PORTMAP_GATEWAY / BT_PORTMAP_SSDP, the mapping shows in
 * `--json` progress, and it is deleted when bt stops. Every other test runs bt with `--no-port-mapping` (harness).
 */
import { Effect, Exit, Scope } from "effect"
import { join } from "node:path"
import { afterEach, expect, test } from "vitest"
import { fakeIgd, fakePmpGateway } from "../net/portmap/fakes.js"
import { copyFile, mkdir } from "node:fs/promises"
import {
  btArgs,
  freePort,
  interopSuite,
  runBt,
  spawnTracked,
  type Tracked,
  tempDir,
  until,
  waitForLine,
  writeFiles
} from "./harness.js"

/** `bt daemon` on fresh ports with `extra` options; resolves with an RPC caller (classic dialect) once it answers. */
const startDaemon = async (dir: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) => {
  const rpcPort = await freePort()
  const proc = spawnTracked(process.execPath, [
    join("bin", "bt.js"), "daemon", "--rpc-port", String(rpcPort), "--port", String(await freePort()), "--no-dht",
    "--no-lsd", "--state-dir", join(dir, "state"), ...args
  ], { env })
  await until("bt daemon's RPC", 20_000, async () => {
    if (proc.child.exitCode !== null) throw new Error(`bt daemon exited: ${proc.stderr()}`)
    return proc.stderr().includes("bt daemon: RPC at") ? true : undefined
  })
  let sessionId = ""
  const rpc = async (method: string): Promise<Record<string, any>> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(`http://127.0.0.1:${rpcPort}/transmission/rpc`, {
        method: "POST",
        headers: { "x-transmission-session-id": sessionId },
        body: JSON.stringify({ method })
      })
      if (response.status === 409) {
        sessionId = response.headers.get("x-transmission-session-id") ?? ""
        continue
      }
      const body = (await response.json()) as { result: string; arguments: Record<string, any> }
      expect(body.result).toBe("success")
      return body.arguments
    }
    throw new Error("no session id")
  }
  return { proc, rpc }
}

const peerPortOf = (proc: Tracked): number => Number(/peers on port (\d+)/.exec(proc.stderr())![1])

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
      ],
      rejected: { notFromGateway: 0, ssdpMisdirected: 0, ssdpMalformed: 0, oversized: 0 }
    })
    // The gateway's address becomes ours (read every 10 s by the session): a peer there with our port is us.
    const known = await waitForLine(proc, (l) => l.includes(`"source":"gateway"`), 30_000)
    expect(JSON.parse(known).externalAddress).toEqual({ ipv4: { address: "203.0.113.7", source: "gateway" }, local: [] })
    proc.child.kill("SIGINT")
    const exit = await proc.exited
    expect(gw.requests.filter((r) => r.lifetime === 0).map((r) => [r.protocol, r.internalPort])).toEqual([
      ["tcp", seeding.port],
      ["udp", seeding.port]
    ])
    expect(exit.stderr).not.toContain("port mapping")
    expect(igd.searches).toEqual([])
  })

  test("what port mapping ignored shows in --json progress and session-get (rejected)", async () => {
    // PCP answered from another port than the gateway's, and an SSDP answer naming another host: both ignored.
    const gw = await Effect.runPromise(fakePmpGateway({ speaks: "pcp", answerFromElsewhere: true }).pipe(Scope.extend(scope)))
    const igd = await Effect.runPromise(fakeIgd({ locationHost: "127.0.0.2" }).pipe(Scope.extend(scope)))
    const env = { ...process.env, BT_PORTMAP_GATEWAY: `127.0.0.1:${gw.port}`, BT_PORTMAP_SSDP: `127.0.0.1:${igd.ssdpPort}` }
    const { data, dir, torrent } = await torrentIn()
    const proc = spawnTracked(process.execPath, [
      join("bin", "bt.js"), "seed", torrent, "-d", data, "--json", "--port", "0", "--no-trackers", "--no-dht",
      "--no-lsd", "--state-dir", join(dir, "state")
    ], { env })
    const line = await waitForLine(proc, (l) => l.includes(`"state":"unavailable"`), 30_000)
    const shown = JSON.parse(line).portMapping
    expect(shown.rejected.notFromGateway).toBeGreaterThanOrEqual(1)
    expect(shown.rejected.ssdpMisdirected).toBeGreaterThanOrEqual(1)
    expect(shown.rejected.oversized).toBe(0)
    proc.child.kill("SIGINT")
    await proc.exited
    const daemon = await startDaemon(await tempDir(), ["--download-dir", dir], env)
    const session = await until("port mapping given up in session-get", 30_000, async () => {
      const got = await daemon.rpc("session-get")
      return got["bt-port-mapping"].state === "unavailable" ? got : undefined
    })
    expect(session["bt-port-mapping"].rejected["not-from-gateway"]).toBeGreaterThanOrEqual(1)
    expect(session["bt-port-mapping"].rejected["ssdp-misdirected"]).toBeGreaterThanOrEqual(1)
    expect(igd.calls).toEqual([])
    daemon.proc.child.kill("SIGTERM")
    expect((await daemon.proc.exited).code).toBe(0)
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

  test("bt daemon maps its port, shows it in session-get and port-test, deletes it on SIGTERM", async () => {
    const gw = await Effect.runPromise(fakePmpGateway({ speaks: "pcp" }).pipe(Scope.extend(scope)))
    const igd = await Effect.runPromise(fakeIgd({ silent: true }).pipe(Scope.extend(scope)))
    const dir = await tempDir()
    const { proc, rpc } = await startDaemon(dir, ["--download-dir", dir], {
      ...process.env,
      BT_PORTMAP_GATEWAY: `127.0.0.1:${gw.port}`,
      BT_PORTMAP_SSDP: `127.0.0.1:${igd.ssdpPort}`
    })
    const port = peerPortOf(proc)
    const session = await until("a mapping in session-get", 15_000, async () => {
      const got = await rpc("session-get")
      return got["bt-port-mapping"].state === "mapped" ? got : undefined
    })
    expect(session["port-forwarding-enabled"]).toBe(true)
    expect(session["lpd-enabled"]).toBe(false)
    expect(session["bt-port-mapping"]).toEqual({
      state: "mapped",
      method: "pcp",
      "external-address": "203.0.113.7",
      ports: [
        { protocol: "tcp", "internal-port": port, "external-port": port + 1000, lifetime: 3600 },
        { protocol: "udp", "internal-port": port, "external-port": port + 1000, lifetime: 3600 }
      ],
      rejected: { "not-from-gateway": 0, "ssdp-misdirected": 0, "ssdp-malformed": 0, oversized: 0 }
    })
    const test = await rpc("port-test")
    expect(test["port-is-open"]).toBe(true)
    expect(test["bt-port-test"]).toContain(`203.0.113.7:${port + 1000}`)
    proc.child.kill("SIGTERM")
    expect((await proc.exited).code).toBe(0)
    expect(gw.requests.filter((r) => r.lifetime === 0).map((r) => [r.protocol, r.internalPort])).toEqual([
      ["tcp", port],
      ["udp", port]
    ])
  })

  test("bt daemon --no-port-mapping asks no gateway; port-test says open only once a peer has come in", async () => {
    const gw = await Effect.runPromise(fakePmpGateway({ speaks: "pcp" }).pipe(Scope.extend(scope)))
    const { data, dir, torrent } = await torrentIn()
    const watch = join(dir, "watch")
    await mkdir(watch)
    const { proc, rpc } = await startDaemon(dir, ["--download-dir", data, "--watch-dir", watch, "--no-port-mapping"], {
      ...process.env,
      BT_PORTMAP_GATEWAY: `127.0.0.1:${gw.port}`
    })
    const session = await rpc("session-get")
    expect(session["port-forwarding-enabled"]).toBe(false)
    expect(session["bt-port-mapping"]).toEqual({ state: "off", ports: [] })
    const before = await rpc("port-test")
    expect(before["port-is-open"]).toBe(false)
    expect(before["bt-port-test"]).toMatch(/not known to be open/)
    await copyFile(torrent, join(watch, "t.torrent"))
    await until("the daemon seeding", 30_000, async () => (proc.stderr().includes("watch folder: added") ? true : undefined))
    // A peer that dials the daemon: bt download of the same torrent, from its listening port.
    const got = await runBt([
      "download", torrent, "-o", join(dir, "out"), "--peer", `127.0.0.1:${peerPortOf(proc)}`, "--no-trackers",
      "--port", "0", "--state-dir", join(dir, "s2")
    ], { timeoutMs: 60_000 })
    expect(got.code, got.stderr).toBe(0)
    const after = await rpc("port-test")
    expect(after["port-is-open"]).toBe(true)
    expect(after["bt-port-test"]).toMatch(/^[1-9]\d* peers have connected to us$/)
    proc.child.kill("SIGTERM")
    expect((await proc.exited).code).toBe(0)
    expect(gw.requests).toEqual([])
  })
})
