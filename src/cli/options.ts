import * as Options from "@effect/cli/Options"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { isIP } from "node:net"
import type { Endpoint } from "../net/Datagram.js"
import type { AddOptions, Session, SessionConfig } from "../session/index.js"
import { defaultSessionConfig } from "../session/SessionConfig.js"
import { selectFiles } from "../session/selection.js"
import { parseEndpoint } from "../net/endpoint.js"
import type * as Scope from "effect/Scope"
import { Lsd } from "../net/lsd/Lsd.js"
import { PortMapper } from "../net/portmap/PortMapper.js"
import type { TorrentInfo } from "../metainfo/index.js"
import { type DhtOptions, nodeLsdLayer, nodePortMapperLayer, nodeSessionLayer, type TransportMode } from "./layers.js"
import { parseRate } from "./rate.js"
import { UsageError } from "./UsageError.js"

/** `-d DIR`: where a torrent's data is (`seed`, `verify`). */
export const dataDirectory = Options.directory("directory").pipe(
  Options.withAlias("d"),
  Options.withDefault("."),
  Options.withDescription("the folder holding the torrent's data (default: the current folder)")
)

/** Options shared by the commands that run a torrent (`download`, `seed`). */
export const swarmOptions = {
  peer: Options.text("peer").pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.repeated,
    Options.withDescription("a peer to connect to, HOST:PORT or [IPV6]:PORT (repeatable)")
  ),
  port: Options.integer("port").pipe(
    Options.withDefault(6881),
    Options.withDescription("the TCP port to accept peers on (the next free one of the ten after it if taken; 0: any)")
  ),
  bind: Options.text("bind").pipe(
    Options.withPseudoName("ADDR"),
    Options.repeated,
    Options.withDescription("an address to listen on, IPv4 or IPv6 (repeatable; default: every interface of both)")
  ),
  encryption: Options.choice("encryption", ["prefer", "require", "disable"]).pipe(
    Options.withDefault("prefer" as const),
    Options.withDescription(
      "MSE/PE with peers: prefer (dial encrypted, fall back to plaintext for peers without it; accept both), " +
        "require (RC4 only, both ways) or disable (plaintext only)"
    )
  ),
  transport: Options.choice("transport", ["both", "tcp", "utp"]).pipe(
    Options.withDefault("both" as const),
    Options.withDescription(
      "how peers are reached: both (TCP first, uTP if TCP is refused or slow; accept both), tcp or utp only. uTP (BEP 29) shares " +
        "the UDP port with the DHT, on the TCP port's number"
    )
  ),
  maxPeers: Options.integer("max-peers").pipe(
    Options.withDefault(50),
    Options.withDescription("the most peers to be connected to at once")
  ),
  noTrackers: Options.boolean("no-trackers").pipe(
    Options.withDescription("do not ask the torrent's trackers for peers (use --peer)")
  ),
  noDht: Options.boolean("no-dht").pipe(
    Options.withDescription("run no DHT node: find peers through trackers, PEX and --peer only")
  ),
  noPortMapping: Options.boolean("no-port-mapping").pipe(
    Options.withDescription(
      "do not open the port on the router (by default bt asks the gateway through PCP, NAT-PMP or UPnP IGD)"
    )
  ),
  noLsd: Options.boolean("no-lsd").pipe(
    Options.withDescription("do not announce torrents to the local network or look for peers there (BEP 14)")
  ),
  dhtBootstrap: Options.text("dht-bootstrap").pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.repeated,
    Options.withDescription(
      "a DHT node to join through, HOST:PORT (repeatable; default: the nodes saved last time and the public routers)"
    )
  ),
  stateDir: Options.directory("state-dir").pipe(
    Options.optional,
    Options.withDescription(
      "where resume files are kept (default: $BT_STATE_DIR, $XDG_STATE_HOME/bt or ~/.local/state/bt)"
    )
  ),
  downloadLimit: Options.text("download-limit").pipe(
    Options.optional,
    Options.withDescription("the most bytes per second to download, e.g. 500K or 4M (K = 1024 bytes; default: no limit)")
  ),
  uploadLimit: Options.text("upload-limit").pipe(
    Options.optional,
    Options.withDescription("the most bytes per second to upload, e.g. 500K or 4M (K = 1024 bytes; default: no limit)")
  ),
  json: Options.boolean("json").pipe(Options.withDescription("print progress and the result as JSON lines"))
}

