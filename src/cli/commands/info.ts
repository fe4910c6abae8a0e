import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import {
  type FileRange,
  formatEndpoint,
  isMagnet,
  type MagnetLink,
  Metainfo,
  type TorrentInfo,
  torrentVersion,
  trackerTiers,
  type TrackerTier
} from "../../metainfo/index.js"
import { formatBytes, formatCount, table } from "../format.js"
import type { CommandHelp } from "../help.js"

/** The `--json` shape of `bt info`: stable, documented in the README. */
export const infoJson = (torrent: TorrentInfo) => ({
  name: torrent.name,
  infoHash: torrent.infoHashHex,
  ...(torrent.v2 === undefined ? {} : { infoHashV2: torrent.v2.infoHashHex }),
  metaVersion: torrent.v2 === undefined ? 1 : 2,
  version: torrentVersion(torrent),
  totalLength: torrent.totalLength,
  pieceLength: torrent.pieceLength,
  pieceCount: torrent.pieceCount,
  private: torrent.private,
  files: torrent.files.map((file, index) => ({
    index,
    path: file.path.join("/"),
    length: file.length,
    offset: file.offset,
    ...(file.padding ? { padding: true } : {}),
    ...(file.piecesRoot === undefined ? {} : { piecesRoot: Buffer.from(file.piecesRoot).toString("hex") }),
    ...(torrent.v2?.pieceLayers[index] === undefined
      ? {}
      : { pieceLayer: Buffer.from(torrent.v2.pieceLayers[index]!).toString("hex") })
  })),
  trackers: trackerTiers(torrent),
  urlList: torrent.urlList,
  comment: torrent.comment,
  createdBy: torrent.createdBy,
  creationDate: torrent.creationDate
})

const trackersText = (tiers: ReadonlyArray<TrackerTier>): string =>
  tiers.length === 0
    ? "trackers: none"
    : `trackers:\n${table(tiers.flatMap((tier, i) => tier.map((url) => [`tier ${i + 1}`, url] as const)), "  ")}`

/** A titled, indented list; nothing when the list is empty. */
const listText = (title: string, items: ReadonlyArray<string>): Array<string> =>
  items.length === 0 ? [] : [`${title}:\n${items.map((item) => `  ${item}`).join("\n")}`]

/** The info-hash lines: v1; v2 (and the truncated form the wire uses) for a v2-only torrent; both for a hybrid. */
const hashRows = (torrent: TorrentInfo): Array<readonly [string, string]> => {
  const version = torrentVersion(torrent)
  if (torrent.v2 === undefined) return [["info-hash", torrent.infoHashHex], ["version", "v1"]]
  return [
    ...(version === "hybrid" ? [["info-hash v1", torrent.infoHashHex] as const] : []),
    ["info-hash v2", torrent.v2.infoHashHex],
    ...(version === "v2" ? [["wire hash", `${torrent.infoHashHex} (v2 truncated to 20 bytes)`] as const] : []),
    ["version", version === "hybrid" ? "hybrid (v1 + v2)" : "v2 only"]
  ]
}

export const infoText = (torrent: TorrentInfo): string => {
  const created = [
    torrent.creationDate === undefined ? undefined : new Date(torrent.creationDate * 1000).toISOString(),
    torrent.createdBy === undefined ? undefined : `by ${torrent.createdBy}`
  ].filter((part) => part !== undefined).join(" ")
  const summary = table([
    ["name", torrent.name],
    ...hashRows(torrent),
    ["size", `${formatBytes(torrent.totalLength)} (${formatCount(torrent.totalLength)} bytes)`],
    ["pieces", `${formatCount(torrent.pieceCount)} × ${formatBytes(torrent.pieceLength)}`],
    ["private", torrent.private ? "yes" : "no"],
    ...(created === "" ? [] : [["created", created] as const]),
    ...(torrent.comment === undefined ? [] : [["comment", torrent.comment] as const])
  ])
  // Numbered by their place in the file list (padding files count but are not shown): --only and so= use these.
  const files = torrent.files.flatMap((file, index) => file.padding ? [] : [{ file, index }])
  const width = String(torrent.files.length - 1).length
  const fileList = `files (${formatCount(files.length)}):\n${
    table(files.map(({ file, index }) => [`${index}`.padStart(width), `${formatBytes(file.length).padStart(9)}  ${file.path.join("/")}`] as const), "  ")
  }`
  return [summary, trackersText(trackerTiers(torrent)), ...listText("web seeds", torrent.urlList), fileList].join("\n")
}

const rangeText = ({ from, to }: FileRange): string => (from === to ? `${from}` : `${from}-${to}`)

/** The `--json` shape of `bt info MAGNET`: stable, documented in the README. */
export const magnetJson = (magnet: MagnetLink) => ({
  infoHash: magnet.infoHashHex,
  ...(magnet.infoHashV2 === undefined ? {} : { infoHashV2: Buffer.from(magnet.infoHashV2).toString("hex") }),
  name: magnet.name,
  trackers: magnet.trackers,
  peers: magnet.peers.map(formatEndpoint),
  webSeeds: magnet.webSeeds,
  selectOnly: magnet.selectOnly
})

export const magnetText = (magnet: MagnetLink): string => {
  const summary = table([
    ["name", magnet.name ?? "(none given)"],
    ["info-hash", magnet.infoHashHex],
    ...(magnet.infoHashV2 === undefined ? [] : [["info-hash v2", Buffer.from(magnet.infoHashV2).toString("hex")] as const]),
    ...(magnet.selectOnly === undefined ? [] : [["only files", magnet.selectOnly.map(rangeText).join(", ")] as const])
  ])
  return [
    summary,
    trackersText(magnet.trackers),
    ...listText("peers", magnet.peers.map(formatEndpoint)),
    ...listText("web seeds", magnet.webSeeds)
  ].join("\n")
}

export const info = Command.make(
  "info",
  {
    torrent: Args.text({ name: "torrent" }).pipe(
      Args.withDescription("the .torrent file or magnet link to describe (quote a magnet link for the shell)")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of text"))
  },
  ({ json, torrent }) =>
    Effect.gen(function*() {
      const metainfo = yield* Metainfo
      if (isMagnet(torrent)) {
        const magnet = yield* metainfo.parseMagnet(torrent)
        return yield* Console.log(json ? JSON.stringify(magnetJson(magnet)) : magnetText(magnet))
      }
      const parsed = yield* metainfo.load(torrent)
      yield* Console.log(json ? JSON.stringify(infoJson(parsed)) : infoText(parsed))
    })
).pipe(
  Command.withDescription(
    "Show what a torrent or magnet link holds. For a .torrent file: name, info-hash, size, pieces, trackers, files. " +
      "For a magnet link, what the link holds: info-hash, name, trackers, peers, web seeds and selected files " +
      "(the rest comes from peers)."
  )
)

export const infoHelp: CommandHelp = {
  examples: [
    ["bt info ubuntu.torrent"],
    ["bt info ubuntu.torrent --json", "the same as one JSON object"],
    ["bt info 'magnet:?xt=urn:btih:...&dn=...'", "what a magnet link holds (quote it for the shell)"]
  ]
}
