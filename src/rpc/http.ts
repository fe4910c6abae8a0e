/**
 * Transmission's RPC over HTTP: `POST /transmission/rpc` (GET too, for clients that fetch the session id that way)
 * and `GET /metrics`, as an `HttpRouter` the daemon (or any Effect program) mounts on its server. Before a call is
 * run, in Transmission's order: the `Host` check (421), HTTP Basic auth (401), the CSRF session id (409 with the id
 * to use), the body size (413). Every reply that reaches the RPC is a JSON RPC result; nothing here answers 500.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { type Call, decodeBody, encodeReply, type Invalid, isInvalid } from "./envelope.js"
import { RpcError } from "./RpcError.js"

/** Runs one decoded call: its result's arguments in snake_case, or why it failed. */
export type Dispatch = (call: Call) => Effect.Effect<Record<string, unknown>, RpcError>

export interface Credentials {
  readonly username: string
  readonly password: string
}

export interface RpcHttpOptions {
  /** The CSRF token a client must echo in `X-Transmission-Session-Id`. */
  readonly sessionId: string
  /** HTTP Basic credentials every request must carry; none: no auth. */
  readonly auth: Option.Option<Credentials>
  /**
   * Host names a request's `Host` header may name, besides `localhost` and IP literals, which are always allowed;
   * none: no check (the server is reachable by address from elsewhere anyway). The DNS-rebinding defence for a
   * server bound to loopback, where a web page could otherwise reach it through a name that resolves to 127.0.0.1.
   */
  readonly allowedHosts: Option.Option<ReadonlyArray<string>>
  /** The largest request body read, in bytes (a base64 .torrent of a few MiB fits under the default). */
  readonly maxBodyBytes: number
}

export const defaultMaxBodyBytes = 16 * 1024 * 1024

/**
 * Requests answered at once; one more is answered 503 at once instead of queueing, so that a flood costs the
 * daemon little and a client learns to slow down.
 */
export const MAX_IN_FLIGHT = 32

/** The RPC semver sent in `X-Transmission-Rpc-Version`: clients that see it speak JSON-RPC 2.0 (Transmission 4.1). */
export const RPC_SEMVER = "6.0.0"

export const SESSION_ID_HEADER = "x-transmission-session-id"
export const RPC_VERSION_HEADER = "x-transmission-rpc-version"

/** A fresh random session id (48 hex digits). */
export const makeSessionId = (): string =>
  Array.from(globalThis.crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0")).join("")

/** Equal strings, compared in time that depends only on their lengths. */
const sameText = (a: string, b: string): boolean => {
  let diff = a.length ^ b.length
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0)
  return diff === 0
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/** The name in a `Host` header without its port: `[::1]:9091` -> `[::1]`, `localhost:9091` -> `localhost`. */
const hostName = (host: string): string => {
  const trimmed = host.trim().toLowerCase()
  if (trimmed.startsWith("[")) return trimmed.slice(0, trimmed.indexOf("]") + 1)
  const colon = trimmed.lastIndexOf(":")
  return colon === -1 ? trimmed : trimmed.slice(0, colon)
}

/** Whether a `Host` header passes the check: an IP literal, `localhost`, or one of the names allowed. */
export const hostAllowed = (host: string | undefined, allowed: ReadonlyArray<string>): boolean => {
  if (host === undefined) return true // not a browser: browsers always send Host
  const name = hostName(host)
  if (name.startsWith("[") || IPV4.test(name) || name === "localhost" || name === "localhost.") return true
  return allowed.some((entry) => entry.toLowerCase() === name)
}

/** Whether an `Authorization` header carries these Basic credentials. */
export const authorized = (header: string | undefined, credentials: Credentials): boolean => {
  const match = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (match === null) return false
  let decoded: string
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0)))
  } catch {
    return false
  }
  return sameText(decoded, `${credentials.username}:${credentials.password}`)
}

const versionHeader = { [RPC_VERSION_HEADER]: RPC_SEMVER }

