/**
 * Bencode (BEP 3): a strict, pure decoder and a canonical encoder. No services, no I/O.
 */
export { BencodeError, type BencodeErrorReason } from "./BencodeError.js"
export { type Decoded, decode, type DecodeOptions, decodePrefix, decodeWithSpans, type Prefix } from "./decode.js"
export { type Bencodable, encode } from "./encode.js"
export { type BDict, type BList, type BValue, isBytes, isDict, isInteger, isList, type Span } from "./value.js"
