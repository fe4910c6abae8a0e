import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as FileSystem from "@effect/platform/FileSystem"
import { isMagnet, Metainfo, torrentFileBytes } from "../../metainfo/index.js"
import * as Session from "../../session/index.js"
import { checkSwarmArgs, filesOption, selectionOptions, sessionLayerOf, swarmOptions } from "../options.js"
import { formatBytes } from "../format.js"
import { summaryLine } from "../progress.js"
import { parseDuration, reportMetadata, type ReportMode, reportMode, reportProgress } from "../report.js"
import { UsageError } from "../UsageError.js"

/**
 * Waits for a magnet link's metadata, showing how the fetch goes, then says how long it took and writes the
 * .torrent if asked to.
 */
const fromMagnet = (
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
        Effect.mapError((cause) => new UsageError({ message: `--save-torrent ${saveTorrent.value}: ${cause.message}` }))
      )
    }
    return handle
  })

export const download = Command.make(
  "download",
  {
    torrent: Args.text({ name: "torrent" }).pipe(
      Args.withDescription("the .torrent file or magnet link to download (quote a magnet link for the shell)")
    ),
    output: Options.directory("output").pipe(
      Options.withAlias("o"),
      Options.withDefault("."),
      Options.withDescription("the folder to download into (default: the current folder)")
    ),
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
      Options.optional,
      Options.withDescription("with --seed: stop once uploaded / size reaches this ratio")
    ),
    seedTime: Options.text("seed-time").pipe(
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

      const metainfo = yield* Metainfo
      const magnet = isMagnet(args.torrent) ? yield* metainfo.parseMagnet(args.torrent) : undefined
      if (magnet === undefined && Option.isSome(args.saveTorrent)) {
        return yield* new UsageError({ message: "--save-torrent goes with a magnet link" })
      }
      if (args.noTrackers && peers.length === 0 && (magnet?.peers.length ?? 0) === 0) {
        return yield* new UsageError({ message: "--no-trackers needs at least one --peer" })
      }
      const session = yield* Session.Session
      const started = yield* Clock.currentTimeMillis
      const addOptions = { directory: args.output, peers, trackers: !args.noTrackers, ...filesOption(args) }
      const mode = reportMode(args.json)
      const handle = magnet === undefined
        ? yield* session.add(yield* metainfo.load(args.torrent), addOptions)
        : yield* fromMagnet(yield* session.addMagnet(magnet, addOptions), mode, started, args.saveTorrent)
      const torrent = handle.torrent

      yield* reportProgress(handle, mode)
      yield* handle.done
      const final = yield* handle.progress
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      yield* mode === "json"
        ? Console.log(JSON.stringify({
          event: "done",
          name: torrent.name,
          infoHash: torrent.infoHashHex,
          totalLength: torrent.totalLength,
          downloaded: final.downloaded,
          wasted: final.wasted,
          seconds
        }))
        : Console.log(`${mode === "tty" ? "\r\x1b[K" : ""}${summaryLine(torrent.name, final.wantedLength, final.downloaded, seconds)}`)

      if (args.seed) {
        const ratioReached = Option.match(args.seedRatio, {
          onNone: () => Effect.never,
          onSome: (ratio) =>
            handle.progress.pipe(
              Effect.repeat({ schedule: Schedule.spaced("1 second"), until: (p) => p.uploaded >= ratio * torrent.totalLength })
            )
        })
        const timeUp = Option.match(Option.flatMap(seedTime, Option.fromNullable), {
          onNone: () => Effect.never,
          onSome: (duration) => Effect.sleep(duration)
        })
        yield* Effect.raceFirst(ratioReached, timeUp)
        const seeded = yield* handle.progress
        yield* mode === "json"
          ? Console.log(JSON.stringify({ event: "seeded", uploaded: seeded.uploaded }))
          : Console.log(`${mode === "tty" ? "\r\x1b[K" : ""}${torrent.name}: seeded, uploaded ${formatBytes(seeded.uploaded)}`)
      }
    }).pipe(
      Effect.scoped,
      Effect.provide(
        sessionLayerOf(args)
      )
    )
).pipe(Command.withDescription(
  "Download a torrent (a .torrent file, or a magnet link whose metadata is fetched from peers first) into a folder, " +
    "from its trackers' peers and any --peer given; exits 0 once every piece of the selected files (--only, " +
    "--exclude, a magnet's so=; default all) is verified on disk."
))

