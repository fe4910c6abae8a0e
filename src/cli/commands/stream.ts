import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isIP } from "node:net"
import { resolve } from "node:path"
import type { TorrentInfo } from "../../metainfo/index.js"
import * as Session from "../../session/index.js"
import type { FilePriority } from "../../session/selection.js"
import { playlistPath, streamPath, streamRouter } from "../../stream/index.js"
import { checkSwarmArgs, filesOption, joinLsd, mapSessionPort, selectionOptions, sessionLayerOf, swarmOptions } from "../options.js"
import { reportMode, reportProgress } from "../report.js"
import type { CommandHelp } from "../help.js"
import { nodeHttpServerLayer } from "../httpServer.js"
import { UsageError } from "../UsageError.js"
import { fromMagnet, openSource, outputOption, sayStopped } from "./download.js"

export const stream = Command.make(
  "stream",
  {
    torrent: Args.text({ name: "torrent" }).pipe(
      Args.withDescription("the .torrent file or magnet link to stream (quote a magnet link for the shell)")
    ),
    output: outputOption,
    file: Options.integer("file").pipe(
      Options.optional,
      Options.withDescription("the file to stream, by its index as bt info numbers it (the others are not fetched)")
    ),
    httpPort: Options.integer("http-port").pipe(
      Options.withDefault(8888),
      Options.withDescription("the HTTP port to serve the files on (0: any free one)")
    ),
    httpBind: Options.text("http-bind").pipe(
      Options.withPseudoName("ADDR"),
      Options.withDefault("127.0.0.1"),
      Options.withDescription("the address to serve HTTP on (default: loopback only; anyone who reaches it can read)")
    ),
    ...swarmOptions,
    ...selectionOptions
  },
  (args) =>
    Effect.gen(function*() {
      const peers = yield* checkSwarmArgs(args)
      if (args.httpPort < 0 || args.httpPort > 65535) {
        return yield* new UsageError({ message: `--http-port ${args.httpPort} is not a TCP port (0-65535)` })
      }
      if (isIP(args.httpBind) === 0) {
        return yield* new UsageError({ message: `--http-bind ${args.httpBind}: expected an IPv4 or IPv6 address` })
      }
      if (Option.isSome(args.file) && (Option.isSome(args.only) || Option.isSome(args.exclude))) {
        return yield* new UsageError({ message: "--file goes without --only and --exclude" })
      }
      if (Option.isSome(args.file) && args.file.value < 0) {
        return yield* new UsageError({ message: `--file ${args.file.value}: expected a file index (0 or more, see bt info)` })
      }
      const only = Option.isSome(args.file) ? Option.some(String(args.file.value)) : args.only
      const { loaded, magnet } = yield* openSource(args, peers)
      const mode = reportMode(args.json)
      const program = Effect.gen(function*() {
        const session = yield* Session.Session
        yield* mapSessionPort(session)
        const started = yield* Clock.currentTimeMillis
        const selection = filesOption({ ...args, only })
        const choose = selection.files
        const addOptions = {
          directory: args.output,
          peers,
          trackers: !args.noTrackers,
          ...selection,
          // --file N is --only N, and an error about it names --file.
          ...(choose === undefined || Option.isNone(args.file) ? {} : {
            files: (torrent: TorrentInfo, base: ReadonlyArray<FilePriority>) => {
              const chosen = choose(torrent, base)
              return typeof chosen === "string" ? chosen.replace(/^--only/, "--file") : chosen
            }
          })
        }
        const handle = loaded !== undefined
          ? yield* session.add(loaded, addOptions)
          : yield* fromMagnet(yield* session.addMagnet(magnet!, addOptions), mode, started, Option.none())
        yield* joinLsd(handle, session)
        const torrent = handle.torrent
        const server = yield* HttpServer.HttpServer
        yield* HttpServer.serveEffect(streamRouter((hash) =>
          Effect.succeed(hash === torrent.infoHashHex ? Option.some(handle) : Option.none())
        ))
        const port = server.address._tag === "TcpAddress" ? server.address.port : args.httpPort
        const host = args.httpBind.includes(":") ? `[${args.httpBind}]` : args.httpBind
        const base = `http://${host}:${port}`
        const files = yield* handle.files
        const served = torrent.files.flatMap((file, index) =>
          file.padding || files[index] === "skip" ? [] : [{ index, path: file.path.join("/"), length: file.length }]
        )
        for (const file of served) {
          const url = `${base}${streamPath(torrent.infoHashHex, file.index)}`
          yield* mode === "json"
            ? Console.log(JSON.stringify({ event: "stream", file: file.index, path: file.path, length: file.length, url }))
            : Console.log(`${url}  ${file.path}`)
        }
        if (served.length > 1) {
          const url = `${base}${playlistPath(torrent.infoHashHex)}`
          yield* mode === "json"
            ? Console.log(JSON.stringify({ event: "playlist", url }))
            : Console.log(`${url}  (playlist of all ${served.length})`)
        }
        const report = yield* reportProgress(handle, mode)
        const directory = resolve(args.output)
        // Serves until Ctrl-C, downloading and then seeding; then says how far it got.
        return yield* Effect.never.pipe(Effect.onInterrupt(() =>
          Effect.zipRight(
            report.stop,
            Effect.flatMap(Clock.currentTimeMillis, (now) => sayStopped(handle, mode, directory, (now - started) / 1000))
          )
        ))
      })
      return yield* program.pipe(
        Effect.scoped,
        Effect.provide(nodeHttpServerLayer(args.httpBind, args.httpPort, "HTTP", "--http-port")),
        Effect.provide(sessionLayerOf(args))
      )
    })
).pipe(Command.withDescription(
  "Download a torrent and serve its files over HTTP while it downloads, for a player (mpv URL, VLC): prints each " +
    "file's URL (and a playlist's, for several). A player's reads are fetched first, wherever it seeks; the rest " +
    "downloads behind them. Takes every bt download option. Runs until Ctrl-C, seeding once done."
))

export const streamHelp: CommandHelp = {
  common: ["--file", "--only", "--http-port", "--output", "--peer"],
  examples: [
    ["bt stream movie.torrent", "then: mpv http://127.0.0.1:8888/stream/<info-hash>/0"],
    ["bt stream 'magnet:?xt=urn:btih:...' --only '*.mkv' -o ~/Videos"],
    ["bt stream season.torrent --http-port 0 --http-bind 0.0.0.0", "any free port, reachable from the LAN"]
  ]
}
