/** The peer-wire protocol (BEP 3): handshake, messages, an incremental decoder. Pure: no I/O, no services. */
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
export { type DecoderOptions, WireDecoder, type WireSink } from "./decoder.js"
export {
  Capability,
  type CapabilityName,
  decodeHandshake,
  encodeHandshake,
  HANDSHAKE_LENGTH,
  type Handshake,
  OUR_RESERVED,
  PROTOCOL,
  reservedBytes,
  supports
} from "./handshake.js"
export {
  CHOKE,
  encodeBitfield,
  encodeCancel,
  encodeExtended,
  encodeHave,
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
export { WireError, type WireErrorReason } from "./WireError.js"
