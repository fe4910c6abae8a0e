/**
 * `bt add | list | start | stop | verify | remove`: driving a daemon over Transmission's RPC, `bt daemon` or a
 * real `transmission-daemon` alike. Only classic-dialect names that Transmission 3.00 knows are used.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import { makeRemote, type Remote, rpcUrl } from "../../rpc/remote.js"
import { formatBytes } from "../format.js"
import { UsageError } from "../UsageError.js"
import type { CommandHelp, HelpExtras } from "../help.js"

const rpcOption = Options.text("rpc").pipe(
  Options.withDefault("http://127.0.0.1:9091"),
  Options.withDescription(
    "the daemon's RPC address, http://HOST:PORT[/PATH] or HOST:PORT (path /transmission/rpc); credentials " +
      "come from $BT_RPC_AUTH, USER:PASSWORD"
  )
)

/** `USER:PASSWORD` split at the first colon (the password may hold more). */
export const parseCredentials = (text: string) => {
  const colon = text.indexOf(":")
  return colon <= 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) }
}

/** `$BT_RPC_AUTH` when set and not empty. */
export const authFromEnv: Effect.Effect<Option.Option<string>> = Config.option(Config.string("BT_RPC_AUTH")).pipe(
  Effect.map(Option.filter((text) => text !== "")),
  Effect.orDie
)

/** The Remote for `--rpc` and `$BT_RPC_AUTH`, over Node's HTTP client. */
const withRemote = <A, E>(rpc: string, use: (remote: Remote) => Effect.Effect<A, E, FileSystem.FileSystem>) =>
  Effect.gen(function*() {
    const url = rpcUrl(rpc)
    if (url === undefined) return yield* new UsageError({ message: `--rpc ${rpc}: expected http://HOST:PORT` })
    const authText = yield* authFromEnv
    const auth = Option.map(authText, parseCredentials)
    if (Option.isSome(auth) && auth.value === undefined) {
      return yield* new UsageError({ message: "BT_RPC_AUTH: expected USER:PASSWORD" })
    }
    const remote = yield* makeRemote(url, Option.getOrUndefined(auth))
    return yield* use(remote)
  }).pipe(Effect.provide(NodeHttpClient.layer))

const HASH = /^[0-9a-f]{40}$/i

/** The `ids` argument for `<id|hash|all>...`: absent for `all`. */
export const idsOf = (refs: ReadonlyArray<string>): Effect.Effect<Record<string, unknown>, UsageError> => {
  if (refs.includes("all")) return Effect.succeed({})
  const ids: Array<number | string> = []
  for (const ref of refs) {
    if (/^\d+$/.test(ref)) ids.push(Number(ref))
    else if (HASH.test(ref)) ids.push(ref.toLowerCase())
    else return Effect.fail(new UsageError({ message: `${ref}: expected a torrent id, a 40-digit info-hash or all` }))
  }
  return Effect.succeed({ ids })
}

const torrentRefs = Args.text({ name: "id|hash|all" }).pipe(
  Args.atLeast(1),
  Args.withDescription("torrents by id (as `bt list` shows), by info-hash, or all")
)

const action = (name: string, method: string, done: string, description: string) =>
  Command.make(name, { rpc: rpcOption, torrents: torrentRefs }, ({ rpc, torrents }) =>
    withRemote(rpc, (remote) =>
      Effect.gen(function*() {
        const ids = yield* idsOf(torrents)
        yield* remote.call(method, ids)
        yield* Console.log(`${done} ${torrents.includes("all") ? "all torrents" : torrents.join(", ")}`)
      }))).pipe(Command.withDescription(description))

export const start = action("start", "torrent-start", "started", "Start torrents on a daemon (through its queue).")
export const stop = action("stop", "torrent-stop", "stopped", "Stop torrents on a daemon.")
/** `recheck`, since `bt verify` is taken by the check of a folder against a .torrent here. */
export const recheck = action(
  "recheck",
  "torrent-verify",
  "rechecking",
  "Recheck torrents' data on a daemon (bt verify checks a folder here)."
)

export const remove = Command.make(
  "remove",
  {
    rpc: rpcOption,
    delete: Options.boolean("delete").pipe(Options.withDescription("also delete the torrents' downloaded files")),
    torrents: torrentRefs
  },
  (args) =>
    withRemote(args.rpc, (remote) =>
      Effect.gen(function*() {
        const ids = yield* idsOf(args.torrents)
        yield* remote.call("torrent-remove", { ...ids, "delete-local-data": args.delete })
        const which = args.torrents.includes("all") ? "all torrents" : args.torrents.join(", ")
        yield* Console.log(`removed ${which}${args.delete ? " and deleted their data" : ""}`)
      }))
).pipe(Command.withDescription("Remove torrents from a daemon, keeping their data unless --delete."))

const LINK = /^(magnet:|https?:\/\/)/i