const plain = (status: number, text: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(`${text}\n`, { status, headers: { ...versionHeader, ...headers } })

/** The refusal a request gets before its body is read (Host, then auth, then optionally the session id). */
const refusal = (
  options: RpcHttpOptions,
  headers: Headers.Headers,
  checkSession: boolean
): Option.Option<HttpServerResponse.HttpServerResponse> => {
  if (Option.isSome(options.allowedHosts) && !hostAllowed(headers["host"], options.allowedHosts.value)) {
    return Option.some(plain(421, "421: Misdirected Request: this Host name is not allowed (DNS rebinding defence)"))
  }
  if (Option.isSome(options.auth) && !authorized(headers["authorization"], options.auth.value)) {
    return Option.some(plain(401, "401: Unauthorized", { "www-authenticate": `Basic realm="bt"` }))
  }
  if (checkSession && headers[SESSION_ID_HEADER] !== options.sessionId) {
    return Option.some(
      plain(409, `409: Conflict: send the header X-Transmission-Session-Id: ${options.sessionId}`, {
        [SESSION_ID_HEADER]: options.sessionId
      })
    )
  }
  return Option.none()
}

/** Runs one call, turning a defect into an `internal` error result (logged) so the server never answers 500. */
const run = (dispatch: Dispatch, call: Call | Invalid) => {
  if (isInvalid(call)) return Effect.succeed(encodeReply(call.envelope, "classic", "", Either.left(call.error)))
  return dispatch(call).pipe(
    Effect.catchAllDefect((defect) =>
      Effect.logError(`RPC ${call.method} failed`, Cause.die(defect)).pipe(
        Effect.as(new RpcError({ reason: "internal", message: `internal error in ${call.method}`, cause: defect })),
        Effect.flip
      )
    ),
    Effect.either,
    Effect.map((outcome) => encodeReply(call.envelope, call.style, call.method, outcome))
  )
}

const jsonReply = (body: unknown, status = 200) =>
  HttpServerResponse.text(JSON.stringify(body), {
    status,
    contentType: "application/json; charset=UTF-8",
    headers: versionHeader
  })

/** Answers one RPC request whose headers have passed the checks. */
const answer = (dispatch: Dispatch, options: RpcHttpOptions) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.method !== "POST") {
      return jsonReply({ result: "send the request as JSON in the body of a POST", arguments: {} }, 405)
    }
    const length = Number(request.headers["content-length"] ?? "0")
    if (length > options.maxBodyBytes) {
      return jsonReply({ result: `request body over ${options.maxBodyBytes} bytes`, arguments: {} }, 413)
    }
    const text = yield* request.text.pipe(
      HttpServerRequest.withMaxBodySize(Option.some(options.maxBodyBytes)),
      Effect.either
    )
    // The Node server stops reading at the limit; other servers (a web handler) may not, so check what was read.
    if (Either.isLeft(text) || text.right.length > options.maxBodyBytes) {
      return jsonReply({ result: `cannot read the request body (over ${options.maxBodyBytes} bytes?)`, arguments: {} }, 413)
    }
    const decoded = decodeBody(text.right)
    if (decoded._tag === "single") {
      const reply = yield* run(dispatch, decoded.call)
      return reply === undefined ? HttpServerResponse.empty({ status: 204, headers: versionHeader }) : jsonReply(reply)
    }
    const replies = (yield* Effect.forEach(decoded.calls, (call) => run(dispatch, call))).filter((r) => r !== undefined)
    return replies.length === 0 ? HttpServerResponse.empty({ status: 204, headers: versionHeader }) : jsonReply(replies)
  })

/**
 * The RPC routes: `/transmission/rpc` for calls (at most as many at once as `gate` has permits) and `/metrics`
 * (Prometheus text, behind the same Host and auth checks but without the session id, which a scraper cannot echo).
 */
export const router = (
  options: RpcHttpOptions,
  dispatch: Dispatch,
  metrics: Effect.Effect<string>,
  gate: Effect.Semaphore
): HttpRouter.HttpRouter => {
  const busy = jsonReply({ result: "busy: too many requests at once, try again", arguments: {} }, 503)
  const rpc = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Option.match(refusal(options, request.headers, true), {
      onSome: Effect.succeed,
      onNone: () =>
        answer(dispatch, options).pipe(gate.withPermitsIfAvailable(1), Effect.map(Option.getOrElse(() => busy)))
    }))
  const scrape = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Option.match(refusal(options, request.headers, false), {
      onSome: Effect.succeed,
      onNone: () =>
        Effect.map(metrics, (text) =>
          HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))
    }))
  return HttpRouter.empty.pipe(
    HttpRouter.post("/transmission/rpc", rpc),
    HttpRouter.get("/transmission/rpc", rpc),
    HttpRouter.get("/metrics", scrape)
  )
}
