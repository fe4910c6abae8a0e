/**
 * The DHT (BEP 5, with BEP 32's IPv6 keys): the pure parts. No I/O, no services.
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
