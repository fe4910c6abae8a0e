import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Effect from "effect/Effect"
import { statfs } from "node:fs/promises"
import * as Client from "../client/index.js"
import type { Endpoint } from "../net/Datagram.js"
import type { EncryptionPolicy } from "../peer/encryption.js"
import { Lsd } from "../net/lsd/Lsd.js"
import { PortMapper } from "../net/portmap/PortMapper.js"
import { Session } from "../session/index.js"
import type { TorrentHandle } from "../session/Torrent.js"
import {
  type DhtOptions,
  nodeLsdLayer,
  nodePortMapperLayer,
  nodeSessionLayer,
  resumeLayer,
  stateDirOf,
  type TransportMode
} from "./layers.js"
import { joinLsd, mapSessionPort } from "./options.js"

/** What a long-running Client on Node is started with (the daemon's options). */
export interface NodeClientOptions {
  /** The state folder: none for the default ($BT_STATE_DIR, $XDG_STATE_HOME/bt, ~/.local/state/bt). */
  readonly stateDir: Option.Option<string>
  /** The download folder for a fresh state folder (a saved one wins, unless `downloadDirOverride`). */
  readonly downloadDir: string
  readonly downloadDirOverride?: boolean
  /** The peer port, TCP and UDP (uTP and the DHT share it); 0 for any. */
  readonly port: number
  readonly listenHosts?: ReadonlyArray<string>
  readonly encryption?: EncryptionPolicy
  /** The DHT node's bootstrap nodes; none: no DHT. */
  readonly dht: Option.Option<ReadonlyArray<Endpoint>>
  readonly transport?: TransportMode
  /** Peer connections over all torrents, and per torrent. */
  readonly maxConnections?: number
  readonly maxPeers?: number
  /** Folders data may go in (see `ClientConfig.allowedFolders`); none: any. */
  readonly allowedFolders?: ReadonlyArray<string>
  /** Map the peer port on the router (PCP, NAT-PMP, UPnP IGD); default off (the daemon turns it on). */
  readonly portMapping?: boolean
  /** Local Service Discovery (BEP 14) for each running non-private torrent; default off (the daemon turns it on). */
  readonly lsd?: boolean
}

/** Free space from statfs(2): the blocks available to us, and all of them. */
const freeSpace = (path: string): Effect.Effect<Client.FreeSpace, Client.ClientError> =>
  Effect.tryPromise({
    try: () => statfs(path),
    catch: (cause) =>
      new Client.ClientError({
        reason: "Storage",
        detail: `cannot tell the free space of ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
  }).pipe(Effect.map((stats) => ({ path, sizeBytes: stats.bavail * stats.bsize, totalSize: stats.blocks * stats.bsize })))

const encryptionMode: Record<EncryptionPolicy, Client.EncryptionMode> = {
  prefer: "preferred",
  require: "required",
  disable: "tolerated"
}

/**
 * A Client on Node: one Session (one listen port, one DHT node and one UDP socket shared by uTP and the DHT, for
 * every torrent), files on disk, HTTP(S) for `.torrent` URLs, the torrent list and resume state in the state folder;
 * the session's port mapped on the router and LSD for each torrent, if asked. The Session, PortMapper and Lsd are
 * provided too, for what the daemon reports (`session-get`, `port-test`).
 */
export const nodeClientLayer = (
  options: NodeClientOptions
): Layer.Layer<Client.Client | Session | PortMapper | Lsd, Client.ClientError> => {
  const encryption = options.encryption ?? "prefer"
  const session = nodeSessionLayer(
    {
      port: options.port,
      encryption,
      ...(options.listenHosts === undefined ? {} : { listenHosts: options.listenHosts }),
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      ...(options.maxPeers === undefined ? {} : { maxPeers: options.maxPeers })
    },
    options.stateDir,
    Option.map(options.dht, (bootstrap): DhtOptions => ({ bootstrap })),
    options.transport ?? "both"
  ).pipe(
    Layer.mapError((error) =>
      new Client.ClientError({ reason: "Network", detail: `cannot start the peer session: ${error.message}`, cause: error })
    )
  )
  const reach = Layer.merge(nodePortMapperLayer(options.portMapping === true), nodeLsdLayer(options.lsd === true))
  /** The session's port mapped while the Client runs (deleted on the router when it stops). */
  const mapped = Layer.scopedDiscard(Effect.flatMap(Session, mapSessionPort))
  const client = Layer.unwrapEffect(Effect.gen(function*() {
    const stateDir = yield* stateDirOf(options.stateDir)
    const lsd = yield* Lsd
    const { port } = yield* Session
    return Client.layer({
      stateDir,
      onTorrentRun: (handle: TorrentHandle) => Effect.provideService(joinLsd(handle, { port }), Lsd, lsd),
      settings: { downloadDir: options.downloadDir },
      ...(options.allowedFolders === undefined ? {} : { allowedFolders: options.allowedFolders }),
      freeSpace,
      overrides: {
        encryption: encryptionMode[encryption],
        dhtEnabled: Option.isSome(options.dht),
        ...(options.downloadDirOverride === true ? { downloadDir: options.downloadDir } : {}),
        ...(options.maxConnections === undefined ? {} : { peerLimitGlobal: options.maxConnections }),
        ...(options.maxPeers === undefined ? {} : { peerLimitPerTorrent: options.maxPeers })
      }
    })
  }))
  return Layer.merge(client, mapped).pipe(
    Layer.provideMerge(Layer.mergeAll(session, reach)),
    Layer.provide(Layer.mergeAll(resumeLayer(options.stateDir), NodeFileSystem.layer, NodeHttpClient.layer))
  )
}
