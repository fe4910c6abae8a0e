import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { Endpoint } from "../net/Datagram.js"
import { DhtError } from "./DhtError.js"
import type { AddressFamily } from "./DhtNode.js"

/** Where a node keeps its routing table between runs (BEP 5: "should be saved between invocations"). */
export interface DhtTableStore {
  /** The bytes saved last time, if any. A damaged file means a fresh id and an empty table, not a failure. */
  readonly load: Effect.Effect<Option.Option<Uint8Array>>
  readonly save: (bytes: Uint8Array) => Effect.Effect<void>
}

/**
 * How a DHT node runs. Every field has a default (`defaultDhtConfig`); override what you need. One node speaks one
 * address family: IPv4 (BEP 5) or IPv6 (BEP 32); `makeDual` runs one of each side by side.
 */
export interface DhtConfig {
  /** The node's family: its socket, its routing table and the node lists it answers with. Default "ipv4". */
  readonly family: AddressFamily
  /** UDP port to bind; 0 for any free one. A session passes its TCP port, as clients commonly do. */
  readonly port: number
  /** The address to bind. Default every interface: "0.0.0.0", or "::" (IPv6 only) for an IPv6 node. */
  readonly host?: string
  /** Routers or known nodes to join through (host names are fine). Default none: see `DEFAULT_BOOTSTRAP`. */
  readonly bootstrap: ReadonlyArray<Endpoint>
  /** How long a query waits for its answer. Default 5 s. */
  readonly queryTimeout: Duration.DurationInput
  /**
   * When to look after the table: refresh the buckets unchanged for 15 minutes (`REFRESH_AFTER_MS`) with a
   * `find_node` lookup each, or bootstrap again if the table is empty. Default every minute.
   */
  readonly refresh: Schedule.Schedule<unknown>
  /** Queries waiting for answers at most; more are refused at once. Default 256 (at most 65536). */
  readonly maxPendingQueries: number
  /** Queries answered per second per source IP (a burst of as many); the excess is dropped. Default 20. */
  readonly queriesPerSecondPerIp: number
  /** Persistence hooks for the routing table: loaded at start, saved on `saveTable` and when the node closes. */
  readonly table?: DhtTableStore
  /** How long one lookup (`getPeers`, a refresh, the bootstrap) may run. Default 30 s. */
  readonly lookupTimeout: Duration.DurationInput
  /** When the table is saved (besides at close), if `table` is given. Default every 5 minutes. */
  readonly saveTable: Schedule.Schedule<unknown>
}

export const defaultDhtConfig: DhtConfig = {
  family: "ipv4",
  port: 0,
  bootstrap: [],
  queryTimeout: Duration.seconds(5),
  refresh: Schedule.spaced(Duration.minutes(1)),
  maxPendingQueries: 256,
  queriesPerSecondPerIp: 20,
  lookupTimeout: Duration.seconds(30),
  saveTable: Schedule.spaced(Duration.minutes(5))
}

/** Well-known routers of the main DHT, for a node that knows no other. Only the CLI uses them by default. */
export const DEFAULT_BOOTSTRAP: ReadonlyArray<Endpoint> = [
  { host: "router.bittorrent.com", port: 6881 },
  { host: "dht.transmissionbt.com", port: 6881 },
  { host: "router.utorrent.com", port: 6881 },
  { host: "dht.libtorrent.org", port: 25401 }
]

/** `config` over the defaults, or a `Config` error naming the first value out of range. */
export const resolveConfig = (config: Partial<DhtConfig>): DhtConfig | DhtError => {
  const settings: DhtConfig = { ...defaultDhtConfig, ...config }
  const isPort = (port: number, min: number) => Number.isInteger(port) && port >= min && port <= 0xffff
  const bad = (detail: string) => new DhtError({ reason: "Config", detail })
  if (!isPort(settings.port, 0)) return bad(`port ${settings.port} is not 0-65535`)
  const endpoint = settings.bootstrap.find((node) => !isPort(node.port, 1) || node.host.length === 0)
  if (endpoint !== undefined) return bad(`bootstrap node ${endpoint.host}:${endpoint.port} is not HOST:PORT`)
  const pending = settings.maxPendingQueries
  if (!Number.isInteger(pending) || pending < 1 || pending > 0x10000) {
    return bad(`maxPendingQueries ${pending} is not 1-65536`)
  }
  if (!(settings.queriesPerSecondPerIp > 0)) return bad(`queriesPerSecondPerIp must be above 0`)
  if (Duration.toMillis(settings.queryTimeout) <= 0) return bad("queryTimeout must be above 0")
  if (Duration.toMillis(settings.lookupTimeout) <= 0) return bad("lookupTimeout must be above 0")
  return settings
}
