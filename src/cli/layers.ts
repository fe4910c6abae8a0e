import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Dht from "../dht/Dht.js"
import { layerDual } from "../dht/dual.js"
import type { Endpoint } from "../net/Datagram.js"
import type { Datagram } from "../net/Datagram.js"
import * as NodeDatagram from "../net/NodeDatagram.js"
import * as Lsd from "../net/lsd/Lsd.js"
import * as Gateway from "../net/portmap/Gateway.js"
import * as NodeGateway from "../net/portmap/NodeGateway.js"
import { parseEndpoint } from "../net/endpoint.js"
import * as PortMapper from "../net/portmap/PortMapper.js"
import * as SharedDatagram from "../net/SharedDatagram.js"
import * as Dual from "../peer/transport/Dual.js"
import * as NodeTransport from "../peer/transport/NodeTransport.js"
import { Transport } from "../peer/transport/Transport.js"
import * as UtpTransport from "../peer/utp/UtpTransport.js"
import * as ResumeStore from "../resume/index.js"
import type { TransportError } from "../peer/transport/Transport.js"
import * as Session from "../session/index.js"
import * as Storage from "../storage/index.js"
import * as Tracker from "../tracker/index.js"
import * as Verifier from "../verifier/index.js"
import * as WebSeed from "../webseed/WebSeed.js"
import { describePlatformError } from "./platformError.js"

/** What trackers need from Node: HTTP and UDP. */
const TrackerPlatform = Layer.merge(NodeHttpClient.layer, NodeDatagram.layer)

/** The Tracker service on Node, with some of its timeouts changed if asked. */
export const nodeTrackerLayer = (config: Partial<Tracker.TrackerConfig> = {}): Layer.Layer<Tracker.Tracker> =>
  Tracker.layerConfig(config).pipe(Layer.provide(TrackerPlatform))

/** Where resume files go by default: $BT_STATE_DIR, else $XDG_STATE_HOME/bt, else ~/.local/state/bt. */
const defaultStateDir: Config.Config<string> = Config.string("BT_STATE_DIR").pipe(
  Config.orElse(() => Config.map(Config.string("XDG_STATE_HOME"), (dir) => join(dir, "bt"))),
  Config.orElse(() => Config.succeed(join(homedir(), ".local", "state", "bt")))
)

export const resumeLayer = (stateDir: Option.Option<string>): Layer.Layer<ResumeStore.ResumeStore> =>
  Layer.unwrapEffect(
    Effect.map(stateDirOf(stateDir), ResumeStore.layerFiles)
  ).pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))

/** The state folder given, or the default one. */
export const stateDirOf = (stateDir: Option.Option<string>): Effect.Effect<string> =>
  Option.match(stateDir, { onNone: () => defaultStateDir.pipe(Effect.orDie), onSome: Effect.succeed })

/** What the DHT node is started with. */
export interface DhtOptions {
  /** Nodes to join through; none: those saved last time, and the public routers. */
  readonly bootstrap: ReadonlyArray<Endpoint>
  /** Start from the saved routing table but never write it (`bt dht lookup`: a check writes nothing). */
  readonly readOnly?: boolean
}

/**
 * A DHT node on Node's UDP, on `port` (or any free one if that is taken), its routing table kept in the state
 * folder between runs.
 */
export const nodeDhtLayer = (
  port: number,
  options: DhtOptions,
  stateDir: Option.Option<string>
): Layer.Layer<Dht.Dht, Dht.DhtError> =>
  dhtLayerOn(port, { ipv4: "0.0.0.0", ipv6: "::" }, options, stateDir).pipe(Layer.provide(NodeDatagram.layer))

/** Where the DHT nodes bind: an IPv4 node always, an IPv6 one (BEP 32) where an IPv6 address is given. */
interface DhtHosts {
  readonly ipv4: string
  readonly ipv6?: string
}

/**
 * The DHT nodes of `nodeDhtLayer` on the Datagram given (a shared one, in a session): IPv4, and IPv6 beside it if
 * `hosts.ipv6` (each with its own table file, `dht.table` and `dht6.table`; bootstrap nodes go to their family's
 * node, host names to both).
 */
const dhtLayerOn = (
  port: number,
  hosts: DhtHosts,
  options: DhtOptions,
  stateDir: Option.Option<string>
): Layer.Layer<Dht.Dht, Dht.DhtError, Datagram> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* stateDirOf(stateDir)
    const tableIn = (file: string) => ({
      load: fs.readFile(file).pipe(Effect.option),
      save: (bytes: Uint8Array) =>
        options.readOnly === true ? Effect.void : fs.makeDirectory(dirname(file), { recursive: true }).pipe(
          Effect.zipRight(fs.writeFile(`${file}.tmp`, bytes)),
          Effect.zipRight(fs.rename(`${file}.tmp`, file)),
          Effect.catchAll((error) => Effect.logWarning(`DHT table: ${describePlatformError(error)}`))
        )
    })
    const bootstrap = options.bootstrap.length > 0 ? options.bootstrap : Dht.DEFAULT_BOOTSTRAP
    const v4 = { bootstrap, table: tableIn(join(dir, "dht.table")), host: hosts.ipv4 }
    const v6 = { bootstrap, table: tableIn(join(dir, "dht6.table")), host: hosts.ipv6 ?? "::" }
    const on = (port: number) =>
      hosts.ipv6 === undefined ? Dht.layerConfig({ ...v4, port }) : layerDual({ ...v4, port }, { ...v6, port })
    return on(port).pipe(Layer.orElse(() => on(0)))
  })).pipe(Layer.provide(NodeFileSystem.layer))

