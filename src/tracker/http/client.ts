import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { TrackerConfig } from "../TrackerConfig.js"
import { TrackerError } from "../TrackerError.js"
import type { AnnounceRequest, AnnounceResponse, ScrapeEntry } from "../types.js"
import { announceUrl, scrapeUrl, scrapeUrlFor } from "./request.js"
import { decodeAnnounceResponse, decodeScrapeResponse, type ResponseProblem, trackerText } from "./response.js"

const causeText = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** HTTP(S) trackers (BEP 3, BEP 23) over the platform's HttpClient. */
export const makeHttpTrackers = (config: TrackerConfig) =>
  Effect.gen(function*() {
    // Every request is aborted when the scope of the `get` that made it closes: an answer we do not read (an error
    // status, a redirect, an oversized body) must not hold its connection open until garbage collection.
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const timeout = Duration.decode(config.httpTimeout)

    const fromHttpError = (tracker: string) => (error: HttpClientError.HttpClientError): TrackerError =>
      error._tag === "RequestError" && error.reason !== "Transport"
        ? new TrackerError({ reason: "BadUrl", url: tracker, detail: "not a valid HTTP URL", cause: error })
        : new TrackerError({
          reason: "Network",
          url: tracker,
          detail: `cannot reach the tracker (${causeText(error.cause ?? error)})`,
          cause: error
        })

    const badStatus = (tracker: string, status: number, why = "") =>
      new TrackerError({ reason: "HttpStatus", url: tracker, detail: `HTTP status ${status}${why}` })

    const tooLarge = (tracker: string) =>
      new TrackerError({ reason: "Decode", url: tracker, detail: `the answer is larger than ${config.maxBodyBytes} bytes` })

    /**
     * GETs `url`, following up to `maxRedirects` redirects to http(s) URLs. Redirects are followed here rather than
     * with `HttpClient.followRedirects`, which re-encodes the query of the new URL as UTF-8 text (mangling a binary
     * `info_hash`) and lets a redirect to another protocol throw inside the Node client.
     */
    const follow = (
      tracker: string,
      url: string,
      redirects: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, TrackerError, Scope.Scope> =>
      client.get(url).pipe(
        Effect.mapError(fromHttpError(tracker)),
        Effect.flatMap((response) => {
          const location = response.headers.location
          if (response.status < 300 || response.status >= 400 || location === undefined) return Effect.succeed(response)
          if (redirects >= config.maxRedirects) {
            return Effect.fail(badStatus(tracker, response.status, ` (more than ${config.maxRedirects} redirects)`))
          }
          const next = URL.canParse(location, url) ? new URL(location, url) : undefined
          if (next === undefined || (next.protocol !== "http:" && next.protocol !== "https:")) {
            const shown = trackerText(Buffer.from(location))
            return Effect.fail(badStatus(tracker, response.status, ` (redirect to ${shown} not followed)`))
          }
          return follow(tracker, next.href, redirects + 1)
        })
      )

    /** GETs `url` and returns the body of a 200 answer, reading at most `maxBodyBytes`. */
    const get = (tracker: string, url: string): Effect.Effect<Uint8Array, TrackerError> =>
      follow(tracker, url, 0).pipe(
        Effect.flatMap((response) =>
          response.status !== 200
            ? Effect.fail(badStatus(tracker, response.status))
            : response.stream.pipe(
              Stream.mapError(fromHttpError(tracker)),
              Stream.runFoldEffect(
                { size: 0, chunks: Chunk.empty<Uint8Array>() },
                (acc, chunk) =>
                  acc.size + chunk.length > config.maxBodyBytes
                    ? Effect.fail(tooLarge(tracker))
                    : Effect.succeed({ size: acc.size + chunk.length, chunks: Chunk.append(acc.chunks, chunk) })
              ),
              Effect.map(({ chunks }) => Buffer.concat(Chunk.toReadonlyArray(chunks)))
            )
        ),
        Effect.scoped,
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new TrackerError({ reason: "Timeout", url: tracker, detail: `no answer within ${Duration.format(timeout)}` })
        })
      )

    const decoded = <A>(tracker: string, result: Either.Either<A, ResponseProblem>) =>
      Either.mapLeft(result, (problem) => new TrackerError({ reason: problem.reason, url: tracker, detail: problem.detail }))

    const announce = (
      tracker: string,
      request: AnnounceRequest,
      trackerId: string | undefined
    ): Effect.Effect<AnnounceResponse, TrackerError> =>
      get(tracker, announceUrl(tracker, request, trackerId)).pipe(
        Effect.flatMap((body) => decoded(tracker, decodeAnnounceResponse(body)))
      )

    const scrape = (
      tracker: string,
      infoHashes: ReadonlyArray<Uint8Array>
    ): Effect.Effect<ReadonlyMap<string, ScrapeEntry>, TrackerError> => {
      const base = scrapeUrlFor(tracker)
      if (base === undefined) {
        return Effect.fail(
          new TrackerError({ reason: "BadUrl", url: tracker, detail: "this tracker's URL does not allow scraping" })
        )
      }
      return get(tracker, scrapeUrl(base, infoHashes)).pipe(
        Effect.flatMap((body) => decoded(tracker, decodeScrapeResponse(body)))
      )
    }

    return { announce, scrape } as const
  })
