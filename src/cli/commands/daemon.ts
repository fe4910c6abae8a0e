/**
 * `bt daemon`: the Client in the foreground, driven over Transmission's RPC. Systemd-friendly: logs go to stderr
 * with their levels, and SIGTERM or SIGINT (or the RPC's `session-close`) stops it cleanly, exit code 0, after the
 * Client has saved its state and told trackers it stopped. Node's HTTP server is provided here and only here.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import { statfs } from "node:fs/promises"
import { isIP } from "node:net"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { AddSource, Client } from "../../client/index.js"
import { PortMapper } from "../../net/portmap/PortMapper.js"
import { Session } from "../../session/index.js"
import * as Rpc from "../../rpc/index.js"
import { nodeClientLayer } from "../clientLayer.js"
import { stateDirOf } from "../layers.js"
import { dhtOptionsOf, swarmOptions } from "../options.js"
import { nodeHttpServerLayer } from "../httpServer.js"
import { LogFilePath } from "../logging.js"
import { describePlatformError } from "../platformError.js"
import { UsageError } from "../UsageError.js"
import { authFromEnv, parseCredentials } from "./remote.js"
import type { CommandHelp } from "../help.js"

const options = {
  rpcPort: Options.integer("rpc-port").pipe(
    Options.withDefault(9091),
    Options.withDescription("the TCP port of the RPC (Transmission's /transmission/rpc) and /metrics (default: 9091)")
  ),
  rpcBind: Options.text("rpc-bind").pipe(
    Options.withDefault("127.0.0.1"),
    Options.withDescription("the address the RPC listens on (default: 127.0.0.1); any but loopback needs --rpc-auth")
  ),
  rpcAuth: Options.text("rpc-auth").pipe(
    Options.optional,
    Options.withDescription("USER:PASSWORD the RPC asks for (HTTP Basic); or $BT_RPC_AUTH, or --rpc-auth-file")
  ),
  rpcAuthFile: Options.file("rpc-auth-file").pipe(
    Options.optional,
    Options.withDescription("a file whose first line is USER:PASSWORD, so that the password is not in `ps`")
  ),
  rpcHost: Options.text("rpc-host").pipe(
    Options.repeated,
    Options.withDescription(
      "a host name the RPC may be reached by besides IP addresses and localhost (repeatable; checked when bound to loopback)"
    )
  ),
  downloadDir: Options.directory("download-dir").pipe(
    Options.optional,
    Options.withDescription(
      "where torrents' data goes unless added with another folder (default: the one saved in the state folder, " +
        "else the current folder)"
    )
  ),
  stateDir: swarmOptions.stateDir,
  port: Options.integer("port").pipe(
    Options.withDefault(51413),
    Options.withDescription("the TCP port to accept peers on, 51413 by default (uTP and the DHT use the UDP port of that number)")
  ),
  noDht: swarmOptions.noDht,
  dhtBootstrap: swarmOptions.dhtBootstrap,
  noPortMapping: swarmOptions.noPortMapping,
  noLsd: swarmOptions.noLsd,
  encryption: swarmOptions.encryption,
  watchDir: Options.directory("watch-dir").pipe(
    Options.optional,
    Options.withDescription("a folder watched for new .torrent files, each added as it appears")
  )
}

const LOOPBACK = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host)

/** The RPC's credentials: --rpc-auth, else --rpc-auth-file, else $BT_RPC_AUTH; none for no auth. */
const credentialsOf = (
  auth: Option.Option<string>,
  file: Option.Option<string>
): Effect.Effect<Option.Option<Rpc.Credentials>, UsageError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    let text: Option.Option<string> = auth
    let from = "--rpc-auth"
    if (Option.isNone(text) && Option.isSome(file)) {
      const fs = yield* FileSystem.FileSystem
      const content = yield* fs.readFileString(file.value).pipe(
        Effect.mapError((e) => new UsageError({ message: `--rpc-auth-file: ${describePlatformError(e, file.value)}` }))
      )
      text = Option.some(content.split(/\r?\n/)[0] ?? "")
      from = `--rpc-auth-file ${file.value}`
    }
    if (Option.isNone(text)) {
      text = yield* authFromEnv
      from = "BT_RPC_AUTH"
    }
    if (Option.isNone(text)) return Option.none()
    const credentials = parseCredentials(text.value)
    if (credentials === undefined) return yield* new UsageError({ message: `${from}: expected USER:PASSWORD` })
    return Option.some(credentials)
  })

