import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Metainfo from "../metainfo/index.js"
import { create } from "./commands/create.js"
import { daemon } from "./commands/daemon.js"
import { dht } from "./commands/dht.js"
import { download } from "./commands/download.js"
import { info } from "./commands/info.js"
import { magnet } from "./commands/magnet.js"
import { peers } from "./commands/peers.js"
import { add, list, recheck, remove, start, stop } from "./commands/remote.js"
import { seed } from "./commands/seed.js"
import { verify } from "./commands/verify.js"

const bt = Command.make("bt").pipe(
  Command.withDescription("A BitTorrent client."),
  Command.withSubcommands([info, magnet, create, peers, download, seed, verify, dht, daemon, add, list, start, stop, recheck, remove])
)

const cli = Command.run(bt, { name: "bt", version: "0.1.0" })

/** Logs go to stderr, so that stdout carries only results and progress (and stays valid JSON with --json). */
const LoggerLayer = Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))

const NodeLayer = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer, LoggerLayer)
const MainLayer = Metainfo.layer.pipe(Layer.provideMerge(NodeLayer))

/**
 * What the user sees when a command fails: one line for an expected error (every service error carries a
 * sentence for that), nothing more for a usage error (@effect/cli has printed it with help), and the full cause
 * only for a defect, which is a bug in bt.
 */
const report = (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
  if (Cause.isInterruptedOnly(cause)) return Effect.void
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (ValidationError.isValidationError(error)) return Effect.void
    return Console.error(`bt: ${error instanceof Error ? error.message : String(error)}`)
  }
  return Console.error(`bt: internal error, please report it:\n${Cause.pretty(cause)}`)
}

/**
 * The exit code: 0 on success, 130 when stopped by SIGINT or SIGTERM (as shells expect for Ctrl-C; a download
 * stopped early is incomplete), 1 for any failure.
 */
const exitCode = (exit: Exit.Exit<unknown, unknown>): number =>
  Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 130 : 1

cli(process.argv).pipe(
  Effect.tapErrorCause(report),
  Effect.provide(MainLayer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => onExit(exitCode(exit))
  })
)