export { parseRate }

const rateOption = (value: Option.Option<string>): number =>
  Option.match(value, { onNone: () => Number.POSITIVE_INFINITY, onSome: (text) => parseRate(text) ?? Number.POSITIVE_INFINITY })

export interface SwarmArgs {
  readonly peer: ReadonlyArray<string>
  readonly noDht: boolean
  readonly dhtBootstrap: ReadonlyArray<string>
  /** `--no-port-mapping`; absent: port mapping on. */
  readonly noPortMapping?: boolean
  /** `--no-lsd`; absent: Local Service Discovery on. */
  readonly noLsd?: boolean
  readonly bind: ReadonlyArray<string>
  readonly encryption: "prefer" | "require" | "disable"
  readonly transport: TransportMode
  readonly port: number
  readonly maxPeers: number
  readonly downloadLimit: Option.Option<string>
  readonly uploadLimit: Option.Option<string>
}

/**
 * The Session on Node the shared options ask for: its settings, state folder, DHT node and transports; with the
 * PortMapper (off with `--no-port-mapping`) and LSD (off with `--no-lsd`).
 */
export const sessionLayerOf = (args: SwarmArgs & { readonly stateDir: Option.Option<string> }) =>
  Layer.unwrapEffect(
    Effect.map(dhtOptionsOf(args), (dht) => nodeSessionLayer(sessionConfigOf(args), args.stateDir, dht, args.transport))
  ).pipe(Layer.merge(nodePortMapperLayer(args.noPortMapping !== true)), Layer.merge(nodeLsdLayer(args.noLsd !== true)))

/**
 * Announces a torrent on the local network and adds the peers found there (BEP 14), until the scope closes; not for
 * a private torrent (BEP 27), and a no-op when LSD is off.
 */
export const joinLsd = (
  handle: { readonly torrent: TorrentInfo; readonly addPeers: (peers: ReadonlyArray<Endpoint>) => Effect.Effect<void> },
  session: { readonly port: number }
): Effect.Effect<void, never, Lsd | Scope.Scope> =>
  handle.torrent.private ? Effect.void : Effect.flatMap(Lsd, (lsd) => lsd.add(handle.torrent.infoHash, session.port, handle.addPeers))

/** How often the session reads the external address port mapping learned from the gateway (a Ref read). */
const GATEWAY_ADDRESS_POLL = Schedule.spaced(Duration.seconds(10))

/**
 * Opens the session's port on the router, in the background, until the scope closes (a no-op when mapping is off),
 * and tells the session the external address the gateway gives (its own addresses: never dialled as peers).
 */
export const mapSessionPort = (
  session: Pick<Session["Type"], "port" | "learnExternal">
): Effect.Effect<void, never, PortMapper | Scope.Scope> =>
  Effect.flatMap(PortMapper, (mapper) =>
    Effect.zipRight(
      mapper.map(session.port),
      mapper.status.pipe(
        Effect.flatMap((status) =>
          status.externalAddress === undefined ? Effect.void : session.learnExternal({ gateway: true }, status.externalAddress)
        ),
        Effect.repeat(GATEWAY_ADDRESS_POLL),
        Effect.forkScoped,
        Effect.asVoid
      )
    ))

/**
 * The session settings the shared options give. These commands run one torrent, so `--max-peers` above the session's
 * cap on connections (200) raises that cap too: `--max-peers 500` was held at 200 connections.
 */
