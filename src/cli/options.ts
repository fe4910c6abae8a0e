import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { isIP } from "node:net"
import type { Endpoint } from "../net/Datagram.js"
import type { SessionConfig } from "../session/index.js"
import { parsePeerAddress } from "./peerAddress.js"
import { UsageError } from "./UsageError.js"

/** `-d DIR`: where a torrent's data is (`seed`, `verify`). */
export const dataDirectory = Options.directory("directory").pipe(
  Options.withAlias("d"),
  Options.withDefault("."),
  Options.withDescription("the folder holding the torrent's data (default: the current folder)")
)

/** Options shared by the commands that run a torrent (`download`, `seed`). */
export const swarmOptions = {
  peer: Options.text("peer").pipe(
    Options.repeated,
    Options.withDescription("a peer to connect to, HOST:PORT or [IPV6]:PORT (repeatable)")
  ),
  port: Options.integer("port").pipe(
    Options.withDefault(6881),
    Options.withDescription("the TCP port to accept peers on (the next free one of the ten after it if taken; 0: any)")
  ),
  bind: Options.text("bind").pipe(
    Options.repeated,
    Options.withDescription("an address to listen on, IPv4 or IPv6 (repeatable; default: every interface of both)")
  ),
  maxPeers: Options.integer("max-peers").pipe(
    Options.withDefault(50),
    Options.withDescription("the most peers to be connected to at once")
  ),
  noTrackers: Options.boolean("no-trackers").pipe(
    Options.withDescription("do not ask the torrent's trackers for peers (use --peer)")
  ),
  stateDir: Options.directory("state-dir").pipe(
    Options.optional,
    Options.withDescription(
      "where resume files are kept (default: $BT_STATE_DIR, $XDG_STATE_HOME/bt or ~/.local/state/bt)"
    )
  ),
  json: Options.boolean("json").pipe(Options.withDescription("print progress and the result as JSON lines"))
}

export interface SwarmArgs {
  readonly peer: ReadonlyArray<string>
  readonly bind: ReadonlyArray<string>
  readonly port: number
  readonly maxPeers: number
}

/** The session settings the shared options give. */
export const sessionConfigOf = (args: SwarmArgs): Partial<SessionConfig> => ({
  port: args.port,
  maxPeers: args.maxPeers,
  ...(args.bind.length > 0 ? { listenHosts: args.bind } : {})
})

/** Checks the shared options, returning the parsed peer addresses. */
export const checkSwarmArgs = (args: SwarmArgs): Effect.Effect<ReadonlyArray<Endpoint>, UsageError> =>
  Effect.gen(function*() {
    const peers: Array<Endpoint> = []
    for (const text of args.peer) {
      const parsed = parsePeerAddress(text)
      if (Either.isLeft(parsed)) return yield* new UsageError({ message: parsed.left })
      peers.push(parsed.right)
    }
    if (args.port < 0 || args.port > 65535) {
      return yield* new UsageError({ message: `--port ${args.port} is not a TCP port (0-65535)` })
    }
    if (args.maxPeers < 1) return yield* new UsageError({ message: "--max-peers must be at least 1" })
    const badBind = args.bind.find((host) => isIP(host) === 0)
    if (badBind !== undefined) {
      return yield* new UsageError({ message: `--bind ${badBind}: expected an IPv4 or IPv6 address` })
    }
    return peers
  })
