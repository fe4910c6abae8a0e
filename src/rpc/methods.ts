/**
 * The RPC's method table over the Client: each method decodes its arguments with a Schema, calls the Client, and
 * answers in snake_case (spelled the classic way, if asked, by the envelope). What the Client cannot do (the free
 * space of a folder, shutting the daemon down) comes from whoever mounts the RPC, through `RpcEnvironment`.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Schema from "effect/Schema"
import {
  AddSource,
  type Client,
  type ClientError,
  type QueueMove,
  type SessionSettings,
  type TransferTotals
} from "../client/Client.js"
import * as Args from "./args.js"
import { type Call, describeParseError } from "./envelope.js"
import type { Dispatch } from "./http.js"
import { RpcError } from "./RpcError.js"
import { detailFor, knownFields, SPEED_UNIT, torrentObject, torrentRow } from "./torrentFields.js"

/** What the RPC needs besides the Client. */

export interface RpcEnvironment {
  /** bt's version, reported as `version`. */
  readonly version: string
  readonly sessionId: string
  /** The state folder, reported as `config-dir`. */
  readonly configDir: string
  /** Free and total bytes of the file system holding `path`. */
  readonly freeSpace: (path: string) => Effect.Effect<{ readonly free: number; readonly total: number }, RpcError>
  /** Asks the daemon to shut down once the reply is sent. */
  readonly close: Effect.Effect<void>
  /** What is known of whether peers can reach us (`session-get`, `port-test`); none: nothing is known. */
  readonly reachability?: Effect.Effect<Reachability>
}

/** A port the router forwards to us. */
export interface ForwardedPort {
  readonly protocol: "tcp" | "udp"
  readonly internalPort: number
  readonly externalPort: number
  /** Seconds granted; 0 for permanent. */
  readonly lifetime: number
}

/** What the daemon knows of its reachability: port mapping and LSD switched on, what the router granted, who came in. */
export interface Reachability {
  readonly portMapping: boolean
  readonly lsd: boolean
  /** The port mapping's state: off, searching, mapped, or unavailable (no gateway mapped our port). */
  readonly mapping: {
    readonly state: "off" | "searching" | "mapped" | "unavailable"
    readonly method?: string
    readonly externalAddress?: string
    readonly ports: ReadonlyArray<ForwardedPort>
    readonly error?: string
  }
  /** Incoming peer connections accepted since the start. */
  readonly acceptedPeers: number
  /** What port mapping threw away (answers not from the gateway, misdirected or unreadable SSDP, oversized bodies). */
  readonly mappingRejected?: MappingRejects
  /** Our own addresses as the swarm, the DHT and the gateway tell them (`Session.externalAddresses`). */
  readonly externalAddresses?: ExternalAddresses
}

/** Our public address per family with where it came from (gateway, dht, peers), and local addresses peers see. */
export interface ExternalAddresses {
  readonly ipv4?: { readonly address: string; readonly source: string }
  readonly ipv6?: { readonly address: string; readonly source: string }
  readonly local: ReadonlyArray<string>
}

/** Port mapping's counts of what it ignored (`PortMapper.rejected`). */
export interface MappingRejects {
  readonly notFromGateway: number
  readonly ssdpMisdirected: number
  readonly ssdpMalformed: number
  readonly oversized: number
}

const NOTHING_KNOWN: Reachability = {
  portMapping: false,
  lsd: false,
  mapping: { state: "off", ports: [] },
  acceptedPeers: 0
}

/** bt's extra `session-get` key: the port mapping as the router granted it. */
const portMappingArguments = (r: Reachability) => ({
  state: r.mapping.state,
  ...(r.mapping.method === undefined ? {} : { method: r.mapping.method }),
  ...(r.mapping.externalAddress === undefined ? {} : { external_address: r.mapping.externalAddress }),
  ports: r.mapping.ports.map((p) => ({
    protocol: p.protocol,
    internal_port: p.internalPort,
    external_port: p.externalPort,
    lifetime: p.lifetime
  })),
  ...(r.mapping.error === undefined ? {} : { error: r.mapping.error }),
  ...(r.mappingRejected === undefined ? {} : {
    rejected: {
      not_from_gateway: r.mappingRejected.notFromGateway,
      ssdp_misdirected: r.mappingRejected.ssdpMisdirected,
      ssdp_malformed: r.mappingRejected.ssdpMalformed,
      oversized: r.mappingRejected.oversized
    }
  })
})