export const add = Command.make(
  "add",
  {
    rpc: rpcOption,
    paused: Options.boolean("paused").pipe(Options.withDescription("add it stopped")),
    downloadDir: Options.text("download-dir").pipe(
      Options.optional,
      Options.withDescription("where the daemon puts its data (a folder on the daemon's machine)")
    ),
    torrent: Args.text({ name: "torrent|magnet|URL" }).pipe(
      Args.withDescription("a .torrent file here (sent to the daemon), a magnet link, or an http(s) URL of a .torrent")
    )
  },
  (args) =>
    withRemote(args.rpc, (remote) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const source = LINK.test(args.torrent)
          ? { filename: args.torrent }
          : {
            metainfo: Encoding.encodeBase64(
              yield* fs.readFile(args.torrent).pipe(
                Effect.mapError((e) =>
                  new UsageError({
                    message: `${args.torrent}: ${e._tag === "SystemError" && e.reason === "NotFound" ? "no such file" : e.message}`
                  })
                )
              )
            )
          }
        const reply = yield* remote.call("torrent-add", {
          ...source,
          paused: args.paused,
          ...Option.match(args.downloadDir, { onNone: () => ({}), onSome: (dir) => ({ "download-dir": dir }) })
        })
        const added = reply["torrent-added"] as { id: number; name: string; hashString: string } | undefined
        const duplicate = reply["torrent-duplicate"] as typeof added
        const torrent = added ?? duplicate
        if (torrent === undefined) return yield* Console.log("added")
        yield* Console.log(
          `${added !== undefined ? "added" : "already there:"} #${torrent.id} ${torrent.name} (${torrent.hashString})`
        )
      }))
).pipe(Command.withDescription("Add a torrent to a daemon: a .torrent file, a magnet link or a URL."))

const LIST_FIELDS = [
  "id", "hashString", "name", "status", "percentDone", "sizeWhenDone", "rateDownload", "rateUpload", "eta",
  "uploadRatio", "peersConnected", "error", "errorString"
] as const

interface Row {
  readonly id: number
  readonly hashString: string
  readonly name: string
  readonly status: number
  readonly percentDone: number
  readonly sizeWhenDone: number
  readonly rateDownload: number
  readonly rateUpload: number
  readonly eta: number
  readonly uploadRatio: number
  readonly peersConnected: number
  readonly error: number
  readonly errorString: string
}

const STATUS = ["stopped", "check wait", "checking", "queued", "downloading", "seed wait", "seeding"]

const etaText = (eta: number): string =>
  eta < 0 ? "-" : eta < 60 ? `${eta}s` : eta < 3600 ? `${Math.round(eta / 60)}m` : eta < 86400 * 2
    ? `${(eta / 3600).toFixed(1)}h`
    : `${Math.round(eta / 86400)}d`

/** The table `bt list` prints: a header, a row a torrent, and under a row the reason it is stuck, if any. */
export const listTable = (rows: ReadonlyArray<Row>): string => {
  const cells = rows.map((t) => [
    String(t.id),
    `${Math.floor(t.percentDone * 1000) / 10}%`,
    formatBytes(t.sizeWhenDone),
    `${formatBytes(t.rateDownload)}/s`,
    `${formatBytes(t.rateUpload)}/s`,
    etaText(t.eta),
    t.uploadRatio < 0 ? "-" : t.uploadRatio.toFixed(2),
    String(t.peersConnected),
    STATUS[t.status] ?? String(t.status),
    t.name
  ])
  const header = ["ID", "Done", "Size", "Down", "Up", "ETA", "Ratio", "Peers", "Status", "Name"]
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)))
  const line = (row: ReadonlyArray<string>) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : i === 0 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
  return [
    line(header),
    ...rows.flatMap((t, i) => [line(cells[i]!), ...(t.errorString === "" ? [] : [`${" ".repeat(widths[0]! + 2)}! ${t.errorString}`])])
  ].join("\n")
}

export const list = Command.make(
  "list",
  {
    rpc: rpcOption,
    json: Options.boolean("json").pipe(Options.withDescription("print the torrents as a JSON array"))
  },
  (args) =>
    withRemote(args.rpc, (remote) =>
      Effect.gen(function*() {
        const reply = yield* remote.call("torrent-get", { fields: LIST_FIELDS })
        const rows = ((reply["torrents"] ?? []) as Array<Row>).slice().sort((a, b) => a.id - b.id)
        if (args.json) {
          const out = rows.map((t) => ({
            id: t.id,
            infoHash: t.hashString,
            name: t.name,
            status: STATUS[t.status] ?? String(t.status),
            percentDone: t.percentDone,
            sizeWhenDone: t.sizeWhenDone,
            rateDownload: t.rateDownload,
            rateUpload: t.rateUpload,
            eta: t.eta,
            uploadRatio: t.uploadRatio,
            peersConnected: t.peersConnected,
            error: t.errorString
          }))
          return yield* Console.log(JSON.stringify(out))
        }
        yield* Console.log(rows.length === 0 ? "no torrents" : listTable(rows))
      }))
).pipe(Command.withDescription("List a daemon's torrents: progress, size, rates, ETA, ratio, peers, state."))

/** Help extras of the commands that drive a daemon. */
export const remoteHelp: HelpExtras = {
  add: {
    examples: [
      ["bt add ubuntu.torrent"],
      ["bt add 'magnet:?xt=urn:btih:...' --paused", "quote a magnet link for the shell"],
      ["bt add https://example.com/ubuntu.torrent --rpc 192.0.2.7:9091", "a daemon on another machine"]
    ]
  } satisfies CommandHelp,
  list: { examples: [["bt list"], ["bt list --json --rpc 192.0.2.7:9091"]] },
  start: { examples: [["bt start 3"], ["bt start all"]] },
  stop: { examples: [["bt stop 3 5"], ["bt stop all"]] },
  recheck: { examples: [["bt recheck 3", "hash its data again"]] },
  remove: { examples: [["bt remove 3", "the data stays"], ["bt remove 3 --delete", "the data goes too"]] }
}
