import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import fc from "fast-check"
import { type Call, decodeBody, encodeReply, isInvalid } from "../../src/rpc/envelope.js"
import { argsToSnake, toClassic, toSnake } from "../../src/rpc/names.js"
import { RpcError } from "../../src/rpc/RpcError.js"

const single = (text: string) => {
  const decoded = decodeBody(text)
  if (decoded._tag !== "single") throw new Error("expected one call")
  return decoded.call
}

const call = (text: string): Call => {
  const c = single(text)
  if (isInvalid(c)) throw new Error(`invalid: ${c.error.message}`)
  return c
}

describe("names", () => {
  it("converts classic names to snake_case and leaves snake_case alone", () => {
    expect(toSnake("hashString")).toBe("hash_string")
    expect(toSnake("download-dir")).toBe("download_dir")
    expect(toSnake("isUTP")).toBe("is_utp")
    expect(toSnake("rpc-version-minimum")).toBe("rpc_version_minimum")
    expect(toSnake("percent_done")).toBe("percent_done")
    expect(argsToSnake({ "delete-local-data": true, fields: ["hashString", "id"] })).toEqual({
      delete_local_data: true,
      fields: ["hash_string", "id"]
    })
  })

  it("spells a reply the classic way per method: downloadDir in torrents, download-dir in the session", () => {
    expect(toClassic("torrent_get", { torrents: [{ download_dir: "/d", hash_string: "x", id: 1 }] })).toEqual({
      torrents: [{ downloadDir: "/d", hashString: "x", id: 1 }]
    })
    expect(toClassic("session_get", { download_dir: "/d", rpc_version: 17, seed_ratio_limited: true })).toEqual({
      "download-dir": "/d",
      "rpc-version": 17,
      seedRatioLimited: true
    })
    expect(toClassic("free_space", { path: "/", size_bytes: 1, total_size: 2 })).toEqual({
      path: "/",
      "size-bytes": 1,
      total_size: 2
    })
    expect(toClassic("torrent_get", { torrents: [{ peers: [{ is_utp: true, rate_to_client: 3 }] }] })).toEqual({
      torrents: [{ peers: [{ isUTP: true, rateToClient: 3 }] }]
    })
  })
})

describe("classic dialect", () => {
  it("decodes {method, arguments, tag} into snake_case", () => {
    const c = call(`{"method":"torrent-get","arguments":{"fields":["id","percentDone"],"ids":[1,"ab"]},"tag":7}`)
    expect(c).toEqual({
      method: "torrent_get",
      args: { fields: ["id", "percent_done"], ids: [1, "ab"] },
      style: "classic",
      envelope: { _tag: "classic", tag: 7 }
    })
  })

  it("answers in classic names with result success and the tag", () => {
    const c = call(`{"method":"session-get","tag":3}`)
    const reply = encodeReply(c.envelope, c.style, c.method, Either.right({ rpc_version: 17, download_dir: "/x" }))
    expect(reply).toEqual({ result: "success", arguments: { "rpc-version": 17, "download-dir": "/x" }, tag: 3 })
  })

  it("answers an error as the result string", () => {
    const c = call(`{"method":"torrent-start"}`)
    const error = new RpcError({ reason: "failed", message: "no torrent 9" })
    expect(encodeReply(c.envelope, c.style, c.method, Either.left(error))).toEqual({
      result: "no torrent 9",
      arguments: {}
    })
  })

  it("keeps snake_case names for a classic envelope around a 4.1 method name", () => {
    const c = call(`{"method":"torrent_get","arguments":{"fields":["hash_string"]}}`)
    expect(c.style).toBe("snake")
    expect(encodeReply(c.envelope, c.style, c.method, Either.right({ torrents: [{ hash_string: "x" }] }))).toEqual({
      result: "success",
      arguments: { torrents: [{ hash_string: "x" }] }
    })
  })

  it("rejects a request without a method, keeping its tag", () => {
    const c = single(`{"arguments":{},"tag":5}`)
    expect(isInvalid(c) && c.error.reason).toBe("invalid-request")
    expect(isInvalid(c) && c.error.message).toMatch(/method/)
    expect(c.envelope).toEqual({ _tag: "classic", tag: 5 })
  })

  it("rejects arguments that are not an object", () => {
    const c = single(`{"method":"torrent-get","arguments":[1,2]}`)
    expect(isInvalid(c) && c.error.reason).toBe("invalid-request")
  })
})

describe("JSON-RPC 2.0 dialect", () => {
  it("decodes {jsonrpc, method, params, id}", () => {
    const c = call(`{"jsonrpc":"2.0","method":"torrent_get","params":{"fields":["id","hash_string"]},"id":"a"}`)
    expect(c).toEqual({
      method: "torrent_get",
      args: { fields: ["id", "hash_string"] },
      style: "snake",
      envelope: { _tag: "jsonrpc", id: "a" }
    })
  })

  it("answers result or error objects, never both", () => {
    const c = call(`{"jsonrpc":"2.0","method":"session_get","id":1}`)
    expect(encodeReply(c.envelope, c.style, c.method, Either.right({ rpc_version: 18 }))).toEqual({
      jsonrpc: "2.0",
      result: { rpc_version: 18 },
      id: 1
    })
    const error = new RpcError({ reason: "unknown-method", message: "unknown method: x" })
    expect(encodeReply(c.envelope, c.style, c.method, Either.left(error))).toEqual({
      jsonrpc: "2.0",
      error: { code: -32601, message: "unknown method: x", data: { error_string: "unknown method: x" } },
      id: 1
    })
  })

  it("gives no reply to a notification, even a failed one", () => {
    const c = call(`{"jsonrpc":"2.0","method":"torrent_start"}`)
    expect(encodeReply(c.envelope, c.style, c.method, Either.right({}))).toBeUndefined()
    const error = new RpcError({ reason: "failed", message: "no" })
    expect(encodeReply(c.envelope, c.style, c.method, Either.left(error))).toBeUndefined()
  })

  it("answers an invalid request with id null when it has none", () => {
    const c = single(`{"jsonrpc":"1.0","method":"x"}`)
    expect(isInvalid(c)).toBe(true)
    expect(c.envelope).toEqual({ _tag: "jsonrpc", id: null })
  })

  it("decodes a batch, and refuses an empty one", () => {
    const decoded = decodeBody(`[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"b"},3]`)
    expect(decoded._tag).toBe("batch")
    if (decoded._tag === "batch") {
      expect(decoded.calls.length).toBe(3)
      expect(isInvalid(decoded.calls[2]!)).toBe(true)
    }
    const empty = single("[]")
    expect(isInvalid(empty) && empty.error.reason).toBe("invalid-request")
  })
})

describe("bad bodies", () => {
  it("answers malformed JSON with a parse error in the dialect it looks like", () => {
    const classic = single(`{"method":"torrent-get"`)
    expect(isInvalid(classic) && classic.error.reason).toBe("parse")
    expect(classic.envelope._tag).toBe("classic")
    const jsonrpc = single(`{"jsonrpc":"2.0","method":`)
    expect(jsonrpc.envelope).toEqual({ _tag: "jsonrpc", id: null })
  })

  it("never throws on any input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        const decoded = decodeBody(text)
        const calls = decoded._tag === "single" ? [decoded.call] : decoded.calls
        for (const c of calls) {
          const outcome = isInvalid(c) ? Either.left(c.error) : Either.right({})
          encodeReply(c.envelope, isInvalid(c) ? "classic" : c.style, isInvalid(c) ? "" : c.method, outcome)
        }
      }),
      { numRuns: 500 }
    )
  })
})