/**
 * `port-test` from what is known, never by asking an outside service: open if the router mapped our TCP port, or a
 * peer has connected to us; else not known to be open. `bt_port_test` says which.
 */
export const portTestOf = (r: Reachability): { readonly open: boolean; readonly basis: string } => {
  const tcp = r.mapping.state === "mapped" ? r.mapping.ports.find((p) => p.protocol === "tcp") : undefined
  if (tcp !== undefined) {
    return {
      open: true,
      basis: `the router maps ${r.mapping.externalAddress ?? "its address"}:${tcp.externalPort} to our port ` +
        `${tcp.internalPort} (${r.mapping.method ?? "port mapping"})`
    }
  }
  if (r.acceptedPeers > 0) return { open: true, basis: `${r.acceptedPeers} peers have connected to us` }
  return {
    open: false,
    basis: "not known to be open: no router mapped our port and no peer has connected to us yet " +
      "(bt does not ask an outside service to test it)"
  }
}

/** The classic dialect's version (Transmission 4.0) and the JSON-RPC one's (4.1). */
const RPC_VERSIONS = {
  classic: { version: 17, semver: "5.3.0" },
  snake: { version: 18, semver: "6.0.0" }
} as const

/** The oldest rpc-version we answer: transmission-remote 3.00 speaks 16 and checks that it is at most that. */
export const RPC_VERSION_MINIMUM = 14

type ClientApi = Client["Type"]
type Method = (call: Call) => Effect.Effect<Record<string, unknown>, RpcError>

const decode = <A, I>(schema: Schema.Schema<A, I>, call: Call): Effect.Effect<A, RpcError> =>
  Schema.decodeUnknown(schema)(call.args).pipe(
    Effect.mapError((error) =>
      new RpcError({ reason: "invalid-params", message: `${call.method}: ${describeParseError(error)}`, cause: error })
    )
  )

const fromClient = (error: ClientError): RpcError =>
  new RpcError({
    reason: error.reason === "InvalidArgument" ? "invalid-params" : "failed",
    message: error.detail,
    cause: error
  })

const none = Effect.succeed({})

const totals = (t: TransferTotals) => ({
  uploaded_bytes: t.uploadedBytes,
  downloaded_bytes: t.downloadedBytes,
  files_added: t.filesAdded,
  session_count: t.sessionCount,
  seconds_active: t.secondsActive
})

const units = {
  speed_units: ["kB/s", "MB/s", "GB/s", "TB/s"],
  speed_bytes: SPEED_UNIT,
  size_units: ["kB", "MB", "GB", "TB"],
  size_bytes: 1000,
  memory_units: ["KiB", "MiB", "GiB", "TiB"],
  memory_bytes: 1024
}

