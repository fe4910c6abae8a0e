/**
 * The two envelopes a Transmission RPC request comes in, decoded to one `Call`, and the reply to a call spelled in
 * the envelope and naming style it came in. Pure: no I/O, no services.
 *
 * - classic (rpc-version <= 17): `{method, arguments, tag}` -> `{result: "success" | message, arguments, tag}`.
 * - JSON-RPC 2.0 (Transmission 4.1, rpc-version 18): `{jsonrpc: "2.0", method, params, id}` ->
 *   `{jsonrpc, result, id}` or `{jsonrpc, error: {code, message, data}, id}`; no reply to a notification (no `id`);
 *   a batch is an array of requests and gets an array of replies.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { argsToSnake, toClassic, toSnake } from "./names.js"
import { jsonRpcCode, RpcError } from "./RpcError.js"

const Args = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const ClassicRequest = Schema.Struct({
  method: Schema.String,
  arguments: Schema.optional(Args),
  tag: Schema.optional(Schema.Number)
})

export const JsonRpcId = Schema.Union(Schema.String, Schema.Number, Schema.Null)

export const JsonRpcRequest = Schema.Struct({
  jsonrpc: Schema.Literal("2.0"),
  method: Schema.String,
  params: Schema.optional(Args),
  id: Schema.optional(JsonRpcId)
})

/** How a reply spells its names: classic (kebab-case and camelCase) or snake_case. */
export type Style = "classic" | "snake"

/** One request, whichever envelope it came in: its method and argument names in snake_case. */
export interface Call {
  readonly method: string
  readonly args: Record<string, unknown>
  readonly style: Style
  readonly envelope:
    | { readonly _tag: "classic"; readonly tag: number | undefined }
    | { readonly _tag: "jsonrpc"; readonly id: string | number | null | undefined }
}

/** A request that could not be decoded: the reply it gets instead of a call. */
export interface Invalid {
  readonly envelope: Call["envelope"]
  readonly error: RpcError
}

/** What a request body holds: one call (or an invalid one), or a JSON-RPC batch of them. */
export type Decoded =
  | { readonly _tag: "single"; readonly call: Call | Invalid }
  | { readonly _tag: "batch"; readonly calls: ReadonlyArray<Call | Invalid> }

export const isInvalid = (call: Call | Invalid): call is Invalid => "error" in call

/** One line from a schema failure, e.g. `arguments.ids: expected a number`. */
export const describeParseError = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ")

const decodeClassic = Schema.decodeUnknownEither(ClassicRequest)
const decodeJsonRpc = Schema.decodeUnknownEither(JsonRpcRequest)

const idOf = (value: unknown): string | number | null | undefined =>
  typeof value === "string" || typeof value === "number" || value === null ? value : undefined

const decodeOne = (value: unknown): Call | Invalid => {
  const isObject = value !== null && typeof value === "object" && !Array.isArray(value)
  if (isObject && "jsonrpc" in value) {
    // An invalid request is answered even without an id (JSON-RPC answers those with id null).
    const envelope = { _tag: "jsonrpc" as const, id: idOf((value as { id?: unknown }).id) ?? null }
    return Either.match(decodeJsonRpc(value), {
      onLeft: (error) => ({
        envelope,
        error: new RpcError({ reason: "invalid-request", message: `invalid request: ${describeParseError(error)}` })
      }),
      onRight: (request) => ({
        method: toSnake(request.method),
        args: argsToSnake(request.params ?? {}),
        style: "snake" as const,
        envelope: { _tag: "jsonrpc" as const, id: request.id }
      })
    })
  }
  const tag = isObject && typeof (value as { tag?: unknown }).tag === "number" ? (value as { tag: number }).tag : undefined
  return Either.match(decodeClassic(value), {
    onLeft: (error) => ({
      envelope: { _tag: "classic" as const, tag },
      error: new RpcError({ reason: "invalid-request", message: `invalid request: ${describeParseError(error)}` })
    }),
    onRight: (request) => ({
      method: toSnake(request.method),
      args: argsToSnake(request.arguments ?? {}),
      // A classic envelope around a 4.1 method name (`torrent_get`) wants snake_case names back.
      style: request.method.includes("_") ? "snake" as const : "classic" as const,
      envelope: { _tag: "classic" as const, tag }
    })
  })
}

/**
 * A request body decoded. Text that is not JSON is answered in the dialect it seems to be written in (JSON-RPC
 * if it mentions `jsonrpc`), since there is no envelope to tell.
 */
export const decodeBody = (text: string): Decoded => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    const error = new RpcError({ reason: "parse", message: `malformed JSON: ${(cause as Error).message}`, cause })
    const envelope = text.includes("jsonrpc")
      ? { _tag: "jsonrpc" as const, id: null }
      : { _tag: "classic" as const, tag: undefined }
    return { _tag: "single", call: { envelope, error } }
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      const error = new RpcError({ reason: "invalid-request", message: "invalid request: an empty batch" })
      return { _tag: "single", call: { envelope: { _tag: "jsonrpc", id: null }, error } }
    }
    return { _tag: "batch", calls: value.map(decodeOne) }
  }
  return { _tag: "single", call: decodeOne(value) }
}

/** A call's outcome: the result's arguments (snake_case names) or the error. */
export type Outcome = Either.Either<Record<string, unknown>, RpcError>

/** The reply to one call, or undefined for a JSON-RPC notification (a request without `id`), which gets none. */
export const encodeReply = (
  envelope: Call["envelope"],
  style: Style,
  method: string,
  outcome: Outcome
): Record<string, unknown> | undefined => {
  const spell = (args: Record<string, unknown>) => (style === "classic" ? toClassic(method, args) : args)
  if (envelope._tag === "classic") {
    const tag = envelope.tag === undefined ? {} : { tag: envelope.tag }
    return Either.match(outcome, {
      onLeft: (error) => ({ result: error.message, arguments: {}, ...tag }),
      onRight: (args) => ({ result: "success", arguments: spell(args), ...tag })
    })
  }
  if (envelope.id === undefined) return undefined
  const id = envelope.id
  return Either.match(outcome, {
    onLeft: (error) => ({
      jsonrpc: "2.0",
      error: { code: jsonRpcCode[error.reason], message: error.message, data: { error_string: error.message } },
      id
    }),
    onRight: (result) => ({ jsonrpc: "2.0", result: spell(result), id })
  })
}