/** How often the watch folder is looked at. */
const WATCH_EVERY = Schedule.spaced("2 seconds")

/**
 * Adds the `.torrent` files that appear in a folder, looking every 2 s. A file is tried once per modification
 * time, so one still being written is tried again once it changes; a duplicate is harmless.
 */
const watchFolder = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const client = yield* Client
    const seen = new Map<string, number>()
    const scan = Effect.gen(function*() {
      const names = yield* fs.readDirectory(dir)
      for (const name of names.filter((n) => n.toLowerCase().endsWith(".torrent"))) {
        const path = join(dir, name)
        const info = yield* fs.stat(path)
        const mtime = Option.getOrElse(Option.map(info.mtime, (d) => d.getTime()), () => 0)
        if (seen.get(path) === mtime) continue
        seen.set(path, mtime)
        yield* client.add(AddSource.path(path)).pipe(
          Effect.tap((added) => Effect.logInfo(`watch folder: ${added.duplicate ? "already had" : "added"} #${added.id} ${added.name} from ${name}`)),
          Effect.catchAll((error) => Effect.logWarning(`watch folder: ${name}: ${error.message}`))
        )
      }
    }).pipe(Effect.catchAll((error) => Effect.logWarning(`watch folder: ${describePlatformError(error)}`)))
    yield* scan.pipe(Effect.repeat(WATCH_EVERY), Effect.forkScoped)
  })

/**
 * While the daemon runs, SIGTERM and SIGINT ask it to stop (resolving `stop`) instead of interrupting the program,
 * so that it ends as a success (exit 0, which is what systemd expects of a clean stop) after its scopes close.
 * A second signal ends the process at once. SIGHUP changes nothing but the log: the --log-file is reopened
 * (logging.ts, whose listener runs first) and the daemon says so in it; the torrents run on. The runtime's own
 * handlers are set aside for that time and put back after.
 */
const stopOnSignals = (stop: Deferred.Deferred<string>) =>
  Effect.flatMap(Effect.zip(Effect.runtime<never>(), LogFilePath), ([runtime, logFile]) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const saved = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") }
        let signalled = false
        const onSignal = (signal: NodeJS.Signals) => {
          // A second signal while the state is being saved: the user will not wait, so leave at once.
          if (signalled) {
            process.stderr.write(`bt: ${signal} again: leaving without finishing the shutdown\n`)
            process.exit(1)
          }
          signalled = true
          Effect.runSync(Deferred.succeed(stop, signal))
        }
        const onHangup = () => {
          Runtime.runFork(runtime)(Effect.logInfo(
            logFile === undefined
              ? "SIGHUP: no --log-file to reopen (the log goes to stderr); torrents carry on"
              : `SIGHUP: log ${logFile} reopened; torrents carry on`
          ))
        }
        for (const signal of ["SIGINT", "SIGTERM"] as const) {
          process.removeAllListeners(signal)
          process.on(signal, onSignal)
        }
        process.on("SIGHUP", onHangup)
        return { saved, onSignal, onHangup }
      }),
      ({ onHangup, onSignal, saved }) =>
        Effect.sync(() => {
          process.off("SIGHUP", onHangup)
          for (const signal of ["SIGINT", "SIGTERM"] as const) {
            process.off(signal, onSignal)
            for (const listener of saved[signal]) process.on(signal, listener)
          }
        })
    ))

/** Node's HTTP server for the RPC. */
const rpcServerLayer = (host: string, port: number) => nodeHttpServerLayer(host, port, "the RPC", "--rpc-port")

