import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { Datagram } from "../net/Datagram.js"
import { makeHttpTrackers } from "./http/client.js"
import { defaultTrackerConfig, type TrackerConfig } from "./TrackerConfig.js"
import { TrackerError } from "./TrackerError.js"
import type { AnnounceRequest, AnnounceResponse, ScrapeEntry } from "./types.js"
import { makeUdpTrackers } from "./udp/client.js"

/** Talks to one tracker at a time, over HTTP(S) or UDP as its URL says. Tier logic lives above it. */
export class Tracker extends Context.Tag("bt/Tracker")<Tracker, {
  /** Announces to the tracker at `url`. A `tracker id` it hands out is remembered and echoed back. */
  readonly announce: (url: string, request: AnnounceRequest) => Effect.Effect<AnnounceResponse, TrackerError>
  /** Swarm counts for each info-hash, keyed by its hex. */
  readonly scrape: (
    url: string,
    infoHashes: ReadonlyArray<Uint8Array>
  ) => Effect.Effect<ReadonlyMap<string, ScrapeEntry>, TrackerError>
}>() {}

const scheme = (url: string): string => url.slice(0, Math.max(0, url.indexOf(":"))).toLowerCase()

const unsupported = (url: string) =>
  new TrackerError({ reason: "BadUrl", url, detail: "unsupported tracker protocol (only http, https and udp)" })

export const make = (
  config: Partial<TrackerConfig> = {}
): Effect.Effect<Tracker["Type"], never, HttpClient.HttpClient | Datagram | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = { ...defaultTrackerConfig, ...config }
    const http = yield* makeHttpTrackers(settings)
    const udp = yield* makeUdpTrackers(settings)
    /** `tracker id`s handed out by HTTP trackers, per tracker and torrent. */
    const trackerIds = yield* Ref.make(new Map<string, string>())

    /** Keeps at most `maxPeers` of an answer's peers: a flood is cut, not passed on. */
    const bounded = (url: string) => (response: AnnounceResponse): Effect.Effect<AnnounceResponse> =>
      response.peers.length <= settings.maxPeers
        ? Effect.succeed(response)
        : Effect.as(
          Effect.logDebug(`${url}: ${response.peers.length} peers in one answer; keeping ${settings.maxPeers}`),
          { ...response, peers: response.peers.slice(0, settings.maxPeers) }
        )

    const announce = (url: string, request: AnnounceRequest): Effect.Effect<AnnounceResponse, TrackerError> =>
      Effect.flatMap(announceOnce(url, request), bounded(url))

    const announceOnce = (url: string, request: AnnounceRequest): Effect.Effect<AnnounceResponse, TrackerError> => {
      switch (scheme(url)) {
        case "http":
        case "https": {
          const key = `${url}|${Buffer.from(request.infoHash).toString("hex")}`
          return Ref.get(trackerIds).pipe(
            Effect.flatMap((ids) => http.announce(url, request, ids.get(key))),
            Effect.tap((response) =>
              response.trackerId === undefined
                ? Effect.void
                : Ref.update(trackerIds, (ids) => new Map(ids).set(key, response.trackerId!))
            )
          )
        }
        case "udp":
          return udp.announce(url, request)
        default:
          return Effect.fail(unsupported(url))
      }
    }

    const scrape = (url: string, infoHashes: ReadonlyArray<Uint8Array>) => {
      switch (scheme(url)) {
        case "http":
        case "https":
          return http.scrape(url, infoHashes)
        case "udp":
          return udp.scrape(url, infoHashes)
        default:
          return Effect.fail(unsupported(url))
      }
    }

    return Tracker.of({ announce, scrape })
  })

/** The Tracker service with default timeouts. Needs an `HttpClient` and a `Datagram` (UDP) from the platform. */
export const layer: Layer.Layer<Tracker, never, HttpClient.HttpClient | Datagram> = Layer.scoped(Tracker, make())

/** The Tracker service with some timeouts or limits changed. */
export const layerConfig = (
  config: Partial<TrackerConfig>
): Layer.Layer<Tracker, never, HttpClient.HttpClient | Datagram> => Layer.scoped(Tracker, make(config))

/** A Tracker double for tests: the given methods, and a defect for any other call. */
export const layerTest = (methods: Partial<Tracker["Type"]>): Layer.Layer<Tracker> =>
  Layer.succeed(
    Tracker,
    Tracker.of({
      announce: methods.announce ?? (() => Effect.dieMessage("Tracker.announce was not expected in this test")),
      scrape: methods.scrape ?? (() => Effect.dieMessage("Tracker.scrape was not expected in this test"))
    })
  )
