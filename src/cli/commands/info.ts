import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Metainfo, type TorrentInfo, trackerTiers } from "../../metainfo/index.js"
import { formatBytes, formatCount, table } from "../format.js"

/** The `--json` shape of `bt info`: stable, documented in the README. */
export const infoJson = (torrent: TorrentInfo) => ({
  name: torrent.name,
  infoHash: torrent.infoHashHex,
  totalLength: torrent.totalLength,
  pieceLength: torrent.pieceLength,
  pieceCount: torrent.pieceCount,
  private: torrent.private,
  files: torrent.files.map((file) => ({
    path: file.path.join("/"),
    length: file.length,
    offset: file.offset,
    ...(file.padding ? { padding: true } : {})
  })),
  trackers: trackerTiers(torrent),
  urlList: torrent.urlList,
  comment: torrent.comment,
  createdBy: torrent.createdBy,
  creationDate: torrent.creationDate
})

export const infoText = (torrent: TorrentInfo): string => {
  const created = [
    torrent.creationDate === undefined ? undefined : new Date(torrent.creationDate * 1000).toISOString(),
    torrent.createdBy === undefined ? undefined : `by ${torrent.createdBy}`
  ].filter((part) => part !== undefined).join(" ")
  const summary = table([
    ["name", torrent.name],
    ["info-hash", torrent.infoHashHex],
    ["size", `${formatBytes(torrent.totalLength)} (${formatCount(torrent.totalLength)} bytes)`],
    ["pieces", `${formatCount(torrent.pieceCount)} × ${formatBytes(torrent.pieceLength)}`],
    ["private", torrent.private ? "yes" : "no"],
    ...(created === "" ? [] : [["created", created] as const]),
    ...(torrent.comment === undefined ? [] : [["comment", torrent.comment] as const])
  ])
  const tiers = trackerTiers(torrent)
  const trackers = tiers.length === 0
    ? "trackers: none"
    : `trackers:\n${table(tiers.flatMap((tier, i) => tier.map((url) => [`tier ${i + 1}`, url] as const)), "  ")}`
  const webSeeds = torrent.urlList.length === 0 ? [] : [`web seeds:\n${torrent.urlList.map((u) => `  ${u}`).join("\n")}`]
  const files = torrent.files.filter((file) => !file.padding)
  const fileList = `files (${formatCount(files.length)}):\n${
    table(files.map((file) => [formatBytes(file.length), file.path.join("/")] as const), "  ")
  }`
  return [summary, trackers, ...webSeeds, fileList].join("\n")
}

export const info = Command.make(
  "info",
  {
    torrent: Args.text({ name: "file.torrent" }).pipe(Args.withDescription("the .torrent file to describe")),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of text"))
  },
  ({ json, torrent }) =>
    Effect.gen(function*() {
      const metainfo = yield* Metainfo
      const parsed = yield* metainfo.load(torrent)
      yield* Console.log(json ? JSON.stringify(infoJson(parsed)) : infoText(parsed))
    })
).pipe(Command.withDescription("Show what a .torrent file holds: name, info-hash, size, pieces, trackers, files."))