export const sessionConfigOf = (args: SwarmArgs): Partial<SessionConfig> => ({
  port: args.port,
  maxPeers: args.maxPeers,
  ...(args.maxPeers > defaultSessionConfig.maxConnections ? { maxConnections: args.maxPeers } : {}),
  encryption: args.encryption,
  downloadLimit: rateOption(args.downloadLimit),
  uploadLimit: rateOption(args.uploadLimit),
  ...(args.bind.length > 0 ? { listenHosts: args.bind } : {})
})

/** `HOST:PORT` values of a repeatable option, parsed, or the first bad one as a usage error. */
const endpointsOf = (option: string, texts: ReadonlyArray<string>): Effect.Effect<Array<Endpoint>, UsageError> =>
  Effect.forEach(texts, (text) => {
    const parsed = parseEndpoint(text)
    return typeof parsed === "string"
      ? Effect.fail(new UsageError({ message: `${option} ${text} ${parsed}` }))
      : Effect.succeed(parsed)
  })

/** The DHT node the options ask for: none with `--no-dht`, else with its bootstrap nodes. */
export const dhtOptionsOf = (
  args: Pick<SwarmArgs, "noDht" | "dhtBootstrap">
): Effect.Effect<Option.Option<DhtOptions>, UsageError> =>
  args.noDht
    ? args.dhtBootstrap.length > 0
      ? Effect.fail(new UsageError({ message: "--dht-bootstrap goes without --no-dht" }))
      : Effect.succeedNone
    : Effect.map(endpointsOf("--dht-bootstrap", args.dhtBootstrap), (bootstrap) => Option.some({ bootstrap }))

/** Checks the shared options, returning the parsed peer addresses. */
export const checkSwarmArgs = (args: SwarmArgs): Effect.Effect<ReadonlyArray<Endpoint>, UsageError> =>
  Effect.gen(function*() {
    const peers = yield* endpointsOf("--peer", args.peer)
    if (args.port < 0 || args.port > 65535) {
      return yield* new UsageError({ message: `--port ${args.port} is not a TCP port (0-65535)` })
    }
    if (args.maxPeers < 1) return yield* new UsageError({ message: "--max-peers must be at least 1" })
    for (const [option, value] of [["--download-limit", args.downloadLimit], ["--upload-limit", args.uploadLimit]] as const) {
      if (Option.isSome(value) && parseRate(value.value) === undefined) {
        return yield* new UsageError({ message: `${option} ${value.value}: expected bytes per second, such as 500K or 4M` })
      }
    }
    const badBind = args.bind.find((host) => isIP(host) === 0)
    if (badBind !== undefined) {
      return yield* new UsageError({ message: `--bind ${badBind}: expected an IPv4 or IPv6 address` })
    }
    return peers
  })

/** `--only` and `--exclude`: which files of the torrent to fetch (see `Session.selectFiles`). */
export const selectionOptions = {
  only: Options.text("only").pipe(
    Options.optional,
    Options.withDescription(
      "fetch only these files: 0-based indices and ranges as bt info numbers them (0,2-4), or a glob over the " +
        "file's path ('*.mkv'); the others are not created"
    )
  ),
  exclude: Options.text("exclude").pipe(
    Options.optional,
    Options.withDescription("skip these files (indices, ranges or a glob, as --only)")
  ),
  sequential: Options.boolean("sequential").pipe(
    Options.withDescription("fetch pieces in order rather than rarest first (to play a file while it downloads)")
  )
}

/** The `files` add option for `--only`/`--exclude`, applied once the torrent is known (a magnet's after its metadata). */
export const filesOption = (args: {
  readonly only: Option.Option<string>
  readonly exclude: Option.Option<string>
  readonly sequential: boolean
}): Pick<AddOptions, "files" | "sequential"> => ({
  ...(args.sequential ? { sequential: true } : {}),
  ...(Option.isNone(args.only) && Option.isNone(args.exclude) ? {} : {
    files: (torrent, base) =>
      selectFiles(torrent, base, Option.getOrUndefined(args.only), Option.getOrUndefined(args.exclude))
  })
})
