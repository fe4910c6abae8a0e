/**
 * A torrent whose first tiers hold black-hole trackers (UDP sockets that read and never answer, TCP servers that
 * accept and never respond) and whose last tier holds opentracker beside another black hole: `bt download` finds a
 * libtorrent seeder through opentracker within seconds and completes. Under the old scheme (tiers one after the
 * other, 15·2ⁿ s UDP retransmissions) the first UDP black hole alone held every announce for over two hours, and the
 * first HTTP one for 30 s.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram"
import { createServer, type Server, type Socket } from "node:net"
import { join } from "node:path"
import { afterEach, expect, test } from "vitest"
import {
  freePort,
  interopSuite,
  lt,
  type LtInfo,
  runMktorrent,
  spawnTracked,
  btArgs,
  startLtSeeder,
  startOpentracker,
  tempDir,
  writeFiles
} from "./harness.js"
import { untilTrackerCounts } from "./leechers.js"

/** A UDP socket on 127.0.0.1 that counts what it reads and never answers. */
const udpBlackHole = (): Promise<{ readonly url: string; readonly packets: () => number; readonly socket: UdpSocket }> =>
  new Promise((resolve) => {
    let packets = 0
    const socket = createSocket("udp4")
    socket.on("message", () => void packets++)
    socket.bind(0, "127.0.0.1", () =>
      resolve({ url: `udp://127.0.0.1:${socket.address().port}/announce`, packets: () => packets, socket }))
  })

/** A TCP server on 127.0.0.1 that accepts, reads and never responds. */
const tcpBlackHole = (): Promise<{ readonly url: string; readonly connections: () => number; readonly server: Server }> =>
  new Promise((resolve) => {
    let connections = 0
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      connections++
      sockets.add(socket)
      socket.on("data", () => {})
      socket.on("error", () => {})
      socket.once("close", () => sockets.delete(socket))
    })
    server.on("close", () => {
      for (const socket of sockets) socket.destroy()
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      resolve({ url: `http://127.0.0.1:${port}/announce`, connections: () => connections, server })
    })
  })

const holes: Array<{ close: () => void }> = []
afterEach(() => {
  for (const hole of holes.splice(0)) hole.close()
})

interface TrackerLine {
  readonly url: string
  readonly tier: number
  readonly state: string
}
interface JsonLine {
  readonly event: string
  readonly verifiedPieces?: number
  readonly trackers?: ReadonlyArray<TrackerLine>
  readonly reason?: string
  readonly seconds?: number
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * `bt download --json` to completion (bounded), watching its progress lines for the first verified piece: when it
 * showed up, to within the second between lines.
 */
const download = async (torrent: string, out: string) => {
  const started = Date.now()
  const bt = spawnTracked(process.execPath, btArgs(["download", torrent, "-o", out, "--port", String(await freePort()), "--json"]))
  const parsed = (): Array<JsonLine> =>
    bt.stdout().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as JsonLine)
  let firstPieceMs: number | undefined
  for (let i = 0; i < 900 && bt.child.exitCode === null; i++) {
    if (firstPieceMs === undefined && parsed().some((l) => (l.verifiedPieces ?? 0) > 0 || l.event === "done")) {
      firstPieceMs = Date.now() - started
    }
    await sleep(100)
  }
  const result = await bt.exited
  const lines = parsed()
  return {
    result,
    lines,
    done: lines.find((l) => l.event === "done"),
    firstPieceMs: firstPieceMs ?? Date.now() - started,
    context: `exit ${result.code}\nstdout:\n${result.stdout.slice(-6000)}\nstderr:\n${result.stderr}`
  }
}

