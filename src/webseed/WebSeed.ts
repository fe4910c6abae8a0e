import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { publicToPrivate } from "./address.js"
import { defaultWebSeedConfig, type WebSeedConfig } from "./WebSeedConfig.js"
import { WebSeedError } from "./WebSeedError.js"

/** One range of one file on a web seed. */
export interface RangeRequest {
  /** The file's URL (see `fileUrl`). */
  readonly url: string
  /** First byte, in the file. */
  readonly offset: number
  /** Bytes asked; more than zero. */
  readonly length: number
}

/**
 * HTTP web seeds (BEP 19) over the platform's HttpClient: ranges of files fetched with `Range`, checked and bounded.
 */
export class WebSeed extends Context.Tag("bt/WebSeed")<WebSeed, {
  readonly config: WebSeedConfig
  /**
   * GETs `request`'s bytes and hands them to `onData` in order as they arrive (plain code, per chunk: its chunks
   * add up to at most `length` bytes). Succeeds once exactly `length` bytes came; fails with a `WebSeedError`
   * otherwise, having handed on only bytes of the range asked.
   */
  readonly fetch: (request: RangeRequest, onData: (chunk: Uint8Array) => void) => Effect.Effect<void, WebSeedError>
}>() {}

const causeText = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const CONTENT_RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i

/** `Retry-After` in seconds from now: a number of seconds or an HTTP date; undefined if absent or unreadable. */
export const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text)
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000))
}

