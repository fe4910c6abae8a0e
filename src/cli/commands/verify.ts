import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { Metainfo } from "../../metainfo/index.js"
import { restorePieces } from "../../session/restore.js"
import { layer as storageLayer, Storage } from "../../storage/index.js"
import { layerThreads } from "../../verifier/index.js"
import { formatBytes, formatCount } from "../format.js"
import { fileReports, nothingFound, problemText, reportsSummary, requireFolder, withFolders } from "../dataCheck.js"
import { dataDirectory } from "../options.js"
import { CommandFailed } from "../UsageError.js"
import type { CommandHelp } from "../help.js"

export const verify = Command.make(
  "verify",
  {
    torrent: Args.text({ name: "file.torrent" }).pipe(Args.withDescription("the torrent to check the data against")),
    directory: dataDirectory,
    json: Options.boolean("json").pipe(Options.withDescription("print progress and the result as JSON lines"))
  },
  ({ directory, json, torrent: path }) =>
    Effect.gen(function*() {
      const torrent = yield* Effect.flatMap(Metainfo, (m) => m.load(path))
      yield* requireFolder(directory, torrent)
      // A check writes nothing: no folder, no empty file, no byte.
      const storage = yield* (yield* Storage).open(torrent, directory, { readOnly: true })
      const started = yield* Clock.currentTimeMillis
      let checked = 0
      const tty = !json && process.stderr.isTTY === true
      const show = Effect.suspend(() => {
        const share = `${((100 * checked) / torrent.pieceCount).toFixed(1)}%`
        return json
          ? Console.log(JSON.stringify({ event: "progress", checkedPieces: checked, pieceCount: torrent.pieceCount }))
          : tty
          ? Effect.sync(() => process.stderr.write(`\r\x1b[Kchecking ${share} (${checked}/${torrent.pieceCount} pieces)`))
          : Effect.void
      })
      yield* show.pipe(Effect.schedule(Schedule.spaced(json ? "1 second" : "250 millis")), Effect.forkScoped)
      const { have } = yield* restorePieces(torrent, storage, Option.none(), (n) => {
        checked = n
      }).pipe(Effect.onInterrupt(() =>
        Effect.suspend(() => {
          // Ctrl-C: how far the check got, and that it changed nothing.
          if (tty) process.stderr.write("\r\x1b[K")
          return json
            ? Console.log(JSON.stringify({ event: "stopped", checkedPieces: checked, pieceCount: torrent.pieceCount }))
            : Console.log(
              `${torrent.name}: stopped after checking ${formatCount(checked)} of ${formatCount(torrent.pieceCount)} ` +
                `pieces; nothing was written`
            )
        })
      ))
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      if (tty) yield* Effect.sync(() => process.stderr.write("\r\x1b[K"))
      const existing = yield* storage.existing
      const reports = yield* withFolders(directory, fileReports(torrent, existing, have))
      if (json) {
        yield* Console.log(JSON.stringify({
          event: "verified",
          infoHash: torrent.infoHashHex,
          goodPieces: have.count,
          pieceCount: torrent.pieceCount,
          seconds,
          damagedFiles: reports.map(({ path, problem }) => ({ path, ...problem }))
        }))
      } else {
        // What was there to read: a missing file or the part of one beyond its end is not "checked".
        const present = torrent.files.reduce(
          (sum, file, index) => sum + Math.min(existing[index]?.size ?? 0, file.padding ? 0 : file.length),
          0
        )
        const rate = seconds > 0 && present > 0 ? `, ${formatBytes(present / seconds)}/s` : ""
        yield* Console.log(
          `${torrent.name}: ${formatCount(have.count)} of ${formatCount(torrent.pieceCount)} pieces good (read ${
            formatBytes(present)
          } of ${formatBytes(torrent.totalLength)} in ${seconds.toFixed(1)} s${rate})`
        )
        for (const { path, problem } of reports.slice(0, 20)) yield* Console.log(`  ${path}: ${problemText(problem)}`)
        if (reports.length > 20) yield* Console.log(`  … and ${reports.length - 20} more files`)
      }
      if (nothingFound(existing)) {
        return yield* new CommandFailed({
          message: `none of ${torrent.name}'s files are in ${directory}`,
          hint: `is -d the folder that holds ${torrent.name}? try: bt verify ${path} -d FOLDER`
        })
      }
      if (have.count < torrent.pieceCount || reports.length > 0) {
        const bad = torrent.pieceCount - have.count
        return yield* new CommandFailed({
          message: `${torrent.name} does not match the torrent in ${directory}: ${
            [reportsSummary(reports), bad === 0 ? undefined : `${formatCount(bad)} of ${formatCount(torrent.pieceCount)} pieces missing or bad`]
              .filter((part) => part !== undefined && part !== "").join("; ")
          }`
        })
      }
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.merge(storageLayer, layerThreads()))
    )
).pipe(Command.withDescription(
  "Check the data in a folder against a torrent. Every piece is hashed, on every core; files missing, of the " +
    "wrong size or damaged are named. Writes nothing; exits 0 only when every file matches."
))

export const verifyHelp: CommandHelp = {
  examples: [["bt verify ubuntu.torrent -d ~/Downloads"], ["bt verify ubuntu.torrent -d ~/Downloads --json"]]
}