interopSuite("dead trackers: black holes in front of opentracker", ["libtorrent", "opentracker", "mktorrent"], () => {
  test("bt download starts within seconds from the live tier and completes", async () => {
    const work = await tempDir()
    const udp = await Promise.all([udpBlackHole(), udpBlackHole(), udpBlackHole()])
    const tcp = await Promise.all([tcpBlackHole(), tcpBlackHole()])
    for (const hole of udp) holes.push({ close: () => hole.socket.close() })
    for (const hole of tcp) holes.push({ close: () => hole.server.close() })
    const tracker = await startOpentracker(join(work, "tracker"), [])

    await writeFiles(join(work, "src"), [{ path: "payload.bin", size: 6_000_000 }], 31)
    const target = join(work, "src", "payload.bin")
    // The seeder's torrent names opentracker alone (libtorrent walks tiers in order too); ours leads with the dead.
    // Only the announce lists differ, so both have the same info-hash.
    const seederTorrent = await runMktorrent({ target, out: join(work, "seed.torrent"), pieceLengthLog2: 18, trackers: [[tracker.httpUrl]] })
    const tiers = [[udp[0]!.url], [tcp[0]!.url, udp[1]!.url], [udp[2]!.url, tracker.udpUrl, tcp[1]!.url]]
    const ourTorrent = await runMktorrent({ target, out: join(work, "ours.torrent"), pieceLengthLog2: 18, trackers: tiers })
    const info = (await lt(["info", seederTorrent])) as LtInfo
    expect(((await lt(["info", ourTorrent])) as LtInfo).info_hash).toBe(info.info_hash)
    await tracker.allow([info.info_hash])

    // Held to ~1.5 MB/s, so the download lasts a few progress lines.
    const seeder = await startLtSeeder({
      torrent: seederTorrent,
      save: join(work, "src"),
      trackerAnnounce: true,
      uploadLimit: 1_500_000
    })
    await untilTrackerCounts(tracker.httpUrl, info.info_hash, 1, 30_000)

    // First alone, for the figure to compare with: a torrent naming only opentracker's udp:// URL.
    const aloneTorrent = await runMktorrent({ target, out: join(work, "alone.torrent"), pieceLengthLog2: 18, trackers: [[tracker.udpUrl]] })
    const alone = await download(aloneTorrent, join(work, "alone"))
    expect(alone.result.code, alone.context).toBe(0)

    const { context: runContext, done, firstPieceMs, lines, result } = await download(ourTorrent, join(work, "out"))
    const context = `${runContext}\nseeder ${seeder.port}`
    expect(result.code, context).toBe(0)
    expect(done, context).toBeDefined()

    // Every tracker is listed with its tier; opentracker answered while the black holes were still being waited on.
    const progress = lines.filter((l) => l.event === "progress" && l.trackers !== undefined)
    expect(progress.length, context).toBeGreaterThan(0)
    expect(progress[0]!.trackers!.map((t) => [t.url, t.tier]), context).toEqual(
      tiers.flatMap((tier, i) => tier.map((url) => [url, i + 1]))
    )
    expect(progress.some((l) => l.trackers!.some((t) => t.url === tracker.udpUrl && t.state === "working")), context).toBe(true)
    // The black holes really were asked.
    for (const hole of udp) expect(hole.packets(), context).toBeGreaterThan(0)
    expect(tcp[0]!.connections(), context).toBeGreaterThan(0)

    // Generous: a shared, slow machine. The old scheme could not have started before 30 s (the first HTTP black
    // hole's timeout) and in fact waited hours (the first UDP one's retransmissions).
    expect(firstPieceMs, context).toBeLessThan(20_000)
    const states = progress[0]!.trackers!.map((t) => `${t.tier}:${t.state}`).join(" ")
    process.stdout.write(
      `dead trackers: first piece after ${firstPieceMs} ms (opentracker alone: ${alone.firstPieceMs} ms), done in ` +
        `${done!.seconds} s (alone: ${alone.done?.seconds} s); first progress line: ${states}` +
        `${progress[0]!.reason === undefined ? "" : `, "${progress[0]!.reason}"`}\n`
    )
  }, 120_000)
})