export const make = (config: Partial<WebSeedConfig> = {}): Effect.Effect<WebSeed["Type"], never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const settings = { ...defaultWebSeedConfig, ...config }
    // Every request is aborted when its scope closes: an answer we do not read (an error page, a redirect, a body
    // past the range) never holds its connection open.
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const idle = Duration.decode(settings.idleTimeout)

    const fail = (url: string, reason: WebSeedError["reason"], detail: string, extra: { retryAfter?: number; cause?: unknown } = {}) =>
      new WebSeedError({ reason, url, detail, ...extra })

    const fromHttpError = (url: string) => (error: HttpClientError.HttpClientError): WebSeedError =>
      error._tag === "RequestError" && error.reason !== "Transport"
        ? fail(url, "HttpStatus", "not a valid HTTP URL", { cause: error })
        : fail(url, "Network", `cannot reach the server (${causeText(error.cause ?? error)})`, { cause: error })

    /**
     * Sends the range request to `url`, following redirects one at a time: each must stay on http(s), must not lead
     * from a public address into a private network, and there may be at most `maxRedirects` of them.
     */
    const follow = (
      original: string,
      url: URL,
      range: string,
      redirects: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, WebSeedError, Scope.Scope> =>
      client.execute(HttpClientRequest.get(url).pipe(HttpClientRequest.setHeader("range", range))).pipe(
        Effect.mapError(fromHttpError(original)),
        Effect.flatMap((response) => {
          const location = response.headers.location
          if (response.status < 300 || response.status >= 400 || location === undefined) return Effect.succeed(response)
          if (redirects >= settings.maxRedirects) {
            return Effect.fail(fail(original, "Redirect", `more than ${settings.maxRedirects} redirects`))
          }
          const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined
          if (next === undefined || (next.protocol !== "http:" && next.protocol !== "https:")) {
            return Effect.fail(fail(original, "Redirect", `redirect to ${JSON.stringify(location.slice(0, 100))} not followed`))
          }
          if (publicToPrivate(url, next)) {
            return Effect.fail(fail(original, "Redirect", `redirect from ${url.host} into a private network (${next.host}) not followed`))
          }
          return follow(original, next, range, redirects + 1)
        })
      )

    /** The response is the range asked: 206 with a matching `Content-Range` (and `Content-Length`, if sent). */
    const checkStatus = (request: RangeRequest, response: HttpClientResponse.HttpClientResponse, nowMs: number) => {
      const { length, offset, url } = request
      const status = response.status
      if (status === 206) {
        const match = CONTENT_RANGE.exec(response.headers["content-range"] ?? "")
        if (match === null || Number(match[1]) !== offset || Number(match[2]) !== offset + length - 1) {
          const got = response.headers["content-range"] ?? "none"
          return Effect.fail(fail(url, "BadRange", `asked bytes ${offset}-${offset + length - 1}, got Content-Range ${got}`))
        }
        const sent = response.headers["content-length"]
        if (sent !== undefined && Number(sent) !== length) {
          return Effect.fail(fail(url, "BadRange", `asked ${length} bytes, Content-Length says ${sent}`))
        }
        return Effect.void
      }
      if (status === 200) return Effect.fail(fail(url, "NoRange", "the server ignores Range requests (200, not 206)"))
      const retryAfter = parseRetryAfter(response.headers["retry-after"], nowMs)
      if (status === 503 || status === 429 || (status >= 500 && status < 600)) {
        return Effect.fail(fail(url, "Busy", `HTTP status ${status}`, retryAfter === undefined ? {} : { retryAfter }))
      }
      return Effect.fail(fail(url, "HttpStatus", `HTTP status ${status}`))
    }

    const fetch = (request: RangeRequest, onData: (chunk: Uint8Array) => void): Effect.Effect<void, WebSeedError> =>
      Effect.gen(function*() {
        const { length, offset, url } = request
        if (!URL.canParse(url)) return yield* Effect.fail(fail(url, "HttpStatus", "not a valid HTTP URL"))
        const response = yield* follow(url, new URL(url), `bytes=${offset}-${offset + length - 1}`, 0)
        yield* checkStatus(request, response, yield* Clock.currentTimeMillis)
        let received = 0
        const clock = yield* Effect.clock
        let lastDataAt = clock.unsafeCurrentTimeMillis()
        // Chunks are taken in plain code, a whole batch per step (a timer per chunk costs more than the bytes).
        const consume = response.stream.pipe(
          Stream.mapError(fromHttpError(url)),
          Stream.runForEachChunk((chunks) => {
            lastDataAt = clock.unsafeCurrentTimeMillis()
            for (const chunk of chunks) {
              const room = length - received
              if (chunk.length > room) {
                if (room > 0) onData(chunk.subarray(0, room))
                received = length
                return Effect.fail(fail(url, "BadRange", `sent more than the ${length} bytes asked`))
              }
              received += chunk.length
              onData(chunk)
            }
            return Effect.void
          })
        )
        // One watchdog per request instead: it fails the request once no byte came for `idleTimeout`.
        const watchdog = Effect.gen(function*() {
          for (;;) {
            yield* Effect.sleep(Duration.toMillis(idle) / 4)
            if (clock.unsafeCurrentTimeMillis() - lastDataAt >= Duration.toMillis(idle)) {
              return yield* Effect.fail(fail(url, "Timeout", `no data for ${Duration.format(idle)}`))
            }
          }
        })
        yield* Effect.raceFirst(consume, watchdog)
        if (received < length) {
          return yield* Effect.fail(fail(url, "BadRange", `sent ${received} of the ${length} bytes asked`))
        }
      }).pipe(
        Effect.scoped,
        Effect.timeoutFail({
          duration: Duration.sum(idle, Duration.seconds(request.length / settings.minRate)),
          onTimeout: () =>
            fail(request.url, "TooSlow", `too slow: ${request.length} bytes not sent at ${settings.minRate} bytes/s or more`)
        })
      )

    return WebSeed.of({ config: settings, fetch })
  })

export const layer: Layer.Layer<WebSeed, never, HttpClient.HttpClient> = Layer.effect(WebSeed, make())

export const layerConfig = (config: Partial<WebSeedConfig>): Layer.Layer<WebSeed, never, HttpClient.HttpClient> =>
  Layer.effect(WebSeed, make(config))
