import * as Data from "effect/Data"

/**
 * Why an RPC call failed. `parse`, `invalid-request`, `unknown-method` and `invalid-params` are the caller's fault
 * and map onto JSON-RPC's reserved codes; `failed` is the Client refusing (no such file, a bad torrent, a folder
 * outside the allowed ones); `internal` is a bug in bt.
 */
export type RpcErrorReason = "parse" | "invalid-request" | "unknown-method" | "invalid-params" | "failed" | "internal"

/** A failed RPC call: its message is the classic dialect's `result` string and JSON-RPC's error message. */
export class RpcError extends Data.TaggedError("RpcError")<{
  readonly reason: RpcErrorReason
  readonly message: string
  readonly cause?: unknown
}> {}

/** The JSON-RPC 2.0 error code of each reason (the spec's reserved codes; 1 for an application error). */
export const jsonRpcCode: Record<RpcErrorReason, number> = {
  parse: -32700,
  "invalid-request": -32600,
  "unknown-method": -32601,
  "invalid-params": -32602,
  internal: -32603,
  failed: 1
}