/** `session-get`'s answer: the Client's settings in Transmission's names and units, and what bt does not have. */
const sessionArguments = (
  s: SessionSettings,
  env: RpcEnvironment,
  style: Call["style"],
  reach: Reachability
): Record<string, unknown> => ({
  download_dir: s.downloadDir,
  start_added_torrents: s.startAddedTorrents,
  download_queue_enabled: s.downloadQueueEnabled,
  download_queue_size: s.downloadQueueSize,
  seed_queue_enabled: s.seedQueueEnabled,
  seed_queue_size: s.seedQueueSize,
  queue_stalled_enabled: s.queueStalledEnabled,
  queue_stalled_minutes: s.queueStalledMinutes,
  speed_limit_down: Math.round(s.speedLimitDown / SPEED_UNIT),
  speed_limit_down_enabled: s.speedLimitDownEnabled,
  speed_limit_up: Math.round(s.speedLimitUp / SPEED_UNIT),
  speed_limit_up_enabled: s.speedLimitUpEnabled,
  alt_speed_down: Math.round(s.altSpeedDown / SPEED_UNIT),
  alt_speed_up: Math.round(s.altSpeedUp / SPEED_UNIT),
  alt_speed_enabled: s.altSpeedEnabled,
  alt_speed_time_enabled: false,
  alt_speed_time_begin: 540,
  alt_speed_time_end: 1020,
  alt_speed_time_day: 127,
  seed_ratio_limit: s.seedRatioLimit,
  seed_ratio_limited: s.seedRatioLimited,
  idle_seeding_limit: s.idleSeedingLimit,
  idle_seeding_limit_enabled: s.idleSeedingLimitEnabled,
  peer_limit_global: s.peerLimitGlobal,
  peer_limit_per_torrent: s.peerLimitPerTorrent,
  peer_port: s.peerPort,
  peer_port_random_on_start: false,
  port_forwarding_enabled: reach.portMapping,
  bt_port_mapping: portMappingArguments(reach),
  ...(reach.externalAddresses === undefined ? {} : { bt_external_address: reach.externalAddresses }),
  encryption: s.encryption,
  dht_enabled: s.dhtEnabled,
  pex_enabled: s.pexEnabled,
  lpd_enabled: reach.lsd,
  utp_enabled: true,
  blocklist_enabled: false,
  blocklist_size: 0,
  blocklist_url: "",
  incomplete_dir_enabled: false,
  incomplete_dir: s.downloadDir,
  rename_partial_files: false,
  trash_original_torrent_files: false,
  cache_size_mb: 0,
  config_dir: env.configDir,
  units,
  rpc_version: RPC_VERSIONS[style].version,
  rpc_version_semver: RPC_VERSIONS[style].semver,
  rpc_version_minimum: RPC_VERSION_MINIMUM,
  session_id: env.sessionId,
  version: `${env.version} (bt)`
})

const pick = (args: Record<string, unknown>, fields: ReadonlyArray<string> | undefined) =>
  fields === undefined ? args : Object.fromEntries(fields.filter((f) => Object.hasOwn(args, f)).map((f) => [f, args[f]]))

