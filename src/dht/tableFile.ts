/**
 * A routing table saved between runs (BEP 5: "The routing table should be saved between invocations"): our own id
 * and the nodes, as bencode in our own versioned format. Pure.
 */
import * as Either from "effect/Either"
import { decode, encode, isBytes, isDict } from "../bencode/index.js"
import { decodeCompactNodes, encodeCompactNodes, familyOf } from "./DhtNode.js"
import { isNodeId } from "./NodeId.js"
import { RoutingTable, type RoutingTableOptions } from "./RoutingTable.js"

const VERSION = 1

/** `{ version, id, nodes, nodes6 }`: the node lists in compact form, as in KRPC responses. */
export const encodeRoutingTable = (table: RoutingTable): Uint8Array => {
  const nodes = table.nodes()
  return encode({
    version: VERSION,
    id: table.ownId,
    nodes: encodeCompactNodes(nodes.filter((node) => familyOf(node.host) === "ipv4"), "ipv4"),
    nodes6: encodeCompactNodes(nodes.filter((node) => familyOf(node.host) === "ipv6"), "ipv6")
  })
}

/**
 * A table from a saved file, its nodes added as unverified (questionable until they answer) as far as the table's
 * rules and `options` let them in. `Left` with why for a file that is damaged or of another version: the caller
 * then starts with a fresh id and an empty table.
 */
export const decodeRoutingTable = (
  bytes: Uint8Array,
  now: number,
  options?: RoutingTableOptions
): Either.Either<RoutingTable, string> => {
  const decoded = decode(bytes)
  if (Either.isLeft(decoded)) return Either.left(decoded.left.message)
  const dict = decoded.right
  if (!isDict(dict)) return Either.left("not a dictionary")
  if (dict.get("version") !== VERSION) return Either.left("unknown version")
  const id = dict.get("id")
  const nodes = dict.get("nodes") ?? new Uint8Array(0)
  const nodes6 = dict.get("nodes6") ?? new Uint8Array(0)
  if (!isBytes(id) || !isNodeId(id)) return Either.left("bad node id")
  if (!isBytes(nodes) || !isBytes(nodes6)) return Either.left("bad node list")
  const table = new RoutingTable(Uint8Array.from(id), now, options)
  for (const node of [...decodeCompactNodes(nodes, "ipv4"), ...decodeCompactNodes(nodes6, "ipv6")]) {
    table.addUnverified(node, now)
  }
  return Either.right(table)
}
