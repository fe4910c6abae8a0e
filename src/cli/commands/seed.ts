import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Metainfo, type TorrentInfo } from "../../metainfo/index.js"
import type { Endpoint } from "../../net/Datagram.js"
import { Bitfield } from "../../piece/index.js"
import * as Session from "../../session/index.js"
import { layer as storageLayer, Storage } from "../../storage/index.js"
import { fileReports, nothingFound, problemText, requireFolder, withFolders } from "../dataCheck.js"
import { formatBytes } from "../format.js"
import { checkSwarmArgs, dataDirectory, joinLsd, mapSessionPort, sessionLayerOf, swarmOptions } from "../options.js"
import { seededLine } from "../progress.js"
import { reportMode, reportProgress } from "../report.js"
import { CommandFailed } from "../UsageError.js"
import type { CommandHelp } from "../help.js"

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

/**
 * Before the session opens the data (which creates what is missing): every file of the torrent must be there, at
 * its size. Read-only: a wrong -d writes nothing.
 */
const checkFilesPresent = (torrent: TorrentInfo, directory: string) =>
  Effect.gen(function*() {
    yield* requireFolder(directory, torrent)
    const storage = yield* (yield* Storage).open(torrent, directory, { readOnly: true })
    const existing = yield* storage.existing
    const hint = `is -d the folder that holds ${torrent.name}?`
    if (nothingFound(existing)) {
      return yield* new CommandFailed({ message: `none of ${torrent.name}'s files are in ${directory}`, hint })
    }
    const wrong = (yield* withFolders(directory, fileReports(torrent, existing, Bitfield.full(torrent.pieceCount))))[0]
    if (wrong !== undefined) {
      return yield* new CommandFailed({
        message: `${directory}/${wrong.path}: ${problemText(wrong.problem)}; the data does not match the torrent`,
        hint
      })
    }
  }).pipe(Effect.scoped, Effect.provide(storageLayer))

/** Seeds once the files are known to be there: the session hashes them, then serves peers until interrupted. */
const seedChecked = (
  torrent: TorrentInfo,
  peers: ReadonlyArray<Endpoint>,
  args: { readonly directory: string; readonly noTrackers: boolean; readonly json: boolean }
) =>
  Effect.gen(function*() {
    const session = yield* Session.Session
    yield* mapSessionPort(session)
    const handle = yield* session.add(torrent, { directory: args.directory, peers, trackers: !args.noTrackers })
    yield* joinLsd(handle, session)
    const mode = reportMode(args.json)
    if (mode !== "json") yield* Console.error(`checking ${torrent.name} in ${args.directory}…`)
    const have = yield* handle.checked
    const bad = firstBadFile(torrent, have)
    if (bad !== undefined) {
      return yield* new CommandFailed({
        message: `${args.directory}/${bad.path}: data does not match the torrent (piece ${bad.piece}, ${have.count} of ${torrent.pieceCount} pieces good)`,
        hint: `is -d the folder that holds ${torrent.name}?`
      })
    }
    if (mode !== "json") {
      yield* Console.error(`seeding ${torrent.name} (${formatBytes(torrent.totalLength)}) on port ${session.port}; Ctrl-C to stop`)
    } else {
      yield* Console.log(JSON.stringify({ event: "seeding", infoHash: torrent.infoHashHex, port: session.port }))
    }
    const started = yield* Clock.currentTimeMillis
    const report = yield* reportProgress(handle, mode)
    // On Ctrl-C: what was uploaded, in how long.
    const stopped = Effect.gen(function*() {
      yield* report.stop
      const p = yield* handle.progress
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      yield* mode === "json"
        ? Console.log(JSON.stringify({ event: "stopped", name: torrent.name, uploaded: p.uploaded, seconds }))
        : Console.log(seededLine(torrent.name, p, seconds))
    })
    return yield* Effect.never.pipe(Effect.onInterrupt(() => stopped))
  }).pipe(Effect.scoped)

export const seed = Command.make(
  "seed",
  {
    torrent: Args.text({ name: "file.torrent" }).pipe(Args.withDescription("the torrent to seed")),
    directory: dataDirectory,
    ...swarmOptions
  },
  (args) =>
    Effect.gen(function*() {
      // Everything that can be checked without listening or writing is, before the session starts.
      const peers = yield* checkSwarmArgs(args)
      const torrent = yield* Effect.flatMap(Metainfo, (m) => m.load(args.torrent))
      yield* checkFilesPresent(torrent, args.directory)
      return yield* seedChecked(torrent, peers, args).pipe(Effect.provide(sessionLayerOf(args)))
    })
).pipe(Command.withDescription(
  "Seed a torrent from a folder. The data is checked against the torrent first (nothing is written if it does " +
    "not match), then served to peers until Ctrl-C."
))

export const seedHelp: CommandHelp = {
  common: ["--directory", "--port", "--json"],
  examples: [
    ["bt seed photos.torrent -d .", "the folder that holds photos/"],
    ["bt seed photos.torrent -d ~/shared --port 51413"]
  ]
}
