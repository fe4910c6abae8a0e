/** fast-check generators for the DHT tests and the KRPC fuzz target. */
import fc from "fast-check"
import type { DhtNode, KrpcMessage, Want } from "../../src/dht/index.js"
import { decodeIp } from "../../src/wire/index.js"

export const nodeId: fc.Arbitrary<Uint8Array> = fc.uint8Array({ minLength: 20, maxLength: 20 })

export const ipv4Host: fc.Arbitrary<string> = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => decodeIp(b)!)

/** 16 bytes, often with runs of zeros and the IPv4-mapped prefix, where IPv6 text has its cases. */
export const ipv6Host: fc.Arbitrary<string> = fc.array(
  fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })),
  { minLength: 8, maxLength: 8 }
).map((words) => {
  const bytes = Buffer.alloc(16)
  words.forEach((word, i) => bytes.writeUInt16BE(word, 2 * i))
  return decodeIp(bytes)!
})

export const port: fc.Arbitrary<number> = fc.integer({ min: 1, max: 0xffff })

export const dhtNode = (host: fc.Arbitrary<string>): fc.Arbitrary<DhtNode> => fc.record({ id: nodeId, host, port })

export const peer = fc.record({ host: fc.oneof(ipv4Host, ipv6Host), port })

const bytes = (maxLength: number) => fc.uint8Array({ maxLength })
const want: fc.Arbitrary<Array<Want>> = fc.array(fc.constantFrom<Want>("n4", "n6"), { maxLength: 3 })
const envelope = { transactionId: bytes(8), version: fc.uint8Array({ minLength: 4, maxLength: 4 }) }
const queryEnvelope = { ...envelope, kind: fc.constant("query" as const), id: nodeId, readOnly: fc.constant(true) }
/**
 * A record whose `optional` fields are sometimes left out (never present as `undefined`, as decoding gives them);
 * `version` is always optional.
 */
const message = <T>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }, ...optional: Array<string>): fc.Arbitrary<T> =>
  fc.record(fields, {
    requiredKeys: Object.keys(fields).filter((key) => key !== "version" && !optional.includes(key)) as Array<keyof T>
  })

/** Every KRPC message `encodeKrpc` can write, within MAX_KRPC_PACKET and MAX_VALUES. */
export const krpcMessage: fc.Arbitrary<KrpcMessage> = fc.oneof(
  message({ ...queryEnvelope, method: fc.constant("ping" as const) }, "readOnly"),
  message({ ...queryEnvelope, method: fc.constant("find_node" as const), target: nodeId, want }, "readOnly", "want"),
  message({ ...queryEnvelope, method: fc.constant("get_peers" as const), infoHash: nodeId, want }, "readOnly", "want"),
  message({
    ...queryEnvelope,
    method: fc.constant("announce_peer" as const),
    infoHash: nodeId,
    port,
    impliedPort: fc.constant(true),
    token: bytes(20)
  }, "readOnly", "impliedPort"),
  message({
    ...envelope,
    kind: fc.constant("response" as const),
    id: nodeId,
    nodes: fc.array(dhtNode(ipv4Host), { maxLength: 8 }),
    nodes6: fc.array(dhtNode(ipv6Host), { maxLength: 8 }),
    values: fc.array(peer, { maxLength: 20 }),
    token: bytes(20),
    ip: peer
  }, "nodes", "nodes6", "values", "token", "ip"),
  message({
    ...envelope,
    kind: fc.constant("error" as const),
    code: fc.oneof(fc.constantFrom(201, 202, 203, 204), fc.integer({ min: -1000, max: 100_000 })),
    message: fc.string({ maxLength: 60 })
  })
) as fc.Arbitrary<KrpcMessage>
