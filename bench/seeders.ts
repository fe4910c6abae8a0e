/**
 * `node dist-bench/seeders.js --data FILE --info-hash HEX --piece-length N --peers N`: a swarm of minimal
 * BEP 3 seeders in one process, for the many-peers benchmark (real clients at 200 are too heavy for 2 cores). Each
 * seeder is a plain `node:net` server on its own 127.0.0.1 port with its own peer id: it reads the handshake,
 * answers with its own, a full bitfield and an unchoke, then serves requests from the file (positional reads, the
 * page cache warm) in order, keeping at most SEND_BUFFER bytes in the socket, and drops the queued ones a CANCEL
 * names. No extensions, no choking.
 *
 * It prints `{"ports":[…]}` once every server listens, and `{"connected":K}` at the first connection after the K-th
 * SIGUSR2 (K = 0 before any). On SIGUSR2 it prints
 * `{"stats":K,"connections":C,"peakOpen":O,"servedPeers":P,"bytes":B}` (K counts the signals) for what happened since
 * the previous one: connections accepted, the most open at once, seeders that served at least one block, bytes
 * served. SIGTERM closes everything.
 *
 * The wire codec is bt's own (WireDecoder and the encoders of src/wire), loaded at run time from the snapshot the
 * bench runs (dist-bench/bt/dist/): a static import of dist/ would make `npm run typecheck` need a build first.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs"
import { type AddressInfo, createServer, type Server, type Socket } from "node:net"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { btBin } from "./swarm.js"

/** The part of bt's wire module (src/wire/index.ts) used here. */
interface Wire {
  readonly WireDecoder: new (options: { pieceCount: number; expectHandshake: boolean }) => {
    push(chunk: Uint8Array, sink: Sink): { readonly message: string } | undefined
  }
  readonly encodeHandshake: (h: { reserved: Uint8Array; infoHash: Uint8Array; peerId: Uint8Array }) => Uint8Array
  readonly encodeBitfield: (bits: Uint8Array) => Uint8Array
  readonly encodePieceHeader: (index: number, begin: number, length: number) => Uint8Array
  readonly UNCHOKE: Uint8Array
  readonly MAX_BLOCK: number
}

interface Sink {
  readonly onHandshake: (h: { readonly infoHash: Uint8Array }) => void
  readonly onMessage: (m: { readonly type: string; readonly index?: number; readonly begin?: number; readonly length?: number }) => void
}

const args = (argv: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!
    const value = argv[i + 1]
    if (!key.startsWith("--") || value === undefined) throw new Error(`seeders: bad argument ${key}`)
    out[key.slice(2)] = value
  }
  return out
}

const fullBitfield = (pieceCount: number): Uint8Array => {
  const bits = new Uint8Array(Math.ceil(pieceCount / 8)).fill(0xff)
  const spare = bits.length * 8 - pieceCount
  if (spare > 0) bits[bits.length - 1] = (0xff << spare) & 0xff
  return bits
}

/**
 * Bytes a seeder lets wait in its socket's send buffer before it stops answering requests until the buffer drains:
 * requests wait in its queue meanwhile, where a CANCEL still reaches them, as in real clients.
 */
const SEND_BUFFER = 256 * 1024

/** `-BS0001-` then the seeder's number, zero-padded: 20 bytes, distinct per seeder. */
const peerIdOf = (n: number): Uint8Array => Buffer.from(`-BS0001-${String(n).padStart(12, "0")}`, "latin1")

