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
    private: Options.boolean("private").pipe(Options.withDescription("mark the torrent private (BEP 27)")),
    comment: Options.text("comment").pipe(Options.optional, Options.withDescription("a comment to put in the torrent")),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withPseudoName("FILE"),
      Options.optional,
      Options.withDescription("where to write the .torrent (default: NAME.torrent in the current folder)")
    ),
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
      let pieceLength: number | undefined
      if (Option.isSome(args.pieceLength)) {
        const parsed = parsePieceLength(args.pieceLength.value)
        if (Either.isLeft(parsed)) return yield* new UsageError({ message: parsed.left })
        pieceLength = parsed.right
      }

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
        private: args.private,
        onProgress: progress.onProgress,
        ...(pieceLength === undefined ? {} : { pieceLength }),
        ...(Option.isSome(args.comment) ? { comment: args.comment.value } : {})
      }).pipe(Effect.ensuring(progress.clear))
      const torrent = Either.getOrThrow(parseTorrent(bytes)) // createTorrent has parsed it already

      yield* fs.writeFile(output, bytes, { flag: args.force ? "w" : "wx" }).pipe(
        Effect.mapError((error) =>
          error._tag === "SystemError" && error.reason === "AlreadyExists"
            ? new UsageError({ message: `${output} already exists; use --force to overwrite it` })
            : new CommandFailed({ message: describePlatformError(error, output) })
        )
      )

      yield* Console.log(
        args.json
          ? JSON.stringify({
            infoHash: torrent.infoHashHex,
            output,
            name: torrent.name,
            totalLength: torrent.totalLength,
            pieceLength: torrent.pieceLength,
            pieceCount: torrent.pieceCount
          })
          : table([
            ["name", torrent.name],
            ["info-hash", torrent.infoHashHex],
            ["size", `${formatBytes(torrent.totalLength)} in ${formatCount(torrent.files.length)} file${torrent.files.length === 1 ? "" : "s"}`],
            ["pieces", `${formatCount(torrent.pieceCount)} × ${formatBytes(torrent.pieceLength)}`],
            ["output", output]
          ])
      )
    })
).pipe(Command.withDescription(
  "Make a .torrent of a file or folder. Hashes the data, writes NAME.torrent (v1), and prints its info-hash."
))

export const createHelp: CommandHelp = {
  common: ["--tracker", "--output", "--private"],
  examples: [
    ["bt create ./photos -t udp://tracker.example:6969/announce", "writes photos.torrent here"],
    ["bt create big.iso -o /tmp/big.torrent --piece-length 4M"]
  ]
}
