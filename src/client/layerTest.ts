import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Endpoint } from "../net/Datagram.js"
import * as MemoryTransport from "../peer/transport/MemoryTransport.js"
import * as ResumeStore from "../resume/index.js"
import * as Session from "../session/index.js"
import * as Storage from "../storage/index.js"
import * as Tracker from "../tracker/index.js"
import * as Verifier from "../verifier/index.js"
import type { WebSeed } from "../webseed/WebSeed.js"
import type { Client, ClientError } from "./Client.js"
import { type ClientConfig, layer } from "./make.js"
import { layerMemoryFileSystem } from "./MemoryFileSystem.js"

/** Trackers that answer every announce with the peers `peers()` gives then, every `interval` seconds. */
export const trackersGiving = (peers: () => ReadonlyArray<Endpoint>, interval = 1800): Layer.Layer<Tracker.Tracker> =>
  Tracker.layerTest({
    announce: () =>
      Effect.sync(() => ({
        interval,
        minInterval: undefined,
        peers: [...peers()],
        complete: undefined,
        incomplete: undefined,
        warning: undefined,
        trackerId: undefined
      })),
    scrape: () => Effect.succeed(new Map())
  })

/**
 * The real Client over memory: peers on an in-memory network (none unless a test puts some there), data in memory,
 * the state folder in a memory FileSystem, trackers that know no peers. For testing what is built on the Client
 * (the RPC) without sockets or disks: torrents add, list, start, stop, verify, move and remove as for real; a
 * magnet link stays at "fetching the metadata" for want of peers.
 */
export const layerTest = (
  config: Partial<ClientConfig> = {},
  /** Web seeds (BEP 19) for the session, over a memory HTTP layer say; none: `url-list` is not used. */
  webSeed?: Layer.Layer<WebSeed>
): Layer.Layer<Client | Session.Session | Storage.MemoryStorage | ResumeStore.ResumeStore, ClientError> =>
  layer({ stateDir: "/state", poll: Duration.millis(100), ...config, settings: { downloadDir: "/downloads", ...config.settings } })
    .pipe(
      Layer.provideMerge(
        Session.layerConfig({ port: 0, listenHosts: ["memory"], encryption: "disable" }).pipe(
          Layer.provide(Layer.mergeAll(MemoryTransport.layerMemory, Verifier.layer, trackersGiving(() => []), webSeed ?? Layer.empty)),
          // Listening on the memory network cannot fail.
          Layer.orDie
        )
      ),
      Layer.provideMerge(Layer.mergeAll(Storage.layerMemory(), ResumeStore.layerMemory, layerMemoryFileSystem))
    )
