/**
 * A peer that sends corrupt data, on a loopback address of its own (127.0.0.9), beside an honest libtorrent seeder:
 * `bt download` bans it, then it comes back dialling bt from new ports, again and again, and each connection is
 * closed before bt reads or sends a byte. The corrupt peer runs in this process on real sockets and counts its
 * connections both ways.
 */
import { Either } from "effect"
import { randomBytes } from "node:crypto"
import { readFile } from "node:fs/promises"
import { connect, createServer, type Socket } from "node:net"
import { join } from "node:path"
import { afterEach, expect, test } from "vitest"
import { parseTorrent, pieceSize, type TorrentInfo } from "../../src/metainfo/index.js"
import { Bitfield } from "../../src/piece/index.js"
import {
  encodeBitfield,
  encodeHandshake,
  encodePieceHeader,
  type Message,
  reservedBytes,
  UNCHOKE,
  WireDecoder
} from "../../src/wire/index.js"
import { freePort, interopSuite, startLtSeeder } from "./harness.js"
import { exitWithin, freshStateDir, hashFiles, makeLtTorrent, spawnBt } from "./leechers.js"

const LIAR_HOST = "127.0.0.9"
const COMEBACKS = 200

const closers: Array<() => void> = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

/**
 * A seeder that answers every request at once with random bytes: every piece it alone sends fails its check.
 * `closedByPeer` counts its connections that the other side ended.
 */
const startLiar = async (torrent: TorrentInfo) => {
  let accepted = 0
  let closedByPeer = 0
  const peerId = Uint8Array.from([...Buffer.from("-LI0001-"), ...randomBytes(12)])
  const server = createServer((socket: Socket) => {
    accepted++
    let closing = false
    const decoder = new WireDecoder({ pieceCount: torrent.pieceCount, expectHandshake: true })
    const sink = {
      onHandshake: () => {
        socket.write(encodeHandshake({ reserved: reservedBytes([]), infoHash: torrent.infoHash, peerId }))
        socket.write(encodeBitfield(Bitfield.full(torrent.pieceCount).toBytes()))
        socket.write(UNCHOKE)
      },
      onMessage: (message: Message) => {
        if (message.type !== "request") return
        const length = Math.min(message.length, pieceSize(torrent, message.index) - message.begin)
        socket.write(encodePieceHeader(message.index, message.begin, length))
        socket.write(randomBytes(length))
      }
    }
    socket.on("data", (chunk: Buffer) => {
      if (decoder.push(chunk, sink) !== undefined) {
        closing = true
        socket.destroy()
      }
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      if (!closing) closedByPeer++
    })
  })
  await new Promise<void>((resolve) => server.listen(0, LIAR_HOST, resolve))
  closers.push(() => server.close())
  return {
    port: (server.address() as { readonly port: number }).port,
    accepted: () => accepted,
    closedByPeer: () => closedByPeer,
    peerId
  }
}

/** Dials bt from the liar's address (a new port each time), sends a handshake, and waits for the close. */
const comeBack = (torrent: TorrentInfo, peerId: Uint8Array, port: number) =>
  new Promise<{ readonly received: number; readonly refused: boolean }>((resolve) => {
    let received = 0
    const socket = connect({ host: "127.0.0.1", port, localAddress: LIAR_HOST }, () => {
      socket.write(encodeHandshake({ reserved: reservedBytes([]), infoHash: torrent.infoHash, peerId }))
    })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ received, refused: false })
    }, 5_000)
    socket.on("data", (chunk: Buffer) => (received += chunk.length))
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(timer)
      resolve({ received, refused: true })
    })
  })

const waitFor = async (what: string, condition: () => boolean, ms: number) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interopSuite("a banned peer coming back (libtorrent seeder beside it)", ["libtorrent"], () => {
  test(`bans a peer sending corrupt data by its address, and refuses it ${COMEBACKS} times from new ports`, async () => {
    const { dir, hashes, spec, torrent: path } = await makeLtTorrent("banned.bin", 4 * 1024 * 1024 + 5, 43, 32768)
    const torrent = Either.getOrThrow(parseTorrent(await readFile(path)))
    // Slow enough that bt is still downloading while the liar comes back.
    const seeder = await startLtSeeder({ torrent: path, save: join(dir, "data"), uploadLimit: 600_000 })
    const liar = await startLiar(torrent)
    const port = await freePort()
    const out = join(dir, "out")
    const bt = spawnBt([
      "download", path, "-o", out, "--no-trackers", "--bind", "127.0.0.1", "--port", String(port), "--json",
      "--transport", "tcp", "--encryption", "disable", "--peer", `127.0.0.1:${seeder.port}`, "--peer", `${LIAR_HOST}:${liar.port}`,
      ...(await freshStateDir())
    ])
    await waitFor("bt drops the liar", () => liar.closedByPeer() > 0, 30_000)
    const dialledBeforeBan = liar.accepted()
    expect(bt.child.exitCode, "bt finished before the liar could come back: slow the seeder").toBeNull()

    const comebacks = []
    for (let i = 0; i < COMEBACKS; i++) comebacks.push(await comeBack(torrent, liar.peerId, port))
    expect(comebacks.filter((c) => !c.refused)).toEqual([])
    // Not one byte: bt closed each connection before sending its handshake.
    expect(comebacks.reduce((sum, c) => sum + c.received, 0)).toBe(0)
    expect(bt.child.exitCode, "bt finished before the liar had come back every time").toBeNull()

    const result = await exitWithin(bt, 60_000, "bt download")
    expect(result.code, result.stderr).toBe(0)
    expect(await hashFiles(out, spec)).toEqual(hashes)
    // Never dialled again after the ban (plaintext only: one connection before it).
    expect(dialledBeforeBan).toBe(1)
    expect(liar.accepted()).toBe(1)
  }, 120_000)
})