export const daemon = Command.make("daemon", options, (args) =>
  Effect.gen(function*() {
    if (args.rpcPort < 0 || args.rpcPort > 65535) {
      return yield* new UsageError({ message: `--rpc-port ${args.rpcPort} is not a TCP port (0-65535)` })
    }
    if (args.port < 0 || args.port > 65535) {
      return yield* new UsageError({ message: `--port ${args.port} is not a TCP port (0-65535)` })
    }
    if (args.rpcBind !== "localhost" && isIP(args.rpcBind) === 0) {
      return yield* new UsageError({ message: `--rpc-bind ${args.rpcBind}: expected an IP address` })
    }
    const auth = yield* credentialsOf(args.rpcAuth, args.rpcAuthFile)
    const loopback = LOOPBACK(args.rpcBind)
    if (!loopback && Option.isNone(auth)) {
      return yield* new UsageError({
        message: `--rpc-bind ${args.rpcBind} without --rpc-auth would let anyone who reaches this address run the ` +
          "daemon; give --rpc-auth USER:PASSWORD (or BT_RPC_AUTH, or --rpc-auth-file)"
      })
    }
    const dht = yield* dhtOptionsOf(args)
    const stateDir = resolve(yield* stateDirOf(args.stateDir))
    const downloadDir = resolve(Option.getOrElse(args.downloadDir, () => "."))
    /** Resolved with what asked the daemon to stop. */
    const stop = yield* Deferred.make<string>()
    yield* stopOnSignals(stop)

    const clientLayer = nodeClientLayer({
      stateDir: Option.some(stateDir),
      downloadDir,
      downloadDirOverride: Option.isSome(args.downloadDir),
      port: args.port,
      encryption: args.encryption,
      dht: Option.map(dht, (options) => options.bootstrap),
      portMapping: !args.noPortMapping,
      lsd: !args.noLsd
    })

    const program = Effect.gen(function*() {
      const client = yield* Client
      const session = yield* Session
      const mapper = yield* PortMapper
      const reachability = Effect.map(
        Effect.all([mapper.status, session.acceptedPeers, mapper.rejected, session.externalAddresses]),
        ([mapping, acceptedPeers, rejected, externalAddresses]): Rpc.Reachability => ({
          portMapping: !args.noPortMapping,
          lsd: !args.noLsd,
          mapping,
          acceptedPeers,
          externalAddresses,
          ...(args.noPortMapping ? {} : { mappingRejected: rejected })
        })
      )
      const sessionId = Rpc.makeSessionId()
      const router = yield* Rpc.make({
        sessionId,
        auth,
        allowedHosts: loopback ? Option.some(args.rpcHost) : Option.none(),
        maxBodyBytes: Rpc.defaultMaxBodyBytes,
        version: "0.1.0",
        configDir: stateDir,
        freeSpace: (path) =>
          Effect.tryPromise({
            try: () => statfs(path),
            catch: (cause) =>
              new Rpc.RpcError({ reason: "failed", message: `free-space ${path}: ${(cause as Error).message}`, cause })
          }).pipe(Effect.map((s) => ({ free: s.bavail * s.bsize, total: s.blocks * s.bsize }))),
        close: Effect.asVoid(Deferred.succeed(stop, "session-close")),
        reachability
      })
      // The web UI, built into dist/web beside dist/cli (this file is dist/cli/commands/daemon.js).
      const webDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "web")
      const web = yield* Rpc.webRouter({ auth, allowedHosts: loopback ? Option.some(args.rpcHost) : Option.none() }, webDir)
      yield* HttpServer.serveEffect(HttpRouter.concat(router, web))
      const host = args.rpcBind.includes(":") ? `[${args.rpcBind}]` : args.rpcBind
      const server = yield* HttpServer.HttpServer
      const rpcPort = server.address._tag === "TcpAddress" ? server.address.port : args.rpcPort
      yield* Effect.logInfo(
        `bt daemon: RPC at http://${host}:${rpcPort}/transmission/rpc${Option.isSome(auth) ? " (auth on)" : ""}, ` +
          `web UI at http://${host}:${rpcPort}/, ` +
          `peers on port ${client.port}, data in ${downloadDir}, state in ${stateDir}`
      )
      if (Option.isSome(args.watchDir)) yield* watchFolder(resolve(args.watchDir.value))
      const why = yield* Deferred.await(stop)
      yield* Effect.logInfo(`${why}: saving state and stopping`)
    }).pipe(
      Effect.scoped,
      Effect.provide(rpcServerLayer(args.rpcBind, args.rpcPort)),
      Effect.provide(clientLayer)
    )
    yield* program
    yield* Effect.logInfo("stopped")
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription(
      "Run many torrents in the foreground, driven over Transmission's RPC (transmission-remote, Transmission " +
        "GUIs, bt add/list/...). Stops cleanly on SIGTERM or Ctrl-C; SIGHUP reopens its --log-file."
    )
  )

export const daemonHelp: CommandHelp = {
  common: ["--download-dir", "--rpc-port", "--rpc-bind", "--rpc-auth", "--port", "--watch-dir"],
  examples: [
    ["bt daemon --download-dir ~/Downloads", "then: bt add ubuntu.torrent; bt list"],
    ["bt daemon --rpc-bind 0.0.0.0 --rpc-auth-file ~/.bt-rpc-auth", "reachable from the LAN, with a password"],
    ["bt daemon --watch-dir ~/torrents --no-dht", "adds each .torrent that appears in ~/torrents"]
  ]
}
