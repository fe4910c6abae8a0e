/**
 * A DHT node's contact (id, IP, UDP port) and BEP 5's "compact node info": the 20-byte id, then the compact address
 * of `wire/compactPeer` (26 bytes for IPv4; 38 for IPv6, BEP 32's `nodes6`). Pure.
 */
import { COMPACT_IPV4_LENGTH, COMPACT_IPV6_LENGTH, decodeCompactPeer, encodeCompactPeer } from "../wire/compactPeer.js"
import { isNodeId, NODE_ID_LENGTH, type NodeId } from "./NodeId.js"

export const COMPACT_NODE_LENGTH = NODE_ID_LENGTH + COMPACT_IPV4_LENGTH
export const COMPACT_NODE6_LENGTH = NODE_ID_LENGTH + COMPACT_IPV6_LENGTH

export type AddressFamily = "ipv4" | "ipv6"

export interface DhtNode {
  readonly id: NodeId
  /** An IP literal, written as Node writes it (so it compares equal to a socket's `rinfo.address`). */
  readonly host: string
  /** The node's UDP port. */
  readonly port: number
}

/** One key per IP and port, for maps of nodes by address (IPv6 in brackets, so no two addresses collide). */
export const addressKey = (address: { readonly host: string; readonly port: number }): string =>
  address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`

/** The family of an IP literal as written by `decodeIp` or a socket. */
export const familyOf = (host: string): AddressFamily => (host.includes(":") ? "ipv6" : "ipv4")

/**
 * A node in compact form: 26 bytes for an IPv4 host, 38 for IPv6. `undefined` unless the id is 20 bytes, the host
 * an IP literal and the port in 1..65535 (no node listens on port 0).
 */
export const encodeCompactNode = (node: DhtNode): Uint8Array | undefined => {
  if (!isNodeId(node.id) || node.port === 0) return undefined
  const address = encodeCompactPeer(node)
  if (address === undefined) return undefined
  const out = new Uint8Array(NODE_ID_LENGTH + address.length)
  out.set(node.id)
  out.set(address, NODE_ID_LENGTH)
  return out
}

/**
 * The `nodes` (IPv4) or `nodes6` (IPv6) string for `nodes`. Throws RangeError for a node that cannot be encoded or
 * is of the other family: the caller picks what goes in which key.
 */
export const encodeCompactNodes = (nodes: ReadonlyArray<DhtNode>, family: AddressFamily): Uint8Array => {
  const size = family === "ipv4" ? COMPACT_NODE_LENGTH : COMPACT_NODE6_LENGTH
  const out = new Uint8Array(nodes.length * size)
  nodes.forEach((node, i) => {
    const entry = encodeCompactNode(node)
    if (entry === undefined || entry.length !== size) {
      throw new RangeError(`DHT node ${addressKey(node)} cannot be written as a ${size}-byte ${family} entry`)
    }
    out.set(entry, i * size)
  })
  return out
}

/**
 * The nodes of a `nodes` or `nodes6` string, in order, at most `max` of them. Entries with port 0 are skipped, and so
 * is a trailing partial entry (a length that is not a whole number of entries): the whole entries are as good as any
 * nodes we hear of (each is verified by querying it before it is trusted), and refusing the lot would drop a
 * response, and with it evidence that its sender is alive, over a sender's bug. Ids are copies, not views of `list`.
 */
export const decodeCompactNodes = (list: Uint8Array, family: AddressFamily, max = Infinity): Array<DhtNode> => {
  const size = family === "ipv4" ? COMPACT_NODE_LENGTH : COMPACT_NODE6_LENGTH
  const nodes: Array<DhtNode> = []
  for (let at = 0; at + size <= list.length && nodes.length < max; at += size) {
    const address = decodeCompactPeer(list.subarray(at + NODE_ID_LENGTH, at + size))
    if (address === undefined || address.port === 0) continue
    const id = Uint8Array.from(list.subarray(at, at + NODE_ID_LENGTH))
    nodes.push({ id, host: address.host, port: address.port })
  }
  return nodes
}
