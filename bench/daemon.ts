/**
 * `bt daemon` for the daemon benchmark: started on loopback with free ports (no DHT), and driven over its
 * Transmission RPC (the 409 session-id handshake handled). The tiny torrents it loads are encoded with bt's own
 * bencode encoder, loaded at run time from the snapshot the bench runs (as ./seeders.ts loads the wire codec).
 */
import { createHash, randomBytes } from "node:crypto"
import { mkdir, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { type Proc, RunError, spawnTracked, tail } from "./proc.js"
import { btBin, freePort } from "./swarm.js"

export interface Daemon {
  readonly proc: Proc
  readonly rpc: (method: string, args?: Record<string, unknown>) => Promise<Record<string, unknown>>
}

/** `bt daemon --rpc-port P --download-dir D --state-dir S --port Q --no-dht --no-port-mapping --no-lsd`, with an RPC client for it. */
export const startDaemon = async (o: { stateDir: string; downloadDir: string }): Promise<Daemon> => {
  await mkdir(o.stateDir, { recursive: true })
  await mkdir(o.downloadDir, { recursive: true })
  const rpcPort = await freePort()
  const proc = spawnTracked(process.execPath, [
    btBin, "daemon", "--rpc-port", String(rpcPort), "--rpc-bind", "127.0.0.1", "--download-dir", o.downloadDir,
    "--state-dir", o.stateDir, "--port", String(await freePort()), "--no-dht", "--no-port-mapping", "--no-lsd"
  ])
  const url = `http://127.0.0.1:${rpcPort}/transmission/rpc`
  let sessionId = ""
  const rpc = async (method: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-transmission-session-id": sessionId },
        body: JSON.stringify({ method, arguments: args }),
        signal: AbortSignal.timeout(30_000)
      })
      if (response.status === 409) {
        sessionId = response.headers.get("x-transmission-session-id") ?? ""
        continue
      }
      const body = (await response.json()) as { result: string; arguments?: Record<string, unknown> }
      if (body.result !== "success") throw new RunError(`bt daemon: ${method}: ${body.result}`)
      return body.arguments ?? {}
    }
    throw new RunError(`bt daemon: ${method}: 409 twice`)
  }
  return { proc, rpc }
}

/** Waits, bounded, until `f` resolves to something other than undefined (errors count as not yet). */
export const pollUntil = async <A>(f: () => Promise<A | undefined>, ms: number, what: string, proc: Proc, everyMs = 50): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new RunError(`${what}: bt daemon exited${tail(proc.stderr())}`)
    }
    try {
      const a = await f()
      if (a !== undefined) return a
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new RunError(`${what}: not within ${Math.round(ms / 1000)} s${tail(proc.stderr())}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

type Encode = (value: unknown) => Uint8Array

/**
 * `count` single-file torrents of `size` random bytes each (one piece), the files written into `dir`: the
 * .torrent bytes (no tracker) returned.
 */
export const tinyTorrents = async (dir: string, count: number, size = 16 << 10): Promise<Array<Uint8Array>> => {
  const { encode } = (await import(pathToFileURL(join(dirname(btBin), "dist", "bencode", "index.js")).href)) as { encode: Encode }
  await mkdir(dir, { recursive: true })
  const torrents: Array<Uint8Array> = []
  for (let i = 0; i < count; i++) {
    const name = `tiny-${String(i).padStart(4, "0")}.bin`
    const data = randomBytes(size)
    await writeFile(join(dir, name), data)
    const pieces = createHash("sha1").update(data).digest()
    torrents.push(encode({ info: { length: size, name, "piece length": size, pieces } }))
  }
  return torrents
}
