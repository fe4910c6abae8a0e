import { Args, Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Either, Layer, Schedule } from "effect"
import { Metainfo } from "../../metainfo/index.js"
import * as NodeTransport from "../../peer/transport/NodeTransport.js"
import * as Session from "../../session/index.js"
import * as Storage from "../../storage/index.js"
import * as Verifier from "../../verifier/index.js"
import { nodeTrackerLayer } from "../layers.js"
import { parsePeerAddress } from "../peerAddress.js"
import { progressLine, summaryLine } from "../progress.js"
import { UsageError } from "../UsageError.js"

const PlatformLayer = Layer.mergeAll(
  NodeTransport.layer,
  Storage.layer,
  Verifier.layer,
  nodeTrackerLayer()
)

export const download = Command.make(
  "download",
  {
    torrent: Args.text({ name: "file.torrent" }).pipe(Args.withDescription("the torrent to download")),
    output: Options.directory("output").pipe(
      Options.withAlias("o"),
      Options.withDefault("."),
      Options.withDescription("the folder to download into (default: the current folder)")
    ),
    peer: Options.text("peer").pipe(
      Options.repeated,
      Options.withDescription("a peer to connect to, HOST:PORT or [IPV6]:PORT (repeatable)")
    ),
    port: Options.integer("port").pipe(
      Options.withDefault(6881),
      Options.withDescription("the TCP port announced to trackers")
    ),
    maxPeers: Options.integer("max-peers").pipe(
      Options.withDefault(50),
      Options.withDescription("the most peers to be connected to at once")
    ),
    noTrackers: Options.boolean("no-trackers").pipe(
      Options.withDescription("do not ask the torrent's trackers for peers (use --peer)")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("print progress and the result as JSON lines"))
  },
  (args) =>
    Effect.gen(function*() {
      const peers = args.peer.map(parsePeerAddress)
      const badPeer = peers.find(Either.isLeft)
      if (badPeer !== undefined) return yield* new UsageError({ message: badPeer.left })
      if (args.port < 1 || args.port > 65535) return yield* new UsageError({ message: `--port ${args.port} is not a TCP port (1-65535)` })
      if (args.maxPeers < 1) return yield* new UsageError({ message: "--max-peers must be at least 1" })

      const torrent = yield* Effect.flatMap(Metainfo, (m) => m.load(args.torrent))
      if (args.noTrackers && peers.length === 0) {
        return yield* new UsageError({ message: "--no-trackers needs at least one --peer" })
      }
      const session = yield* Session.Session
      const started = yield* Clock.currentTimeMillis
      const handle = yield* session.add(torrent, {
        directory: args.output,
        peers: peers.flatMap((p) => (Either.isRight(p) ? [p.right] : [])),
        trackers: !args.noTrackers
      })

      const tty = process.stdout.isTTY === true && !args.json
      const report = Effect.flatMap(handle.progress, (progress) =>
        args.json
          ? Console.log(JSON.stringify({ event: "progress", ...progress }))
          : tty
          ? Effect.sync(() => process.stdout.write(`\r\x1b[K${progressLine(progress)}`))
          : Console.log(progressLine(progress)))
      yield* report.pipe(
        Effect.schedule(Schedule.spaced(tty ? "500 millis" : args.json ? "1 second" : "5 seconds")),
        Effect.forkScoped
      )

      yield* handle.done
      const final = yield* handle.progress
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      if (tty) yield* Effect.sync(() => process.stdout.write(`\r\x1b[K`))
      yield* args.json
        ? Console.log(JSON.stringify({
          event: "done",
          name: torrent.name,
          infoHash: torrent.infoHashHex,
          totalLength: torrent.totalLength,
          downloaded: final.downloaded,
          wasted: final.wasted,
          seconds
        }))
        : Console.log(summaryLine(torrent.name, torrent.totalLength, final.downloaded, seconds))
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Session.layerConfig({ port: args.port, maxPeers: args.maxPeers }).pipe(Layer.provide(PlatformLayer))
      )
    )
).pipe(Command.withDescription(
  "Download a torrent into a folder, from its trackers' peers and any --peer given; exits 0 once every piece is verified on disk."
))