/** Which transports carry peer connections: TCP, uTP (BEP 29), or both (TCP tried first, then uTP: see Dual.make). */
export type TransportMode = "tcp" | "utp" | "both"

/** The Transport a mode asks for; uTP binds on the Datagram given, the TCP listener's port number. */
export const transportLayer = (mode: TransportMode): Layer.Layer<Transport, never, Datagram> => {
  switch (mode) {
    case "tcp":
      return NodeTransport.layer
    case "utp":
      return UtpTransport.layer()
    case "both":
      return Layer.scoped(Transport, Effect.map(UtpTransport.make(), (utp) => Dual.make(NodeTransport.transport, utp)))
  }
}

/**
 * A Session on Node: peers over `transport` (default both TCP and uTP), files on disk, SHA-1, HTTP and UDP
 * trackers, resume files in `stateDir`, and a DHT node unless `dht` is none. uTP and the DHT share one UDP socket
 * on the session's port, told apart by packet shape.
 */
export const nodeSessionLayer = (
  config: Partial<Session.SessionConfig>,
  stateDir: Option.Option<string>,
  dht: Option.Option<DhtOptions> = Option.none(),
  transport: TransportMode = "both"
): Layer.Layer<Session.Session, TransportError | Dht.DhtError> => {
  const udp = SharedDatagram.layer.pipe(Layer.provide(NodeDatagram.layer))
  // The DHT on the session's first IPv4 address, so that uTP there can share its socket; an IPv6 node (BEP 32) on
  // its first IPv6 address, if it listens on one.
  const listenHosts = config.listenHosts ?? Session.defaultSessionConfig.listenHosts
  const ipv6 = listenHosts.find((host) => host.includes(":"))
  const dhtHosts: DhtHosts = {
    ipv4: listenHosts.find((host) => !host.includes(":")) ?? "0.0.0.0",
    ...(ipv6 === undefined ? {} : { ipv6 })
  }
  return Session.layerConfig(config).pipe(
    Layer.provide(
      Layer.mergeAll(
        transportLayer(transport),
        Storage.layer,
        Verifier.layer,
        nodeTrackerLayer(),
        WebSeed.layer.pipe(Layer.provide(NodeHttpClient.layer)),
        resumeLayer(stateDir),
        Option.match(dht, {
          onNone: () => Layer.empty,
          onSome: (options) =>
            dhtLayerOn(config.port ?? Session.defaultSessionConfig.port, dhtHosts, options, stateDir)
        })
      )
    ),
    Layer.provide(udp)
  )
}

/** `HOST:PORT` from the environment variable `name`, if it is set. */
const endpointConfig = (name: string): Config.Config<Option.Option<Endpoint>> =>
  Config.option(Config.string(name)).pipe(Config.mapOrFail((text) => {
    if (Option.isNone(text)) return Either.right(Option.none())
    const parsed = parseEndpoint(text.value)
    return typeof parsed === "string"
      ? Either.left(ConfigError.InvalidData([name], `${name} ${text.value} ${parsed}`))
      : Either.right(Option.some(parsed))
  }))

/**
 * Port mapping on Node (the gateway from /proc/net/route, UDP and HTTP from Node), or none when `enabled` is false
 * (`--no-port-mapping`). `BT_PORTMAP_GATEWAY=HOST:PORT` names the NAT-PMP/PCP gateway (and our address as HOST) and
 * `BT_PORTMAP_SSDP=HOST:PORT` where SSDP searches go: for tests against fake gateways on 127.0.0.1.
 */
export const nodePortMapperLayer = (enabled: boolean): Layer.Layer<PortMapper.PortMapper> =>
  !enabled ? PortMapper.layerOff : Layer.unwrapEffect(Effect.gen(function*() {
    const gateway = yield* endpointConfig("BT_PORTMAP_GATEWAY")
    const ssdp = yield* endpointConfig("BT_PORTMAP_SSDP")
    const config: Partial<PortMapper.PortMapperConfig> = {
      ...(Option.isSome(gateway) ? { gatewayPort: gateway.value.port } : {}),
      ...(Option.isSome(ssdp) ? { ssdp: ssdp.value } : {})
    }
    const route = Option.match(gateway, {
      onNone: () => NodeGateway.layer,
      onSome: ({ host }) => Gateway.layerFixed({ gateway: host, local: host })
    })
    return PortMapper.layerConfig(config).pipe(
      Layer.provide(Layer.mergeAll(NodeDatagram.layer, NodeHttpClient.layer, route))
    )
  }).pipe(Effect.orDie))

/**
 * Local Service Discovery on Node's UDP (the BEP 14 groups on port 6771), or none when `enabled` is false
 * (`--no-lsd`) or no socket could join a group (one debug line: LSD is a bonus, never a reason to stop).
 */
export const nodeLsdLayer = (enabled: boolean): Layer.Layer<Lsd.Lsd> =>
  !enabled ? Lsd.layerOff : Lsd.layer.pipe(
    Layer.provide(NodeDatagram.layer),
    Layer.catchAll((error) => Layer.unwrapEffect(Effect.as(Effect.logDebug(error.message), Lsd.layerOff)))
  )
