/**
 * Fuzzing the KRPC decoder (BEP 5): random bytes, valid messages, mutated valid messages, and dictionaries with
 * KRPC's keys holding values of any type. Whatever it accepts must be a well-formed message that encodes again.
 */
import fc from "fast-check"
import { isIP } from "node:net"
import { describe } from "vitest"
import { type Bencodable, encode } from "../../src/bencode/index.js"
import {
  decodeKrpc,
  encodeKrpc,
  KrpcDecodeError,
  type KrpcMessage,
  MAX_KRPC_PACKET,
  MAX_VALUES
} from "../../src/dht/index.js"
import { krpcMessage } from "../dht/arbitraries.js"
import { ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

const REASONS = new Set([
  "TooLarge",
  "Bencode",
  "NotADictionary",
  "MissingKey",
  "WrongType",
  "BadLength",
  "BadValue",
  "UnknownMethod"
])

/** Values of every bencode type, with the lengths and numbers KRPC cares about. */
const anyValue: fc.Arbitrary<Bencodable> = fc.letrec<{ value: Bencodable }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.uint8Array({ minLength: 20, maxLength: 20 }),
    fc.uint8Array({ maxLength: 60 }),
    fc.constantFrom("q", "r", "e", "ping", "find_node", "get_peers", "announce_peer", "n4", "n6"),
    fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.constantFrom(0, 1, 201, 65_535, 65_536)),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("id", "t", "nodes", "values"), tie("value"), { maxKeys: 3 })
  )
})).value

const keys = [
  "id", "target", "info_hash", "port", "implied_port", "token", "want", "nodes", "nodes6", "values"
] as const

/** KRPC-shaped dictionaries whose keys hold values of random types. */
const krpcShaped: fc.Arbitrary<Uint8Array> = fc.record({
  t: anyValue,
  y: fc.oneof(fc.constantFrom("q", "r", "e"), anyValue),
  q: fc.oneof(fc.constantFrom("ping", "find_node", "get_peers", "announce_peer"), anyValue),
  a: fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 6 }),
  r: fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 6 }),
  e: anyValue,
  v: anyValue,
  ro: anyValue,
  ip: anyValue
}, { requiredKeys: [] }).map((dict) => encode(dict as Record<string, Bencodable>))

const valid = fc.oneof(krpcMessage.map(encodeKrpc), krpcShaped)

const isId = (bytes: Uint8Array): boolean => bytes instanceof Uint8Array && bytes.length === 20
const isPort = (port: number, min = 1): boolean => Number.isInteger(port) && port >= min && port <= 0xffff

const ensureWellFormed = (message: KrpcMessage): void => {
  ensure(message.transactionId instanceof Uint8Array, "a byte-string transaction id")
  switch (message.kind) {
    case "query":
      ensure(isId(message.id), "a 20-byte querier id")
      if (message.method === "find_node") ensure(isId(message.target), "a 20-byte target")
      if (message.method === "get_peers" || message.method === "announce_peer") {
        ensure(isId(message.infoHash), "a 20-byte info-hash")
      }
      if (message.method === "announce_peer") {
        ensure(isPort(message.port, message.impliedPort === true ? 0 : 1), "a port")
        ensure(message.token instanceof Uint8Array, "a token")
      }
      return
    case "response":
      ensure(isId(message.id), "a 20-byte responder id")
      for (const node of [...(message.nodes ?? []), ...(message.nodes6 ?? [])]) {
        ensure(isId(node.id) && isIP(node.host) !== 0 && isPort(node.port), "a well-formed node")
      }
      ensure((message.values?.length ?? 0) <= MAX_VALUES, "at most MAX_VALUES values")
      for (const peer of message.values ?? []) ensure(isIP(peer.host) !== 0 && isPort(peer.port), "a peer")
      return
    case "error":
      ensure(Number.isSafeInteger(message.code) && typeof message.message === "string", "a code and a message")
  }
}

describe("fuzz: DHT", () => {
  fuzzTarget("KRPC message", fuzzInputs(valid, 256), (bytes) => {
    const result = decodeKrpc(bytes)
    if (result instanceof KrpcDecodeError) {
      ensure(REASONS.has(result.reason) && typeof result.detail === "string", "a known reason and a detail")
      ensure(result.transactionId === undefined || result.transactionId instanceof Uint8Array, "t as bytes")
      return false
    }
    ensureWellFormed(result)
    // What it accepts encodes again, and decodes to the same.
    const again = encodeKrpc(result)
    if (again.length <= MAX_KRPC_PACKET) {
      const back = decodeKrpc(again)
      ensure(!(back instanceof KrpcDecodeError), "its encoding decodes")
      ensure(Buffer.from(encodeKrpc(back as KrpcMessage)).equals(again), "a stable encoding")
    }
    return true
  })
})
