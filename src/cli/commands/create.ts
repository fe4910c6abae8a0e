import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { createTorrent, parseTorrent, pieceLengthProblem } from "../../metainfo/index.js"
import { parseWebSeedUrl } from "../../webseed/url.js"
import { formatBytes, formatCount, table } from "../format.js"
import { describePlatformError } from "../platformError.js"
import { CommandFailed, UsageError } from "../UsageError.js"
import type { CommandHelp } from "../help.js"

const TRACKER_SCHEMES = new Set(["http:", "https:", "udp:", "ws:", "wss:"])

/** `-t URL` is a tier of one; `-t "URL1,URL2"` a tier of two (as mktorrent's `-a`). */
export const parseTier = (value: string): Either.Either<Array<string>, string> => {
  const urls = value.split(",").map((url) => url.trim()).filter((url) => url.length > 0)
  if (urls.length === 0) return Either.left(`--tracker "${value}" holds no URL`)
  for (const url of urls) {
    let scheme: string | undefined
    try {
      scheme = new URL(url).protocol
    } catch {
      scheme = undefined
    }
    if (scheme === undefined || !TRACKER_SCHEMES.has(scheme)) {
      return Either.left(`--tracker "${url}" is not an http://, https:// or udp:// tracker URL`)
    }
  }
  return Either.right(urls)
}

/** `262144`, `256K`, `256KiB`, `1M`, `1MiB` → bytes; must be a power of two from 16 KiB to 256 MiB. */
export const parsePieceLength = (value: string): Either.Either<number, string> => {
  const match = /^\s*(\d+)\s*(k|kib|m|mib)?\s*$/i.exec(value)
  const unit = match?.[2]?.toLowerCase()
  const bytes = match?.[1] === undefined
    ? NaN
    : Number(match[1]) * (unit === undefined ? 1 : unit.startsWith("k") ? 1024 : 1024 * 1024)
  return pieceLengthProblem(bytes) === undefined
    ? Either.right(bytes)
    : Either.left(`--piece-length ${value.trim()} is not a power of two from 16 KiB to 256 MiB (bytes, or 256K, 1M ...)`)
}

const MiB = 1024 * 1024

/**
 * Hashing progress on stderr, only when it is a terminal and only once hashing has taken a second: one line,
 * rewritten at most five times a second. `clear` removes it.
 */
const makeProgress = Effect.gen(function*() {
  const started = yield* Clock.currentTimeMillis
  const tty = process.stderr.isTTY === true
  let shownAt = 0
  const onProgress = (hashed: number, total: number) =>
    tty
      ? Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          if (now - started < 1000 || now - shownAt < 200) return
          shownAt = now
          const percent = ((100 * hashed) / total).toFixed(1).padStart(5)
          const rate = hashed / MiB / ((now - started) / 1000)
          process.stderr.write(
            `\r\x1b[Khashing ${percent}%  ${formatBytes(hashed)} of ${formatBytes(total)}  ${rate.toFixed(1)} MiB/s`
          )
        }))
      : Effect.void
  const clear = Effect.sync(() => {
    if (shownAt > 0) process.stderr.write("\r\x1b[K")
  })
  return { onProgress, clear }
})

