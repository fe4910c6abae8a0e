import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Layer } from "effect"
import * as NodeDatagram from "../net/NodeDatagram.js"
import * as NodeTransport from "../peer/transport/NodeTransport.js"
import type { TransportError } from "../peer/transport/Transport.js"
import * as Session from "../session/index.js"
import * as Storage from "../storage/index.js"
import * as Tracker from "../tracker/index.js"
import * as Verifier from "../verifier/index.js"

/** What trackers need from Node: HTTP and UDP. */
const TrackerPlatform = Layer.merge(NodeHttpClient.layer, NodeDatagram.layer)

/** The Tracker service on Node, with some of its timeouts changed if asked. */
export const nodeTrackerLayer = (config: Partial<Tracker.TrackerConfig> = {}): Layer.Layer<Tracker.Tracker> =>
  Tracker.layerConfig(config).pipe(Layer.provide(TrackerPlatform))

/** A Session on Node: TCP peers, files on disk, SHA-1, HTTP and UDP trackers. */
export const nodeSessionLayer = (
  config: Partial<Session.SessionConfig>
): Layer.Layer<Session.Session, TransportError> =>
  Session.layerConfig(config).pipe(
    Layer.provide(Layer.mergeAll(NodeTransport.layer, Storage.layer, Verifier.layer, nodeTrackerLayer()))
  )
