import { HttpClient, type HttpClientError } from "@effect/platform"
import { Chunk, Duration, Effect, Either, Stream } from "effect"
import type { TrackerConfig } from "../TrackerConfig.js"
import { TrackerError } from "../TrackerError.js"
import type { AnnounceRequest, AnnounceResponse, ScrapeEntry } from "../types.js"
import { announceUrl, scrapeUrl, scrapeUrlFor } from "./request.js"
import { decodeAnnounceResponse, decodeScrapeResponse, type ResponseProblem } from "./response.js"

const causeText = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** HTTP(S) trackers (BEP 3, BEP 23) over the platform's HttpClient. */
export const makeHttpTrackers = (config: TrackerConfig) =>
  Effect.gen(function*() {
    const client = HttpClient.followRedirects(yield* HttpClient.HttpClient, config.maxRedirects)
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

    const tooLarge = (tracker: string) =>
      new TrackerError({ reason: "Decode", url: tracker, detail: `the answer is larger than ${config.maxBodyBytes} bytes` })

    /** GETs `url` and returns the body of a 200 answer, reading at most `maxBodyBytes`. */
    const get = (tracker: string, url: string): Effect.Effect<Uint8Array, TrackerError> =>
      client.get(url).pipe(
        Effect.mapError(fromHttpError(tracker)),
        Effect.flatMap((response) =>
          response.status !== 200
            ? Effect.fail(new TrackerError({ reason: "HttpStatus", url: tracker, detail: `HTTP status ${response.status}` }))
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
