/**
 * Downloading a torrent from inside another Effect program, with bt as a library.
 *
 *   node --experimental-strip-types examples/download.ts FILE.torrent DIR [HOST:PORT ...]   (Node 22+), or
 *   npx tsx examples/download.ts FILE.torrent DIR [HOST:PORT ...]
 *
 * The program owns the edge: it picks the platform layers (Node's here) and decides what to do with progress.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Console, Effect, Layer, Schedule } from "effect"
import { Metainfo, NodeDatagram, NodeTransport, Session, Storage, Tracker, Verifier } from "../src/index.js"

/** The bt services this program uses, wired once, with Node's platform underneath. */
export const BtLayer = Layer.mergeAll(
  Metainfo.layer.pipe(Layer.provide(NodeFileSystem.layer)),
  Session.layerConfig({ maxPeers: 20 }).pipe(
    Layer.provide(Layer.mergeAll(
      NodeTransport.layer,
      Storage.layer,
      Verifier.layer,
      Tracker.layer.pipe(Layer.provide(Layer.merge(NodeHttpClient.layer, NodeDatagram.layer)))
    ))
  )
)

/** Downloads `torrentPath` into `directory`, reporting progress every second; `peers` are extra HOST:PORT. */
export const downloadTorrent = (torrentPath: string, directory: string, peers: ReadonlyArray<{ host: string; port: number }>) =>
  Effect.gen(function*() {
    const torrent = yield* Effect.flatMap(Metainfo.Metainfo, (m) => m.load(torrentPath))
    const session = yield* Session.Session
    const handle = yield* session.add(torrent, { directory, peers, trackers: peers.length === 0 })
    yield* handle.progress.pipe(
      Effect.flatMap((p) => Console.log(`${torrent.name}: ${p.verifiedPieces}/${p.pieceCount} pieces, ${p.peers} peers`)),
      Effect.schedule(Schedule.spaced("1 second")),
      Effect.forkScoped
    )
    yield* handle.done
    return torrent
  }).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  const [torrentPath, directory, ...rest] = process.argv.slice(2)
  if (torrentPath === undefined || directory === undefined) {
    return yield* Effect.fail(new Error("usage: download.ts FILE.torrent DIR [HOST:PORT ...]"))
  }
  const peers = rest.map((text) => {
    const at = text.lastIndexOf(":")
    return { host: text.slice(0, at), port: Number(text.slice(at + 1)) }
  })
  const torrent = yield* downloadTorrent(torrentPath, directory, peers)
  yield* Console.log(`${torrent.name}: done`)
})

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main.pipe(Effect.provide(BtLayer))).catch((error: unknown) => {
    console.error(`download failed: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  })
}
