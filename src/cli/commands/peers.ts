import * as Args from "@effect/cli/Args"
import * as Clock from "effect/Clock"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Metainfo, trackerTiers } from "../../metainfo/index.js"
import { makeAnnounceKey, makePeerId } from "../../peer/peerId.js"
import {
  type AnnounceRequest,
  type AnnounceResponse,
  answered,
  failed,
  scraped,
  Tracker,
  TrackerError,
  type TrackerStatus
} from "../../tracker/index.js"
import { table } from "../format.js"
import { nodeTrackerLayer } from "../layers.js"
import { CommandFailed, UsageError } from "../UsageError.js"
import type { CommandHelp } from "../help.js"

interface TrackerResult {
  readonly url: string
  readonly tier: number
  readonly result: Either.Either<AnnounceResponse, TrackerError>
  /** As a download's progress shows it: state, counts (with a scrape's `downloaded`), last and next announce. */
  readonly status: TrackerStatus
}

/** The status fields a download's `--json` progress shows, beside this command's own. */
const statusJson = ({ status }: TrackerResult) => ({
  state: status.state,
  seeders: status.seeders,
  leechers: status.leechers,
  downloaded: status.downloaded,
  lastAnnounce: status.lastAnnounce,
  nextAnnounce: status.nextAnnounce
})

const resultJson = (r: TrackerResult) =>
  Either.match(r.result, {
    onLeft: (error) => ({ url: r.url, tier: r.tier, error: error.detail, reason: error.reason, ...statusJson(r) }),
    onRight: (answer) => ({
      url: r.url,
      tier: r.tier,
      ...statusJson(r),
      peers: answer.peers,
      interval: answer.interval,
      minInterval: answer.minInterval,
      complete: answer.complete,
      incomplete: answer.incomplete,
      warning: answer.warning
    })
  })

const resultText = ({ result, status, url }: TrackerResult): string =>
  Either.match(result, {
    onLeft: (error) => `${url}: error: ${error.detail}`,
    onRight: (answer) => {
      const downloaded = status.downloaded === undefined ? "" : `, ${status.downloaded} downloaded`
      const counts = status.seeders === undefined && status.leechers === undefined
        ? ""
        : ` (${status.seeders ?? "?"} seeders, ${status.leechers ?? "?"} leechers${downloaded})`
      const head = `${url}: ${answer.peers.length} peer${answer.peers.length === 1 ? "" : "s"}${counts}, interval ${answer.interval} s`
      const warning = answer.warning === undefined ? [] : [`  warning: ${answer.warning}`]
      const peers = answer.peers.map((peer) => `  ${peer.host.includes(":") ? `[${peer.host}]` : peer.host}:${peer.port}`)
      return [head, ...warning, ...peers].join("\n")
    }
  })

/**
 * A one-shot diagnostic need not give a silent UDP tracker the minute a download does: retransmit after 2, 4 and
 * 8 s instead; `--timeout` bounds each tracker anyway.
 */
const PeersTrackerLayer = nodeTrackerLayer({ udpTimeout: Duration.seconds(2), udpRetransmits: 3 })

