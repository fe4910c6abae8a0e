/**
 * The peer-wire protocol (BEP 3): handshake, messages, an incremental decoder; and the BEP 10 extension protocol
 * with ut_metadata (BEP 9) and ut_pex (BEP 11). Pure: no I/O, no services.
 */
export {
  COMPACT_IPV4_LENGTH,
  COMPACT_IPV6_LENGTH,
  decodeCompactPeer,
  decodeCompactPeers,
  decodeIp,
  encodeCompactPeer,
  encodeIp,
  type PeerAddress
} from "./compactPeer.js"
export { copyBytes } from "./bytes.js"
export { ALLOWED_FAST_COUNT, allowedFastSet } from "./fast.js"
export { type DecoderOptions, MAX_UNKNOWN_BITFIELD, WireDecoder, type WireSink } from "./decoder.js"
export {
  decodeExtendedHandshake,
  encodeExtendedHandshake,
  type ExtendedHandshake,
  type ExtensionName,
  MAX_METADATA_SIZE,
  METADATA_PIECE_SIZE,
  OUR_EXTENSIONS
} from "./extensions.js"
export {
  Capability,
  type CapabilityName,
  decodeHandshake,
  encodeHandshake,
  HANDSHAKE_LENGTH,
  type Handshake,
  OUR_RESERVED,
  OUR_RESERVED_DHT,
  ourReserved,
  PROTOCOL,
  reservedBytes,
  supports
} from "./handshake.js"
export {
  CHOKE,
  encodeBitfield,
  encodeAllowedFast,
  encodeCancel,
  encodeExtended,
  encodeHave,
  encodeReject,
  encodeSuggest,
  HAVE_ALL,
  HAVE_NONE,
  encodeMessage,
  encodePieceHeader,
  encodePort,
  encodeRequest,
  INTERESTED,
  KEEP_ALIVE,
  MAX_BLOCK,
  type Message,
  MessageId,
  NOT_INTERESTED,
  UNCHOKE
} from "./messages.js"
export {
  answerFromTree,
  answerHashRequest,
  checkHashes,
  decodeHashes,
  decodeHashRequest,
  encodeHashes,
  encodeHashReject,
  encodeHashRequest,
  HASH_REJECT_ID,
  HASH_REQUEST_ID,
  type HashRequest,
  hashRequestProblem,
  HASHES_ID,
  MAX_HASH_REQUEST_LENGTH,
  uncleCount
} from "./hashes.js"
export { decodeMetadataMessage, encodeMetadataMessage, type MetadataMessage } from "./metadata.js"
export { decodePexMessage, encodePexMessage, PexFlag, type PexMessage, type PexPeer } from "./pex.js"
export { WireError, type WireErrorReason } from "./WireError.js"
export { decodeHolepunch, encodeHolepunch, HolepunchErrorCode, type HolepunchMessage, type HolepunchType } from "./holepunch.js"
