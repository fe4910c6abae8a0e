import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { Metainfo, pieceSize, type TorrentInfo } from "../../metainfo/index.js"
import type { Bitfield } from "../../piece/index.js"
import { restorePieces } from "../../session/restore.js"
import { layer as storageLayer, segments, Storage } from "../../storage/index.js"
import { layerThreads } from "../../verifier/index.js"
import { formatBytes, formatCount } from "../format.js"
import { dataDirectory } from "../options.js"
import { UsageError } from "../UsageError.js"

/** Files holding pieces that are missing or bad, in torrent order, with how many such pieces touch each. */
const damagedFiles = (torrent: TorrentInfo, have: Bitfield): Array<{ readonly path: string; readonly pieces: number }> => {
  const counts = new Map<number, number>()
  for (let index = 0; index < torrent.pieceCount; index++) {
    if (have.has(index)) continue
    for (const segment of segments(torrent.files, index * torrent.pieceLength, pieceSize(torrent, index))) {
      counts.set(segment.fileIndex, (counts.get(segment.fileIndex) ?? 0) + 1)
    }
  }
  return [...counts].sort(([a], [b]) => a - b).map(([fileIndex, pieces]) => {
    const file = torrent.files[fileIndex]!
    return { path: (torrent.layout === "multi" ? [torrent.name, ...file.path] : file.path).join("/"), pieces }
  })
}

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
      const storage = yield* (yield* Storage).open(torrent, directory)
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
      })
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      if (tty) yield* Effect.sync(() => process.stderr.write("\r\x1b[K"))
      const damaged = damagedFiles(torrent, have)
      if (json) {
        yield* Console.log(JSON.stringify({
          event: "verified",
          infoHash: torrent.infoHashHex,
          goodPieces: have.count,
          pieceCount: torrent.pieceCount,
          seconds,
          damagedFiles: damaged
        }))
      } else {
        const rate = seconds > 0 ? `, ${formatBytes(torrent.totalLength / seconds)}/s` : ""
        yield* Console.log(
          `${torrent.name}: ${formatCount(have.count)} of ${formatCount(torrent.pieceCount)} pieces good (checked ${
            formatBytes(torrent.totalLength)
          } in ${seconds.toFixed(1)} s${rate})`
        )
        for (const file of damaged.slice(0, 20)) yield* Console.log(`  ${file.path}: ${file.pieces} piece(s) missing or bad`)
        if (damaged.length > 20) yield* Console.log(`  … and ${damaged.length - 20} more files`)
      }
      if (have.count < torrent.pieceCount) {
        return yield* new UsageError({
          message: `${torrent.pieceCount - have.count} of ${torrent.pieceCount} pieces missing or bad in ${directory}`
        })
      }
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.merge(storageLayer, layerThreads()))
    )
).pipe(Command.withDescription(
  "Hash the data in a folder against a torrent, on every core, and report which files are incomplete or damaged."
))
