import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Layer } from "effect"
import * as NodeDatagram from "../net/NodeDatagram.js"
import * as Tracker from "../tracker/index.js"

/** What trackers need from Node: HTTP and UDP. */
const TrackerPlatform = Layer.merge(NodeHttpClient.layer, NodeDatagram.layer)

/** The Tracker service on Node, with some of its timeouts changed if asked. */
export const nodeTrackerLayer = (config: Partial<Tracker.TrackerConfig> = {}): Layer.Layer<Tracker.Tracker> =>
  Tracker.layerConfig(config).pipe(Layer.provide(TrackerPlatform))
