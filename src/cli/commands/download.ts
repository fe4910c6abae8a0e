import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { dirname, resolve } from "node:path"
import { isMagnet, type MagnetLink, Metainfo, type TorrentInfo, torrentFileBytes } from "../../metainfo/index.js"
import type { Endpoint } from "../../net/Datagram.js"
import * as Session from "../../session/index.js"
import {
  checkSwarmArgs,
  filesOption,
  joinLsd,
  mapSessionPort,
  selectionOptions,
  sessionLayerOf,
  swarmOptions
} from "../options.js"
import { formatBytes } from "../format.js"
import { seededLine, stoppedLine, summaryLine } from "../progress.js"
import { parseDuration, reportMetadata, type ReportMode, reportMode, reportProgress } from "../report.js"
import { describePlatformError } from "../platformError.js"
import { CommandFailed, UsageError } from "../UsageError.js"
import type { CommandHelp } from "../help.js"

/**
 * Waits for a magnet link's metadata, showing how the fetch goes, then says how long it took and writes the
 * .torrent if asked to.
 */
export const fromMagnet = (
  magnet: Session.MagnetHandle,
  mode: ReportMode,
  started: number,
  saveTorrent: Option.Option<string>
) =>
  Effect.gen(function*() {
    const handle = yield* Effect.scoped(Effect.zipRight(reportMetadata(magnet, mode), magnet.torrent))
    const torrent = handle.torrent
    const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
    const { peers } = magnet.metadataProgress()
    const source = magnet.savedMetadata ? "an earlier run" : `${peers} peer${peers === 1 ? "" : "s"}`
    yield* mode === "json"
      ? Console.log(JSON.stringify({
        event: "metadata-done",
        name: torrent.name,
        infoHash: torrent.infoHashHex,
        seconds,
        peers,
        saved: magnet.savedMetadata
      }))
      : Console.log(`${torrent.name}: metadata (${formatBytes(torrent.infoBytes.length)}) from ${source} in ${
        seconds.toFixed(2)
      } s`)
    if (Option.isSome(saveTorrent)) {
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFile(saveTorrent.value, torrentFileBytes(torrent)).pipe(
        Effect.mapError((cause) => new CommandFailed({ message: `--save-torrent: ${describePlatformError(cause, saveTorrent.value)}` }))
      )
    }
    return handle
  })

/**
 * Makes `path` and any missing parents, one level at a time. Not `recursive: true`: Node's recursive mkdir spins
 * forever under /proc (`-o /proc/x`), where ENOENT does not mean a parent is missing.
 */
export const makeFolder = (path: string): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.makeDirectory(path).pipe(
      Effect.catchIf((error) => error._tag === "SystemError" && error.reason === "AlreadyExists", () => Effect.void),
      Effect.catchIf(
        (error) => error._tag === "SystemError" && error.reason === "NotFound" && dirname(path) !== path,
        (error) =>
          fs.exists(dirname(path)).pipe(
            Effect.orElseSucceed(() => true),
            // The parent is there and the folder still cannot be made: that is the answer.
            Effect.flatMap((parentThere) =>
              parentThere ? Effect.fail(error) : Effect.zipRight(makeFolder(dirname(path)), fs.makeDirectory(path))
            )
          )
      )
    ))

/**
 * The download itself, once the command line is checked: progress while it runs, a summary at the end, or on
 * Ctrl-C one saying how far it got and how to go on; then seeding if asked.
 */
