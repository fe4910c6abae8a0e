/** Pure piece and block bookkeeping and the piece picker. No services, no I/O; used per block on the hot path. */
export { Bitfield } from "./Bitfield.js"
export { blockCount, blockLength, type Geometry, pieceSize, validateGeometry } from "./geometry.js"
export {
  BLOCK_SIZE,
  DEADLINE_LATE_MS,
  type BlockReceived,
  type BlockRequest,
  ENDGAME_DEPTH,
  ENDGAME_MANY_PEERS,
  ENDGAME_MAX_HOLDERS,
  ENDGAME_WAIT_MS,
  MIN_FAIR_SHARE,
  type PeerRequest,
  PiecePicker,
  type PiecePickerOptions,
  Priority,
  type Released
} from "./PiecePicker.js"
export { type PaddingRange, paddingBlocks } from "./padding.js"
export { MAX_REQUEST_DEPTH, MIN_REQUEST_DEPTH, pipelineDepth, REQUEST_QUEUE_SECONDS, requestDepth } from "./pipeline.js"
