/**
 * `bt daemon`'s shared swarm options reach the session that accepts peers: `--port` is where it listens, and
 * `--encryption` decides which handshakes it takes. A probe on 127.0.0.1 opens the peer port and sends the first
 * bytes of a handshake, plaintext (BEP 3) or encrypted (MSE's 96-byte public key); the daemon answers one it takes
 * and hangs up on one it refuses. `prefer` is the control: it takes both. (`--no-dht`/`--dht-bootstrap` are shown in
 * rpc.test.ts's /metrics test, `--no-port-mapping` in portMapping.test.ts.) `session-set`'s `encryption` changes the
 * policy of the running daemon the same way.
 */
import { createHash, randomBytes } from "node:crypto"
import { mkdir } from "node:fs/promises"
import { connect } from "node:net"
import { join } from "node:path"
import { expect, test } from "vitest"
import { encode } from "../../src/bencode/index.js"
import { btArgs, freePort, interopSuite, rpcCall, spawnTracked, tempDir, type Tracked, until } from "./harness.js"
import { describeProc, exitWithin } from "./leechers.js"

/** A one-piece torrent nobody has: the daemon runs it (downloading, no peer), so it takes handshakes naming it. */
const info = { name: "probe.bin", "piece length": 16384, length: 1000, pieces: randomBytes(20) }
const metainfo = Buffer.from(encode({ info }))
const infoHash = createHash("sha1").update(encode(info)).digest()

interface Daemon {
  readonly rpc: string
  readonly port: number
  readonly proc: Tracked
}

/** `bt daemon --encryption policy` on a fresh peer port, running the probe torrent. */
const startDaemon = async (policy: string): Promise<Daemon> => {
  const dir = await tempDir()
  await mkdir(join(dir, "data"), { recursive: true })
  const [rpcPort, port] = [await freePort(), await freePort()]
  const proc = spawnTracked(process.execPath, btArgs([
    "daemon", "--rpc-port", String(rpcPort), "--port", String(port), "--encryption", policy,
    "--state-dir", join(dir, "state"), "--download-dir", join(dir, "data")
  ]))
  await until("bt daemon's RPC", 20_000, async () => {
    if (proc.child.exitCode !== null) throw new Error(`bt daemon exited: ${proc.stderr()}`)
    return proc.stderr().includes("bt daemon: RPC at") ? true : undefined
  })
  const rpc = `127.0.0.1:${rpcPort}`
  const added = await rpcCall(rpc, "torrent-add", { metainfo: metainfo.toString("base64") })
  expect(added.result, JSON.stringify(added)).toBe("success")
  await until("the probe torrent running", 15_000, async () => {
    const got = await rpcCall(rpc, "torrent-get", { ids: [1], fields: ["status"] })
    return got.arguments?.torrents[0]?.status === 4 ? true : undefined
  })
  return { rpc, port, proc }
}

const stopDaemon = async (d: Daemon) => {
  d.proc.child.kill("SIGTERM")
  expect((await exitWithin(d.proc, 15_000, "bt daemon after SIGTERM")).code).toBe(0)
}

/** BEP 3's handshake naming the probe torrent. */
const plaintext = Buffer.concat([
  Buffer.from([19]), Buffer.from("BitTorrent protocol"), Buffer.alloc(8), infoHash, Buffer.from("-PR0001-000000000000")
])
/** The start of an MSE handshake: a 96-byte public key (its first byte not 19, so it cannot pass for plaintext). */
const encrypted = Buffer.concat([Buffer.from([0x42]), randomBytes(95)])

/**
 * Sends `bytes` to the daemon's peer port: "answered" with the first bytes it sends back, or "closed" when it hangs
 * up without a word (bounded: 15 s, then the probe fails).
 */
const probe = (port: number, bytes: Uint8Array): Promise<"answered" | "closed"> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the probe on port ${port}: neither an answer nor a close within 15 s`))
    }, 15_000)
    const done = (outcome: "answered" | "closed") => {
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    socket.on("connect", () => socket.write(bytes))
    socket.on("data", () => done("answered"))
    socket.on("close", () => done("closed"))
    socket.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })

interopSuite("bt daemon's --port and --encryption reach its peer session", [], () => {
  test("--encryption prefer (the control): takes a plaintext and an encrypted handshake on --port", async () => {
    const d = await startDaemon("prefer")
    expect(await probe(d.port, plaintext), describeProc("bt daemon", d.proc)).toBe("answered")
    expect(await probe(d.port, encrypted)).toBe("answered")
    expect((await rpcCall(d.rpc, "session-get", { fields: ["encryption", "peer-port"] })).arguments).toEqual({
      encryption: "preferred",
      "peer-port": d.port
    })
    await stopDaemon(d)
  }, 60_000)

  test("--encryption require: hangs up on a plaintext handshake, takes an encrypted one", async () => {
    const d = await startDaemon("require")
    expect(await probe(d.port, plaintext), describeProc("bt daemon", d.proc)).toBe("closed")
    expect(await probe(d.port, encrypted)).toBe("answered")
    expect((await rpcCall(d.rpc, "session-get", { fields: ["encryption"] })).arguments?.encryption).toBe("required")
    await stopDaemon(d)
  }, 60_000)

  test("--encryption disable: takes a plaintext handshake, hangs up on an encrypted one", async () => {
    const d = await startDaemon("disable")
    expect(await probe(d.port, plaintext), describeProc("bt daemon", d.proc)).toBe("answered")
    expect(await probe(d.port, encrypted)).toBe("closed")
    expect((await rpcCall(d.rpc, "session-get", { fields: ["encryption"] })).arguments?.encryption).toBe("tolerated")
    await stopDaemon(d)
  }, 60_000)

  test("session-set encryption changes the policy of the running daemon: required, then tolerated", async () => {
    const d = await startDaemon("prefer")
    expect((await rpcCall(d.rpc, "session-set", { encryption: "required" })).result).toBe("success")
    expect(await probe(d.port, plaintext), describeProc("bt daemon", d.proc)).toBe("closed")
    expect(await probe(d.port, encrypted)).toBe("answered")
    expect((await rpcCall(d.rpc, "session-set", { encryption: "tolerated" })).result).toBe("success")
    expect(await probe(d.port, plaintext)).toBe("answered")
    expect(await probe(d.port, encrypted)).toBe("closed")
    await stopDaemon(d)
  }, 60_000)
})
