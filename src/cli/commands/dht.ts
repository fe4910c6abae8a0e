import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Dht } from "../../dht/Dht.js"
import { isMagnet, parseMagnet } from "../../metainfo/index.js"
import { formatEndpoint } from "../../net/endpoint.js"
import { table } from "../format.js"
import { nodeDhtLayer } from "../layers.js"
import { dhtOptionsOf, swarmOptions } from "../options.js"
import { UsageError } from "../UsageError.js"
import type { HelpExtras } from "../help.js"

/** An info-hash in hex (40 characters), or the one a magnet link names. */
const infoHashOf = (text: string): Either.Either<Uint8Array, string> => {
  if (isMagnet(text)) return Either.map(Either.mapLeft(parseMagnet(text), (error) => error.message), (m) => m.infoHash)
  return /^[0-9a-fA-F]{40}$/.test(text)
    ? Either.right(Uint8Array.from(Buffer.from(text, "hex")))
    : Either.left(`${text}: expected an info-hash (40 hex digits) or a magnet link`)
}

const lookup = Command.make(
  "lookup",
  {
    target: Args.text({ name: "info-hash" }).pipe(
      Args.withDescription("the info-hash (40 hex digits) or magnet link to look for peers of")
    ),
    dhtBootstrap: swarmOptions.dhtBootstrap,
    port: Options.integer("port").pipe(
      Options.withDefault(0),
      Options.withDescription("the UDP port for our node (default: any free one)")
    ),
    announce: Options.integer("announce").pipe(
      Options.optional,
      Options.withDescription("also announce this TCP port for the info-hash to the closest nodes")
    ),
    stateDir: Options.directory("state-dir").pipe(
      Options.optional,
      Options.withDescription(
        "where the routing table that bt download and bt daemon save is read from (default: as for download); " +
          "a lookup writes nothing there"
      )
    ),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of text"))
  },
  (args) =>
    Effect.flatMap(
      Either.match(infoHashOf(args.target), {
        onLeft: (message) => Effect.fail(new UsageError({ message })),
        onRight: Effect.succeed
      }),
      (infoHash) => lookUp(infoHash, args)
    )
).pipe(Command.withDescription("Look an info-hash up on the DHT. Prints the peers found (BEP 5) and the nodes that answered."))

/** Runs a DHT node as the options say, looks `infoHash` up, and prints what it found. */
const lookUp = (
  infoHash: Uint8Array,
  args: {
    readonly dhtBootstrap: ReadonlyArray<string>
    readonly port: number
    readonly announce: Option.Option<number>
    readonly stateDir: Option.Option<string>
    readonly json: boolean
  }
) =>
  Effect.gen(function*() {
    const dht = yield* Dht
    const started = yield* Clock.currentTimeMillis
    const result = yield* dht.getPeers(infoHash, Option.match(args.announce, {
      onNone: () => ({}),
      onSome: (announcePort) => ({ announcePort })
    }))
    const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
    const stats = yield* dht.stats
    const peers = result.peers.map(formatEndpoint)
    const closest = result.closest.map(({ node }) => formatEndpoint(node))
    yield* args.json
      ? Console.log(JSON.stringify({ infoHash: Buffer.from(infoHash).toString("hex"), seconds, peers, closest, dht: stats }))
      : Console.log([
        table([
          ["info-hash", Buffer.from(infoHash).toString("hex")],
          ["lookup", `${seconds.toFixed(1)} s, ${closest.length} closest nodes answered`],
          ["our node", `${stats.nodeId} on UDP ${stats.port}, ${stats.nodes} nodes known`],
          ["peers", String(peers.length)]
        ]),
        ...peers.map((peer) => `  ${peer}`)
      ].join("\n"))
  }).pipe(
    Effect.provide(Layer.unwrapEffect(
      Effect.map(dhtOptionsOf({ noDht: false, dhtBootstrap: args.dhtBootstrap }), (options) =>
        nodeDhtLayer(args.port, { ...Option.getOrElse(options, () => ({ bootstrap: [] })), readOnly: true }, args.stateDir))
    ))
  )

export const dht = Command.make("dht").pipe(
  Command.withDescription("DHT diagnostics. Look info-hashes up on the DHT without downloading."),
  Command.withSubcommands([lookup])
)

export const dhtHelp: HelpExtras = {
  dht: { examples: [["bt dht lookup 0123456789abcdef0123456789abcdef01234567"]] },
  "dht lookup": {
    examples: [
      ["bt dht lookup 0123456789abcdef0123456789abcdef01234567"],
      ["bt dht lookup 'magnet:?xt=urn:btih:...' --json"]
    ]
  }
}
