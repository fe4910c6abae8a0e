/** BEP 3 peer messages: `<4-byte big-endian length><1-byte id><payload>`; length 0 is a keep-alive. */

export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  /** BEP 5: the sender's DHT port. */
  port: 9,
  /** BEP 6 Fast extension. */
  suggest: 13,
  haveAll: 14,
  haveNone: 15,
  reject: 16,
  allowedFast: 17,
  /** BEP 10 extension protocol. */
  extended: 20,
  /** BEP 52 hash messages (see hashes.ts). */
  hashRequest: 21,
  hashes: 22,
  hashReject: 23
} as const

/** The largest block we request or serve; BEP 3 clients agree on 16 KiB. */
export const MAX_BLOCK = 16384

export type Message =
  | { readonly type: "keepAlive" }
  | { readonly type: "choke" }
  | { readonly type: "unchoke" }
  | { readonly type: "interested" }
  | { readonly type: "notInterested" }
  | { readonly type: "have"; readonly index: number }
  /** Raw bits, MSB first; the decoder has checked the size and the spare bits. */
  | { readonly type: "bitfield"; readonly bits: Uint8Array }
  | { readonly type: "request"; readonly index: number; readonly begin: number; readonly length: number }
  /** `block` is a view into bytes the decoder reuses: consume it in the call that hands it over, or copy it. */
  | { readonly type: "piece"; readonly index: number; readonly begin: number; readonly block: Uint8Array }
  | { readonly type: "cancel"; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: "port"; readonly port: number }
  /** BEP 6: a hint that the piece is worth fetching from this peer. */
  | { readonly type: "suggest"; readonly index: number }
  /** BEP 6: instead of a bitfield, every piece or none. */
  | { readonly type: "haveAll" }
  | { readonly type: "haveNone" }
  /** BEP 6: the peer will not answer this request. */
  | { readonly type: "reject"; readonly index: number; readonly begin: number; readonly length: number }
  /** BEP 6: we may request this piece even while choked. */
  | { readonly type: "allowedFast"; readonly index: number }
  | { readonly type: "extended"; readonly id: number; readonly payload: Uint8Array }
  /**
   * BEP 52 `hash request` (21), `hashes` (22), `hash reject` (23): the payload after the id, copied, decoded by
   * hashes.ts (`decodeHashRequest`, `decodeHashes`).
   */
  | { readonly type: "hashRequest" | "hashes" | "hashReject"; readonly payload: Uint8Array }

const header = (length: number, id: number, extra = 0): Buffer => {
  const out = Buffer.allocUnsafe(5 + extra)
  out.writeUInt32BE(length, 0)
  out[4] = id
  return out
}

const bare = (id: number): Uint8Array => header(1, id)

/** Constant messages, encoded once. */
export const KEEP_ALIVE: Uint8Array = new Uint8Array(4)
export const CHOKE = bare(MessageId.choke)
export const UNCHOKE = bare(MessageId.unchoke)
export const INTERESTED = bare(MessageId.interested)
export const NOT_INTERESTED = bare(MessageId.notInterested)
export const HAVE_ALL = bare(MessageId.haveAll)
export const HAVE_NONE = bare(MessageId.haveNone)

const indexMessage = (id: number, index: number): Uint8Array => {
  const out = header(5, id, 4)
  out.writeUInt32BE(index, 5)
  return out
}

export const encodeHave = (index: number): Uint8Array => indexMessage(MessageId.have, index)
export const encodeSuggest = (index: number): Uint8Array => indexMessage(MessageId.suggest, index)
export const encodeAllowedFast = (index: number): Uint8Array => indexMessage(MessageId.allowedFast, index)

export const encodeBitfield = (bits: Uint8Array): Uint8Array => {
  const out = header(1 + bits.length, MessageId.bitfield, bits.length)
  out.set(bits, 5)
  return out
}

const blockMessage = (id: number, index: number, begin: number, length: number): Uint8Array => {
  const out = header(13, id, 12)
  out.writeUInt32BE(index, 5)
  out.writeUInt32BE(begin, 9)
  out.writeUInt32BE(length, 13)
  return out
}

export const encodeRequest = (index: number, begin: number, length: number): Uint8Array =>
  blockMessage(MessageId.request, index, begin, length)

export const encodeCancel = (index: number, begin: number, length: number): Uint8Array =>
  blockMessage(MessageId.cancel, index, begin, length)

export const encodeReject = (index: number, begin: number, length: number): Uint8Array =>
  blockMessage(MessageId.reject, index, begin, length)

/** The 13-byte header of a `piece` message; send the block itself after it, uncopied. */
export const encodePieceHeader = (index: number, begin: number, blockLength: number): Uint8Array => {
  const out = header(9 + blockLength, MessageId.piece, 8)
  out.writeUInt32BE(index, 5)
  out.writeUInt32BE(begin, 9)
  return out
}

export const encodePort = (port: number): Uint8Array => {
  const out = header(3, MessageId.port, 2)
  out.writeUInt16BE(port, 5)
  return out
}

export const encodeExtended = (id: number, payload: Uint8Array): Uint8Array => {
  const out = header(2 + payload.length, MessageId.extended, 1 + payload.length)
  out[5] = id
  out.set(payload, 6)
  return out
}

/** Encodes any message in one buffer (the piece block copied in): for tests and rare paths. */
export const encodeMessage = (message: Message): Uint8Array => {
  switch (message.type) {
    case "keepAlive":
      return KEEP_ALIVE
    case "choke":
      return CHOKE
    case "unchoke":
      return UNCHOKE
    case "interested":
      return INTERESTED
    case "notInterested":
      return NOT_INTERESTED
    case "have":
      return encodeHave(message.index)
    case "bitfield":
      return encodeBitfield(message.bits)
    case "request":
      return encodeRequest(message.index, message.begin, message.length)
    case "piece":
      return Buffer.concat([encodePieceHeader(message.index, message.begin, message.block.length), message.block])
    case "cancel":
      return encodeCancel(message.index, message.begin, message.length)
    case "port":
      return encodePort(message.port)
    case "extended":
      return encodeExtended(message.id, message.payload)
    case "suggest":
      return encodeSuggest(message.index)
    case "haveAll":
      return HAVE_ALL
    case "haveNone":
      return HAVE_NONE
    case "reject":
      return encodeReject(message.index, message.begin, message.length)
    case "allowedFast":
      return encodeAllowedFast(message.index)
    case "hashRequest":
    case "hashes":
    case "hashReject": {
      const out = header(1 + message.payload.length, MessageId[message.type], message.payload.length)
      out.set(message.payload, 5)
      return out
    }
  }
}