const run = (
  args: {
    readonly output: string
    readonly noTrackers: boolean
    readonly json: boolean
    readonly seed: boolean
    readonly seedRatio: Option.Option<number>
    readonly saveTorrent: Option.Option<string>
    readonly only: Option.Option<string>
    readonly exclude: Option.Option<string>
    readonly sequential: boolean
  },
  peers: ReadonlyArray<Endpoint>,
  seedTime: Option.Option<Duration.Duration>,
  magnet: MagnetLink | undefined,
  loaded: TorrentInfo | undefined
) =>
  Effect.gen(function*() {
    const session = yield* Session.Session
    yield* mapSessionPort(session)
    const started = yield* Clock.currentTimeMillis
    const directory = resolve(args.output)
    const addOptions = { directory: args.output, peers, trackers: !args.noTrackers, ...filesOption(args) }
    const mode = reportMode(args.json)
    const handle = loaded !== undefined
      ? yield* session.add(loaded, addOptions)
      : yield* fromMagnet(yield* session.addMagnet(magnet!, addOptions), mode, started, args.saveTorrent).pipe(
        Effect.onInterrupt(() =>
          mode === "json"
            ? Console.log(JSON.stringify({ event: "stopped", state: "metadata", directory }))
            : Console.log("stopped while fetching the torrent's metadata; run the same command to try again")
        )
      )
    const torrent = handle.torrent
    yield* joinLsd(handle, session)
    const elapsed = Effect.map(Clock.currentTimeMillis, (now) => (now - started) / 1000)

    let report = yield* reportProgress(handle, mode)
    const stopped = Effect.zipRight(report.stop, Effect.flatMap(elapsed, (seconds) => sayStopped(handle, mode, directory, seconds)))

    yield* Effect.gen(function*() {
      yield* handle.done
      yield* report.stop
      const final = yield* handle.progress
      const externalAddress = yield* session.externalAddresses
      const seconds = yield* elapsed
      yield* mode === "json"
        ? Console.log(JSON.stringify({
          event: "done",
          name: torrent.name,
          infoHash: torrent.infoHashHex,
          totalLength: final.totalLength,
          downloaded: final.downloaded,
          wasted: final.wasted,
          ...(final.hashes === undefined ? {} : { hashes: final.hashes }),
          ...(final.padRequests === undefined ? {} : { padRequests: final.padRequests }),
          externalAddress,
          directory,
          seconds
        }))
        : Console.log(summaryLine(torrent.name, final.wantedLength, final.downloaded, seconds, directory))
      if (!args.seed) return

      report = yield* reportProgress(handle, mode)
      const ratioReached = Option.match(args.seedRatio, {
        onNone: () => Effect.never,
        onSome: (ratio) =>
          handle.progress.pipe(
            Effect.repeat({ schedule: Schedule.spaced("1 second"), until: (p) => p.uploaded >= ratio * torrent.totalLength })
          )
      })
      const timeUp = Option.match(seedTime, { onNone: () => Effect.never, onSome: (duration) => Effect.sleep(duration) })
      yield* Effect.raceFirst(ratioReached, timeUp)
      yield* report.stop
      const seeded = yield* handle.progress
      yield* mode === "json"
        ? Console.log(JSON.stringify({ event: "seeded", uploaded: seeded.uploaded }))
        : Console.log(`${torrent.name}: seeded, uploaded ${formatBytes(seeded.uploaded)}`)
    }).pipe(Effect.onInterrupt(() => stopped))
  })

/**
 * What a download (or a stream) says when stopped by Ctrl-C: how far it got, how to go on and where the files are
 * (a seeder: what it uploaded), as a line or a JSON `stopped` event.
 */
export const sayStopped = (handle: Session.TorrentHandle, mode: ReportMode, directory: string, seconds: number) =>
  Effect.flatMap(handle.progress, (p) => {
    const name = handle.torrent.name
    return mode === "json"
      ? Console.log(JSON.stringify({
        event: "stopped",
        name,
        state: p.state,
        bytesVerified: p.bytesVerified,
        totalLength: p.totalLength,
        downloaded: p.downloaded,
        uploaded: p.uploaded,
        directory,
        seconds
      }))
      : Console.log(p.state === "seeding" ? seededLine(name, p, seconds) : stoppedLine(name, p, directory))
  })

/** `-o DIR`: the download folder (`download`, `stream`). */
export const outputOption = Options.directory("output").pipe(
  Options.withAlias("o"),
  Options.withDefault("."),
  Options.withDescription("the folder to download into (default: the current folder)")
)

/**
 * The torrent a command line names, checked before the session binds its ports: a magnet link parsed, or a
 * .torrent read (a missing one is reported as nothing else); and the download folder, made now (one that cannot be
 * is one line here, not a torrent that never starts).
 */
