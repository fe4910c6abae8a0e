/**
 * BEP 9, ut_metadata: the info dictionary fetched from peers in 16 KiB pieces. A message is a bencoded dictionary
 * (`msg_type` 0 request, 1 data, 2 reject; `piece`; `total_size` for data), and a data message carries its piece
 * right after the dictionary. Pure codecs, no I/O.
 */
import * as Either from "effect/Either"
import { decodePrefix, encode, isDict } from "../bencode/index.js"
import { badExtension, integerIn } from "./extensionDict.js"
import { MAX_METADATA_SIZE, METADATA_PIECE_SIZE } from "./extensions.js"
import type { WireError } from "./WireError.js"

export type MetadataMessage =
  | { readonly type: "request"; readonly piece: number }
  /** `data` is a view into the payload: consume it before the next chunk arrives, or copy it. */
  | { readonly type: "data"; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: "reject"; readonly piece: number }

const MessageType = { request: 0, data: 1, reject: 2 } as const

/** No metadata we accept has more pieces than this. */
const MAX_PIECES = Math.ceil(MAX_METADATA_SIZE / METADATA_PIECE_SIZE)

/** The bytes piece `piece` of metadata of `totalSize` bytes has: 16 KiB, less for the last. */
const pieceLength = (piece: number, totalSize: number): number =>
  Math.min(METADATA_PIECE_SIZE, totalSize - piece * METADATA_PIECE_SIZE)

/** The payload of a ut_metadata message: the dictionary, then the piece for `data`. */
export const encodeMetadataMessage = (message: MetadataMessage): Uint8Array => {
  const header = encode({
    msg_type: MessageType[message.type],
    piece: message.piece,
    total_size: message.type === "data" ? message.totalSize : undefined
  })
  if (message.type !== "data") return header
  const out = new Uint8Array(header.length + message.data.length)
  out.set(header)
  out.set(message.data, header.length)
  return out
}

/**
 * Decodes a ut_metadata message. An unknown `msg_type`, a piece index past what MAX_METADATA_SIZE allows, and a
 * data message whose `total_size` is out of range or whose data is not exactly its piece's length are errors.
 * Bytes after the dictionary of a request or reject are ignored.
 */
export const decodeMetadataMessage = (payload: Uint8Array): MetadataMessage | WireError => {
  const prefix = decodePrefix(payload)
  if (Either.isLeft(prefix)) return badExtension(`metadata message: ${prefix.left.message}`)
  const { end, value: dict } = prefix.right
  if (!isDict(dict)) return badExtension("metadata message is not a dictionary")
  const type = dict.get("msg_type")
  if (type !== MessageType.request && type !== MessageType.data && type !== MessageType.reject) {
    return badExtension("metadata message without a known msg_type")
  }
  const piece = dict.get("piece")
  if (!integerIn(piece, 0, MAX_PIECES - 1)) return badExtension("metadata message without a valid piece index")
  if (type === MessageType.request) return { type: "request", piece }
  if (type === MessageType.reject) return { type: "reject", piece }
  const totalSize = dict.get("total_size")
  if (!integerIn(totalSize, 1, MAX_METADATA_SIZE)) {
    return badExtension(`metadata data message with a total_size not in 1..${MAX_METADATA_SIZE}`)
  }
  if (piece * METADATA_PIECE_SIZE >= totalSize) {
    return badExtension(`metadata piece ${piece} is past the end of ${totalSize} bytes`)
  }
  const data = payload.subarray(end)
  const expected = pieceLength(piece, totalSize)
  if (data.length !== expected) {
    return badExtension(`metadata piece ${piece} of ${data.length} bytes (expected ${expected})`)
  }
  return { type: "data", piece, totalSize, data }
}