/** The method table over a Client. */
export const methods = (client: ClientApi, env: RpcEnvironment): Readonly<Record<string, Method>> => {
  const reachability = env.reachability ?? Effect.succeed(NOTHING_KNOWN)
  const onIds = (action: (selector: ReturnType<typeof Args.selectorOf>) => Effect.Effect<void, ClientError>): Method =>
    (call) =>
      Effect.flatMap(decode(Args.IdsArgs, call), ({ ids }) =>
        action(Args.selectorOf(ids)).pipe(Effect.mapError(fromClient), Effect.zipRight(none)))
  const queue = (move: QueueMove) => onIds((selector) => client.queueMove(selector, move))

  return {
    torrent_get: (call) =>
      Effect.gen(function*() {
        const args = yield* decode(Args.TorrentGetArgs, call)
        const fields = knownFields(args.fields)
        const list = yield* client.list(Args.selectorOf(args.ids), detailFor(fields))
        const torrents = args.format === "table"
          ? [fields, ...list.torrents.map((t) => torrentRow(t, fields))]
          : list.torrents.map((t) => torrentObject(t, fields))
        const recent = args.ids === "recently-active" || args.ids === "recently_active"
        return recent ? { torrents, removed: list.removed } : { torrents }
      }),

    torrent_add: (call) =>
      Effect.gen(function*() {
        const { filename, metainfo, ...options } = yield* decode(Args.TorrentAddArgs, call)
        let source: AddSource
        if (metainfo !== undefined) {
          const bytes = Encoding.decodeBase64(metainfo.replace(/\s+/g, ""))
          if (Either.isLeft(bytes)) {
            return yield* new RpcError({ reason: "invalid-params", message: "torrent-add: metainfo is not base64" })
          }
          source = AddSource.metainfo(bytes.right)
        } else if (filename !== undefined && filename !== "") {
          source = AddSource.fromFilename(filename)
        } else {
          return yield* new RpcError({ reason: "invalid-params", message: "torrent-add: give filename or metainfo" })
        }
        const added = yield* client.add(source, options).pipe(Effect.mapError(fromClient))
        const torrent = { id: added.id, name: added.name, hash_string: added.hashString }
        return added.duplicate ? { torrent_duplicate: torrent } : { torrent_added: torrent }
      }),

    torrent_set: (call) =>
      Effect.gen(function*() {
        const { ids, location, ...patch } = yield* decode(Args.TorrentSetArgs, call)
        const selector = Args.selectorOf(ids)
        // File choices number the files as the `files` list shows them (BEP 47 padding files left out), as the
        // Client's do; a magnet's wait in the Client for its metadata.
        yield* client.set(selector, patch).pipe(Effect.mapError(fromClient))
        if (location !== undefined) yield* client.setLocation(selector, location, false).pipe(Effect.mapError(fromClient))
        return {}
      }),

    torrent_start: onIds(client.start),
    torrent_start_now: onIds(client.startNow),
    torrent_stop: onIds(client.stop),
    torrent_verify: onIds(client.verify),
    torrent_reannounce: onIds(client.reannounce),

    torrent_remove: (call) =>
      Effect.flatMap(decode(Args.TorrentRemoveArgs, call), ({ deleteLocalData, ids }) =>
        client.remove(Args.selectorOf(ids), { deleteData: deleteLocalData ?? false }).pipe(
          Effect.mapError(fromClient),
          Effect.zipRight(none)
        )),

    torrent_set_location: (call) =>
      Effect.flatMap(decode(Args.TorrentSetLocationArgs, call), ({ ids, location, move }) =>
        client.setLocation(Args.selectorOf(ids), location, move ?? false).pipe(
          Effect.mapError(fromClient),
          Effect.zipRight(none)
        )),

    torrent_rename_path: (call) =>
      Effect.gen(function*() {
        const { ids, name, path } = yield* decode(Args.TorrentRenamePathArgs, call)
        const selector = Args.selectorOf(ids)
        if (typeof selector === "string" || selector.length !== 1) {
          return yield* new RpcError({ reason: "invalid-params", message: "give exactly one torrent in ids" })
        }
        const renamed = yield* client.renamePath(selector[0]!, path, name).pipe(Effect.mapError(fromClient))
        return { id: renamed.id, path: renamed.path, name: renamed.name }
      }),

    queue_move_top: queue("top"),
    queue_move_up: queue("up"),
    queue_move_down: queue("down"),
    queue_move_bottom: queue("bottom"),

    session_get: (call) =>
      Effect.gen(function*() {
        const { fields } = yield* decode(Args.SessionGetArgs, call)
        return pick(sessionArguments(yield* client.session, env, call.style, yield* reachability), fields)
      }),

    session_set: (call) =>
      Effect.flatMap(decode(Args.SessionSetArgs, call), (patch) =>
        client.setSession(patch).pipe(Effect.mapError(fromClient), Effect.zipRight(none))),

    session_stats: () =>
      Effect.map(client.stats, (s) => ({
        active_torrent_count: s.activeTorrentCount,
        paused_torrent_count: s.pausedTorrentCount,
        torrent_count: s.torrentCount,
        download_speed: s.downloadSpeed,
        upload_speed: s.uploadSpeed,
        cumulative_stats: totals(s.cumulative),
        current_stats: totals(s.current)
      })),

    free_space: (call) =>
      Effect.flatMap(decode(Args.FreeSpaceArgs, call), ({ path }) =>
        Effect.map(env.freeSpace(path), ({ free, total }) => ({ path, size_bytes: free, total_size: total }))),

    port_test: () =>
      Effect.map(reachability, (r) => {
        const { basis, open } = portTestOf(r)
        return { port_is_open: open, bt_port_test: basis }
      }),

    session_close: () => Effect.as(env.close, {})
  }
}

/** A Dispatch over the method table: an unknown method is an `unknown-method` error. */
export const makeDispatch = (client: ClientApi, env: RpcEnvironment): Dispatch => {
  const table = methods(client, env)
  return (call) =>
    Object.hasOwn(table, call.method)
      ? table[call.method]!(call)
      : Effect.fail(new RpcError({ reason: "unknown-method", message: `unknown method: ${call.method}` }))
}