export const openSource = (
  args: { readonly torrent: string; readonly output: string; readonly noTrackers: boolean },
  peers: ReadonlyArray<Endpoint>
) =>
  Effect.gen(function*() {
    const metainfo = yield* Metainfo
    const magnet = isMagnet(args.torrent) ? yield* metainfo.parseMagnet(args.torrent) : undefined
    // Read before the session binds its ports: a missing .torrent is reported as nothing else.
    const loaded = magnet === undefined ? yield* metainfo.load(args.torrent) : undefined
    // Web seeds (BEP 19) are a source too: a torrent with some needs no peer.
    const webSeeds = (magnet?.webSeeds.length ?? 0) + (loaded?.urlList.length ?? 0)
    if (args.noTrackers && peers.length === 0 && (magnet?.peers.length ?? 0) === 0 && webSeeds === 0) {
      return yield* new UsageError({ message: "--no-trackers needs at least one --peer (or a torrent with web seeds)" })
    }
    yield* makeFolder(args.output).pipe(
      Effect.mapError((cause) =>
        new CommandFailed({
          message: describePlatformError(cause, args.output).replace(/^cannot write/, "cannot make the folder"),
          hint: "-o names the folder to download into"
        })
      )
    )
    return { loaded, magnet }
  })

export const download = Command.make(
  "download",
  {
    torrent: Args.text({ name: "torrent" }).pipe(
      Args.withDescription("the .torrent file or magnet link to download (quote a magnet link for the shell)")
    ),
    output: outputOption,
    ...swarmOptions,
    ...selectionOptions,
    saveTorrent: Options.file("save-torrent").pipe(
      Options.optional,
      Options.withDescription("for a magnet link: write the fetched metadata to this .torrent file")
    ),
    seed: Options.boolean("seed").pipe(
      Options.withDescription("keep seeding after the download completes (until --seed-ratio / --seed-time, or Ctrl-C)")
    ),
    seedRatio: Options.float("seed-ratio").pipe(
      Options.withPseudoName("RATIO"),
      Options.optional,
      Options.withDescription("with --seed: stop once uploaded / size reaches this ratio")
    ),
    seedTime: Options.text("seed-time").pipe(
      Options.withPseudoName("DURATION"),
      Options.optional,
      Options.withDescription("with --seed: stop after seeding this long (e.g. 90s, 30m, 2h)")
    )
  },
  (args) =>
    Effect.gen(function*() {
      const peers = yield* checkSwarmArgs(args)
      const seedTime = Option.map(args.seedTime, parseDuration)
      if (Option.isSome(seedTime) && seedTime.value === undefined) {
        return yield* new UsageError({ message: `--seed-time ${Option.getOrThrow(args.seedTime)}: expected a duration such as 90s, 30m or 2h` })
      }
      if (Option.isSome(args.seedRatio) && !(args.seedRatio.value > 0)) {
        return yield* new UsageError({ message: "--seed-ratio must be above 0" })
      }
      if (!args.seed && (Option.isSome(args.seedRatio) || Option.isSome(args.seedTime))) {
        return yield* new UsageError({ message: "--seed-ratio and --seed-time go with --seed" })
      }

      if (!isMagnet(args.torrent) && Option.isSome(args.saveTorrent)) {
        return yield* new UsageError({ message: "--save-torrent goes with a magnet link" })
      }
      const { loaded, magnet } = yield* openSource(args, peers)
      return yield* run(args, peers, Option.flatMap(seedTime, Option.fromNullable), magnet, loaded).pipe(
        Effect.scoped,
        Effect.provide(sessionLayerOf(args))
      )
    })
).pipe(Command.withDescription(
  "Download a torrent into a folder. From a .torrent file, or a magnet link whose metadata is fetched from " +
    "peers first; from the peers its trackers and the DHT return and any --peer given. Data already in the folder " +
    "is checked first and kept; exits 0 once every piece of the selected files (--only, --exclude, a magnet's so=; " +
    "default all) is verified on disk. Ctrl-C stops it; the same command " +
    "resumes."
))

export const downloadHelp: CommandHelp = {
  common: ["--output", "--peer", "--port", "--seed", "--json"],
  examples: [
    ["bt download ubuntu.torrent -o ~/Downloads"],
    ["bt download 'magnet:?xt=urn:btih:...' -o ~/Downloads", "quote a magnet link for the shell"],
    ["bt download album.torrent --peer 192.0.2.7:6881 --no-trackers", "from one known peer only"],
    ["bt download ubuntu.torrent --seed --seed-ratio 2", "then seed until twice its size is uploaded"]
  ]
}
