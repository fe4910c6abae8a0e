/**
 * A client of a Transmission RPC server (`bt daemon` or `transmission-daemon`): the classic dialect only, which
 * every server from Transmission 2.x on speaks, with the 409 session-id dance and HTTP Basic auth. Needs an
 * HttpClient; no Node here.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { Credentials } from "./http.js"
import { SESSION_ID_HEADER } from "./http.js"

export type RemoteErrorReason = "Unreachable" | "Unauthorized" | "Http" | "Protocol" | "Rejected"

/** A call to a remote daemon failed: it could not be reached, refused us, or answered with an error result. */
export class RemoteError extends Data.TaggedError("RemoteError")<{
  readonly reason: RemoteErrorReason
  readonly message: string
  readonly cause?: unknown
}> {}

const Reply = Schema.Struct({
  result: Schema.String,
  arguments: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { default: () => ({}) })
})

export interface Remote {
  /** Runs a classic-dialect method (`torrent-get`), returning the reply's arguments. */
  readonly call: (method: string, args?: Record<string, unknown>) => Effect.Effect<Record<string, unknown>, RemoteError>
}

/** How long a call may take, the 409 retry included. */
const CALL_TIMEOUT = Duration.seconds(30)

/**
 * `http://host:port` (the path defaults to `/transmission/rpc`), or `host:port`; undefined when not a URL.
 */
export const rpcUrl = (text: string): string | undefined => {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`
  try {
    const url = new URL(withScheme)
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
    if (url.pathname === "/" || url.pathname === "") url.pathname = "/transmission/rpc"
    return url.toString()
  } catch {
    return undefined
  }
}

export const makeRemote = (
  url: string,
  auth: Credentials | undefined
): Effect.Effect<Remote, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const sessionId = yield* Ref.make("")
    const authorization = auth === undefined
      ? {}
      : { authorization: `Basic ${Encoding.encodeBase64(`${auth.username}:${auth.password}`)}` }

    const send = (body: string) =>
      Effect.flatMap(Ref.get(sessionId), (id) =>
        http.execute(
          HttpClientRequest.post(url).pipe(
            HttpClientRequest.setHeaders({ ...authorization, [SESSION_ID_HEADER]: id }),
            HttpClientRequest.bodyText(body, "application/json")
          )
        )).pipe(
          Effect.mapError((cause) => {
            const why = cause.cause instanceof Error ? cause.cause.message : cause.message
            return new RemoteError({
              reason: "Unreachable",
              message: `cannot reach the daemon at ${url} (${why}); is it running? (--rpc gives its address)`,
              cause
            })
          })
        )

    const call = (method: string, args: Record<string, unknown> = {}) =>
      Effect.gen(function*() {
        const body = JSON.stringify({ method, arguments: args })
        let response = yield* send(body)
        if (response.status === 409) {
          yield* Ref.set(sessionId, response.headers[SESSION_ID_HEADER] ?? "")
          response = yield* send(body)
        }
        if (response.status === 401) {
          return yield* new RemoteError({
            reason: "Unauthorized",
            message: `the daemon at ${url} refused our credentials: set BT_RPC_AUTH=USER:PASSWORD`
          })
        }
        const text = yield* response.text.pipe(
          Effect.mapError((cause) =>
            new RemoteError({ reason: "Unreachable", message: `the daemon at ${url} broke off its reply`, cause })
          )
        )
        if (response.status !== 200) {
          return yield* new RemoteError({
            reason: "Http",
            message: `the daemon at ${url} answered HTTP ${response.status}: ${text.trim().slice(0, 200)}`
          })
        }
        const reply = yield* Schema.decodeUnknown(Schema.parseJson(Reply))(text).pipe(
          Effect.mapError((cause) =>
            new RemoteError({ reason: "Protocol", message: `${url} did not answer as a Transmission RPC server`, cause })
          )
        )
        if (reply.result !== "success") {
          return yield* new RemoteError({ reason: "Rejected", message: `${method}: ${reply.result}` })
        }
        return reply.arguments
      }).pipe(
        Effect.scoped,
        Effect.timeoutFail({
          duration: CALL_TIMEOUT,
          onTimeout: () => new RemoteError({ reason: "Unreachable", message: `the daemon at ${url} did not answer in 30 s` })
        })
      )

    return { call }
  })