const main = async (): Promise<void> => {
  const o = args(process.argv.slice(2))
  const file = o.data!
  const infoHash = Buffer.from(o["info-hash"]!, "hex")
  const pieceLength = Number(o["piece-length"])
  const count = Number(o.peers)
  const fd = openSync(file, "r")
  const { size } = fstatSync(fd)
  const pieceCount = Math.ceil(size / pieceLength)
  const wire = (await import(pathToFileURL(join(dirname(btBin), "dist", "wire", "index.js")).href)) as Wire
  const bitfield = wire.encodeBitfield(fullBitfield(pieceCount))

  /** SIGUSR2s received: the number of the current period. */
  let signals = 0
  let connections = 0
  /** The most connections open at once. */
  let peakOpen = 0
  let bytes = 0
  const served = new Set<number>()
  const sockets = new Set<Socket>()

  const serve = (n: number, socket: Socket): void => {
    sockets.add(socket)
    peakOpen = Math.max(peakOpen, sockets.size)
    if (connections++ === 0) console.log(JSON.stringify({ connected: signals }))
    const decoder = new wire.WireDecoder({ pieceCount, expectHandshake: true })
    /** Requests not answered yet, oldest first: answered while the socket's buffer is short, dropped on CANCEL. */
    const queue: Array<{ index: number; begin: number; length: number }> = []
    let queued = 0
    const pump = (): void => {
      socket.cork()
      while (queued < queue.length && socket.writableLength < SEND_BUFFER) {
        const { index, begin, length } = queue[queued++]!
        const block = Buffer.allocUnsafe(length)
        readSync(fd, block, 0, length, index * pieceLength + begin)
        socket.write(wire.encodePieceHeader(index, begin, length))
        socket.write(block)
        bytes += length
        served.add(n)
      }
      socket.uncork()
      if (queued === queue.length || queued > 1024) {
        queue.splice(0, queued)
        queued = 0
      }
    }
    socket.on("drain", pump)
    const sink: Sink = {
      onHandshake: (h) => {
        if (!Buffer.from(h.infoHash).equals(infoHash)) return void socket.destroy()
        socket.cork()
        socket.write(wire.encodeHandshake({ reserved: new Uint8Array(8), infoHash, peerId: peerIdOf(n) }))
        socket.write(bitfield)
        socket.write(wire.UNCHOKE)
        socket.uncork()
      },
      onMessage: (m) => {
        // interested, not interested, have, keep-alive: nothing to do (we never choke).
        if (m.type !== "request" && m.type !== "cancel") return
        const request = { index: m.index!, begin: m.begin!, length: m.length! }
        if (m.type === "cancel") {
          const at = queue.findIndex((r, i) => i >= queued && r.index === request.index && r.begin === request.begin)
          if (at >= 0) queue.splice(at, 1)
          return
        }
        const end = request.index * pieceLength + request.begin + request.length
        if (request.length > wire.MAX_BLOCK || request.begin + request.length > pieceLength || end > size) {
          return void socket.destroy()
        }
        queue.push(request)
      }
    }
    socket.on("data", (chunk: Buffer) => {
      if (decoder.push(chunk, sink) !== undefined) socket.destroy()
      else pump()
    })
    socket.on("error", () => socket.destroy())
    socket.on("close", () => sockets.delete(socket))
  }

  const servers: Array<Server> = []
  const ports: Array<number> = []
  for (let n = 0; n < count; n++) {
    const server = createServer({ noDelay: true }, (socket) => serve(n, socket))
    servers.push(server)
    ports.push(
      await new Promise<number>((resolve, reject) => {
        server.once("error", reject)
        server.listen(0, "127.0.0.1", 511, () => resolve((server.address() as AddressInfo).port))
      })
    )
  }
  console.log(JSON.stringify({ ports }))

  process.on("SIGUSR2", () => {
    console.log(JSON.stringify({ stats: ++signals, connections, peakOpen, servedPeers: served.size, bytes }))
    connections = 0
    peakOpen = sockets.size
    bytes = 0
    served.clear()
  })
  process.on("SIGTERM", () => {
    for (const socket of sockets) socket.destroy()
    for (const server of servers) server.close()
    closeSync(fd)
    process.exit(0)
  })
}

main().catch((error: unknown) => {
  console.error(`seeders: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