export const peers = Command.make(
  "peers",
  {
    torrent: Args.text({ name: "file.torrent" }).pipe(Args.withDescription("the torrent whose trackers to ask")),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of text")),
    port: Options.integer("port").pipe(
      Options.withDefault(6881),
      Options.withDescription("the port to announce (we do not listen on it for this command)")
    ),
    timeout: Options.integer("timeout").pipe(
      Options.withDefault(15),
      Options.withDescription("seconds to wait for each tracker")
    )
  },
  ({ json, port, timeout, torrent }) =>
    Effect.gen(function*() {
      const metainfo = yield* Metainfo
      const tracker = yield* Tracker
      const parsed = yield* metainfo.load(torrent)
      if (port < 1 || port > 65535) return yield* new UsageError({ message: `--port ${port} is not a TCP port (1-65535)` })
      if (timeout < 1) return yield* new UsageError({ message: "--timeout must be at least 1 second" })
      const tiers = trackerTiers(parsed)
      if (tiers.length === 0) return yield* new UsageError({ message: `${torrent}: the torrent lists no trackers` })

      const request: AnnounceRequest = {
        infoHash: parsed.infoHash,
        peerId: makePeerId(),
        port,
        uploaded: 0,
        downloaded: 0,
        left: parsed.totalLength,
        event: "started",
        numWant: 200,
        key: makeAnnounceKey()
      }
      const ask = (url: string) =>
        tracker.announce(url, request).pipe(
          Effect.timeoutFail({
            duration: Duration.seconds(timeout),
            onTimeout: () => new TrackerError({ reason: "Timeout", url, detail: `no answer within ${timeout} s` })
          }),
          Effect.either
        )
      /** A tracker that answered is scraped too, for its `downloaded` count (bounded; skipped if it fails). */
      const withScrape = (url: string, status: TrackerStatus) =>
        tracker.scrape(url, [parsed.infoHash]).pipe(
          Effect.timeout(Duration.seconds(timeout)),
          Effect.map((entries) => {
            const entry = entries.get(parsed.infoHashHex)
            return entry === undefined ? status : scraped(status, entry)
          }),
          Effect.orElseSucceed(() => status)
        )
      const statusOf = (url: string, tier: number, result: TrackerResult["result"], now: number): TrackerStatus => {
        const fresh: TrackerStatus = { url, tier, state: "not-contacted", failures: 0 }
        return Either.match(result, {
          onLeft: (error) => failed(fresh, error, now),
          onRight: (answer) => ({ ...answered(fresh, answer, now), nextAnnounce: now + 1000 * answer.interval })
        })
      }
      const asked = tiers.flatMap((tier, i) => tier.map((url) => ({ url, tier: i + 1 })))
      /** What each tracker said so far, in the order asked: what Ctrl-C prints. */
      const found = new Map<string, TrackerResult>()
      const sayFound = (results: ReadonlyArray<TrackerResult>) =>
        json
          ? Console.log(JSON.stringify({ infoHash: parsed.infoHashHex, trackers: results.map(resultJson) }))
          : Effect.zipRight(
            Console.log(table([["info-hash", parsed.infoHashHex]])),
            results.length === 0 ? Effect.void : Console.log(results.map(resultText).join("\n"))
          )
      /** We only asked: takes us off the trackers that listed us (each bounded to 3 s). */
      const unlist = (results: Iterable<TrackerResult>) =>
        Effect.forEach(
          [...results].filter(({ result }) => Either.isRight(result)),
          ({ url }) => tracker.announce(url, { ...request, event: "stopped", numWant: 0 }).pipe(Effect.timeout("3 seconds"), Effect.ignore),
          { concurrency: "unbounded", discard: true }
        )
      /** Ctrl-C: what had come in, and which trackers had not answered yet. */
      const sayStopped = Effect.suspend(() => {
        const results = asked.flatMap(({ url }) => found.get(url) ?? [])
        const waiting = asked.filter(({ url }) => !found.has(url)).map(({ url }) => url)
        return json
          ? Console.log(JSON.stringify({ event: "stopped", infoHash: parsed.infoHashHex, trackers: results.map(resultJson), waiting }))
          : Effect.zipRight(
            sayFound(results),
            Console.log(
              `stopped: ${results.length} of ${asked.length} tracker${asked.length === 1 ? "" : "s"} answered` +
                (waiting.length === 0 ? "" : `; no answer yet from ${waiting.join(", ")}`)
            )
          )
      }).pipe(Effect.zipRight(Effect.suspend(() => unlist(found.values()))))
      // A diagnostic asks every tracker at once, rather than walking the tiers as a download does.
      const results: ReadonlyArray<TrackerResult> = yield* Effect.forEach(
        asked,
        ({ tier, url }) =>
          Effect.gen(function*() {
            const result = yield* ask(url)
            const status = statusOf(url, tier, result, yield* Clock.currentTimeMillis)
            found.set(url, { url, tier, result, status })
            const full = { url, tier, result, status: Either.isRight(result) ? yield* withScrape(url, status) : status }
            found.set(url, full)
            return full
          }),
        { concurrency: "unbounded" }
      ).pipe(Effect.onInterrupt(() => sayStopped))
      yield* unlist(results)

      yield* sayFound(results)
      if (results.every(({ result }) => Either.isLeft(result))) {
        return yield* new CommandFailed({ message: "no tracker answered" })
      }
    }).pipe(Effect.provide(PeersTrackerLayer))
).pipe(Command.withDescription(
  "Ask a torrent's trackers for peers. Announces once to every tracker and prints the peers each returns, " +
    "with each tracker's status (working or its error; seeders, leechers and downloaded from a scrape)."
))

export const peersHelp: CommandHelp = {
  examples: [["bt peers ubuntu.torrent"], ["bt peers ubuntu.torrent --json --timeout 5"]]
}
