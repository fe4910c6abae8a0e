/**
 * The DHT (BEP 5, with BEP 32's IPv6 keys): the pure parts. KRPC messages, node ids and distances, the routing
 * table and its file, announce tokens, the iterative lookup and the store of announced peers. No I/O, no services:
 * times come in as numbers and "ping this node" comes back as an answer for the caller to act on.
 */
export {
  type AddressFamily,
  addressKey,
  COMPACT_NODE_LENGTH,
  COMPACT_NODE6_LENGTH,
  decodeCompactNodes,
  type DhtNode,
  encodeCompactNode,
  encodeCompactNodes,
  familyOf
} from "./DhtNode.js"
export {
  type AnnouncePeerQuery,
  checkResponse,
  decodeKrpc,
  encodeKrpc,
  type FindNodeQuery,
  type GetPeersQuery,
  KrpcErrorCode,
  type KrpcErrorMessage,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcResponse,
  MAX_KRPC_PACKET,
  MAX_VALUES,
  type PingQuery,
  type QueryMethod,
  type Want
} from "./krpc.js"
export { KrpcDecodeError, type KrpcDecodeErrorReason } from "./KrpcError.js"
export { Lookup, type LookupOptions, type LookupResult } from "./lookup.js"
export {
  bitAt,
  bucketIndex,
  compareDistance,
  compareIds,
  equalIds,
  flipBit,
  isNodeId,
  NODE_ID_BITS,
  NODE_ID_LENGTH,
  type NodeId,
  nodeIdHex,
  type RandomBytes,
  randomIdSharing,
  randomIdWithPrefix,
  randomNodeId,
  xorDistance
} from "./NodeId.js"
export { PEER_TTL_MS, PeerStore, type PeerStoreOptions } from "./peerStore.js"
export {
  type BucketView,
  type Eviction,
  GOOD_FOR_MS,
  type Insertion,
  K,
  type NodeState,
  type NodeStatus,
  type RefusalReason,
  REFRESH_AFTER_MS,
  RoutingTable,
  type RoutingTableOptions
} from "./RoutingTable.js"
export { decodeRoutingTable, encodeRoutingTable } from "./tableFile.js"
export { TOKEN_LENGTH, TOKEN_ROTATION_MS, type TokenOptions, Tokens } from "./tokens.js"