export const create = Command.make(
  "create",
  {
    path: Args.text({ name: "path" }).pipe(Args.withDescription("the file or folder to make a torrent of")),
    tracker: Options.text("tracker").pipe(
      Options.withAlias("t"),
      Options.withPseudoName("URL"),
      Options.repeated,
      Options.withDescription("a tracker URL; each -t is a tier of its own, -t \"URL1,URL2\" puts two in one tier")
    ),
    pieceLength: Options.text("piece-length").pipe(
      Options.withPseudoName("SIZE"),
      Options.optional,
      Options.withDescription("bytes, a power of two from 16 KiB (256K, 1M ...); default: about 1000-2000 pieces")
    ),
    webSeed: Options.text("web-seed").pipe(
      Options.withPseudoName("URL"),
      Options.repeated,
      Options.withDescription("an http(s) URL holding the file (or, ending in /, the folder) as a web seed (BEP 19)")
    ),
    private: Options.boolean("private").pipe(Options.withDescription("mark the torrent private (BEP 27)")),
    comment: Options.text("comment").pipe(Options.optional, Options.withDescription("a comment to put in the torrent")),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withPseudoName("FILE"),
      Options.optional,
      Options.withDescription("where to write the .torrent (default: NAME.torrent in the current folder)")
    ),
    v1: Options.boolean("v1").pipe(Options.withDescription("make a v1-only torrent (no v2 hashes, no padding files)")),
    v2: Options.boolean("v2").pipe(Options.withDescription("make a v2-only torrent (BEP 52)")),
    force: Options.boolean("force").pipe(Options.withDescription("overwrite the output file if it exists")),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of text"))
  },
  (args) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path

      const tiers: Array<Array<string>> = []
      for (const value of args.tracker) {
        const tier = parseTier(value)
        if (Either.isLeft(tier)) return yield* new UsageError({ message: tier.left })
        tiers.push(tier.right)
      }
      for (const url of args.webSeed) {
        const parsed = parseWebSeedUrl(url)
        if (typeof parsed === "string") return yield* new UsageError({ message: `--web-seed "${url}" ${parsed}` })
      }
      let pieceLength: number | undefined
      if (Option.isSome(args.pieceLength)) {
        const parsed = parsePieceLength(args.pieceLength.value)
        if (Either.isLeft(parsed)) return yield* new UsageError({ message: parsed.left })
        pieceLength = parsed.right
      }

      if (args.v1 && args.v2) {
        return yield* new UsageError({ message: "--v1 and --v2 together make a hybrid, the default: give one or neither" })
      }
      const kind = args.v1 ? "v1" : args.v2 ? "v2" : "hybrid"

      const root = path.resolve(args.path)
      const output = path.resolve(Option.getOrElse(args.output, () => `${path.basename(root)}.torrent`))
      if (!args.force && (yield* fs.exists(output).pipe(Effect.orElseSucceed(() => false)))) {
        return yield* new UsageError({ message: `${output} already exists; use --force to overwrite it` })
      }
      const rootIsFolder = yield* fs.stat(root).pipe(
        Effect.map((info) => info.type === "Directory"),
        Effect.orElseSucceed(() => false) // createTorrent reports a missing path
      )
      const inside = path.relative(root, output)
      if (rootIsFolder && !inside.startsWith("..") && !path.isAbsolute(inside)) {
        return yield* new UsageError({
          message: `${output} would be inside the folder being shared; write it elsewhere with -o`
        })
      }

      const progress = yield* makeProgress
      const bytes = yield* createTorrent({
        path: args.path,
        trackers: tiers,
        webSeeds: args.webSeed,
        kind,
        private: args.private,
        onProgress: progress.onProgress,
        ...(pieceLength === undefined ? {} : { pieceLength }),
        ...(Option.isSome(args.comment) ? { comment: args.comment.value } : {})
      }).pipe(
        Effect.ensuring(progress.clear),
        Effect.onInterrupt(() => Console.log(`stopped while hashing ${args.path}; ${output} was not written`))
      )
      const torrent = Either.getOrThrow(parseTorrent(bytes)) // createTorrent has parsed it already

      yield* fs.writeFile(output, bytes, { flag: args.force ? "w" : "wx" }).pipe(
        Effect.mapError((error) =>
          error._tag === "SystemError" && error.reason === "AlreadyExists"
            ? new UsageError({ message: `${output} already exists; use --force to overwrite it` })
            : new CommandFailed({ message: describePlatformError(error, output) })
        )
      )

      const dataFiles = torrent.files.filter((file) => !file.padding)
      const dataLength = dataFiles.reduce((sum, file) => sum + file.length, 0)
      yield* Console.log(
        args.json
          ? JSON.stringify({
            infoHash: torrent.infoHashHex,
            ...(torrent.v2 === undefined ? {} : { infoHashV2: torrent.v2.infoHashHex }),
            version: kind,
            output,
            name: torrent.name,
            totalLength: torrent.totalLength,
            pieceLength: torrent.pieceLength,
            pieceCount: torrent.pieceCount
          })
          : table([
            ["name", torrent.name],
            ...(kind === "v2" ? [] : [[kind === "hybrid" ? "info-hash v1" : "info-hash", torrent.infoHashHex] as const]),
            ...(torrent.v2 === undefined ? [] : [["info-hash v2", torrent.v2.infoHashHex] as const]),
            ["version", kind === "hybrid" ? "hybrid (v1 + v2)" : `${kind} only`],
            ["size", `${formatBytes(dataLength)} in ${formatCount(dataFiles.length)} file${dataFiles.length === 1 ? "" : "s"}`],
            ["pieces", `${formatCount(torrent.pieceCount)} × ${formatBytes(torrent.pieceLength)}`],
            ["output", output]
          ])
      )
    })
).pipe(Command.withDescription(
  "Make a .torrent of a file or folder: hashes the data and writes NAME.torrent, then prints its info-hashes. " +
    "Hybrid v1+v2 by default (BEP 52, padding files aligning each file to a piece, as libtorrent makes); " +
    "--v1 or --v2 for one kind only."
))

export const createHelp: CommandHelp = {
  common: ["--tracker", "--output", "--private"],
  examples: [
    ["bt create ./photos -t udp://tracker.example:6969/announce", "writes photos.torrent here"],
    ["bt create big.iso -o /tmp/big.torrent --piece-length 4M"]
  ]
}
