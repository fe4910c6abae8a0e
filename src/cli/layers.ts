import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { homedir } from "node:os"
import { join } from "node:path"
import * as NodeDatagram from "../net/NodeDatagram.js"
import * as NodeTransport from "../peer/transport/NodeTransport.js"
import * as ResumeStore from "../resume/index.js"
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

/** Where resume files go by default: $BT_STATE_DIR, else $XDG_STATE_HOME/bt, else ~/.local/state/bt. */
const defaultStateDir: Config.Config<string> = Config.string("BT_STATE_DIR").pipe(
  Config.orElse(() => Config.map(Config.string("XDG_STATE_HOME"), (dir) => join(dir, "bt"))),
  Config.orElse(() => Config.succeed(join(homedir(), ".local", "state", "bt")))
)

const resumeLayer = (stateDir: Option.Option<string>): Layer.Layer<ResumeStore.ResumeStore> =>
  Layer.unwrapEffect(
    Effect.map(
      Option.match(stateDir, { onNone: () => defaultStateDir, onSome: Effect.succeed }),
      ResumeStore.layerFiles
    ).pipe(Effect.orDie)
  ).pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))

/** A Session on Node: TCP peers, files on disk, SHA-1, HTTP and UDP trackers, resume files in `stateDir`. */
export const nodeSessionLayer = (
  config: Partial<Session.SessionConfig>,
  stateDir: Option.Option<string>
): Layer.Layer<Session.Session, TransportError> =>
  Session.layerConfig(config).pipe(
    Layer.provide(
      Layer.mergeAll(NodeTransport.layer, Storage.layer, Verifier.layer, nodeTrackerLayer(), resumeLayer(stateDir))
    )
  )
