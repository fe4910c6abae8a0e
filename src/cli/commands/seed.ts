import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Metainfo, type TorrentInfo } from "../../metainfo/index.js"
import type { Bitfield } from "../../piece/index.js"
import * as Session from "../../session/index.js"
import { formatBytes } from "../format.js"
import { checkSwarmArgs, dataDirectory, sessionLayerOf, swarmOptions } from "../options.js"
import { reportMode, reportProgress } from "../report.js"
import { UsageError } from "../UsageError.js"

/**
 * The file to name for the first piece that failed the check. A piece can span files, and its hash cannot tell which
 * of them is wrong: prefer one whose every piece failed (missing, truncated, or another file under that name), else
 * the file holding the piece's first byte.
 */
const firstBadFile = (torrent: TorrentInfo, have: Bitfield): { readonly path: string; readonly piece: number } | undefined => {
  const pieceOf = (offset: number) => Math.floor(offset / torrent.pieceLength)
  for (let piece = 0; piece < torrent.pieceCount; piece++) {
    if (have.has(piece)) continue
    const start = piece * torrent.pieceLength
    const end = Math.min(start + torrent.pieceLength, torrent.totalLength)
    const spanned = torrent.files.filter((f) => !f.padding && f.length > 0 && f.offset < end && start < f.offset + f.length)
    const allBad = (f: (typeof spanned)[number]) => {
      for (let p = pieceOf(f.offset); p <= pieceOf(f.offset + f.length - 1); p++) if (have.has(p)) return false
      return true
    }
    const file = spanned.find(allBad) ?? spanned[0] ?? torrent.files[0]!
    const inside = torrent.layout === "multi" ? [torrent.name, ...file.path] : file.path
    return { path: inside.join("/"), piece }
  }
  return undefined
}

export const seed = Command.make(
  "seed",
  {
    torrent: Args.text({ name: "file.torrent" }).pipe(Args.withDescription("the torrent to seed")),
    directory: dataDirectory,
    ...swarmOptions
  },
  (args) =>
    Effect.gen(function*() {
      const peers = yield* checkSwarmArgs(args)
      const torrent = yield* Effect.flatMap(Metainfo, (m) => m.load(args.torrent))
      const session = yield* Session.Session
      const handle = yield* session.add(torrent, { directory: args.directory, peers, trackers: !args.noTrackers })
      const mode = reportMode(args.json)
      if (mode !== "json") yield* Console.error(`checking ${torrent.name} in ${args.directory}…`)
      const have = yield* handle.checked
      const bad = firstBadFile(torrent, have)
      if (bad !== undefined) {
        return yield* new UsageError({
          message: `${args.directory}/${bad.path}: data does not match the torrent (piece ${bad.piece}, ${have.count} of ${torrent.pieceCount} pieces good); is -d the folder that holds ${torrent.name}?`
        })
      }
      if (mode !== "json") {
        yield* Console.error(`seeding ${torrent.name} (${formatBytes(torrent.totalLength)}) on port ${session.port}; Ctrl-C to stop`)
      } else {
        yield* Console.log(JSON.stringify({ event: "seeding", infoHash: torrent.infoHashHex, port: session.port }))
      }
      yield* reportProgress(handle, mode)
      return yield* Effect.never
    }).pipe(
      Effect.scoped,
      Effect.provide(sessionLayerOf(args))
    )
).pipe(Command.withDescription(
  "Check the data in a folder against a torrent, then seed it to peers until interrupted."
))
