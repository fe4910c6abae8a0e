/**
 * BEP 10, the extension protocol: extended messages (id 20) carry an extension id and a payload; id 0 is the
 * extended handshake, a bencoded dictionary that says under which ids the sender wants to receive each extension.
 * Pure codecs, no I/O. The extensions themselves: `metadata.ts` (BEP 9), `pex.ts` (BEP 11).
 */
import { encode, isBytes, isDict } from "../bencode/index.js"
import { badExtension, decodeDict, integerIn } from "./extensionDict.js"
import { WireError } from "./WireError.js"

/** Our local ids for the extensions we speak (what we put in our handshake's `m`). */
export const OUR_EXTENSIONS = { ut_metadata: 1, ut_pex: 2, ut_holepunch: 3 } as const
export type ExtensionName = keyof typeof OUR_EXTENSIONS

/** BEP 9: metadata travels in pieces of 16 KiB. */
export const METADATA_PIECE_SIZE = 16384
/** Largest metadata_size we accept (an info dictionary of a huge torrent stays far below). */
export const MAX_METADATA_SIZE = 16 * 1024 * 1024

/** The largest `reqq` kept: libtorrent's own limit is an `int`. */
const MAX_REQUEST_QUEUE = 0x7fffffff

export interface ExtendedHandshake {
  /** Extension name -> the id the SENDER wants to receive it under; 0 means the sender disabled it. */
  readonly m: ReadonlyMap<string, number>
  /** Client name and version. */
  readonly v?: string
  /** The sender's TCP listen port (1..65535 only). */
  readonly p?: number
  /** Requests the sender queues. */
  readonly reqq?: number
  /** 4 or 16 bytes: our address as the sender sees it. */
  readonly yourip?: Uint8Array
  /** ut_metadata: the size of the info dictionary (1..MAX_METADATA_SIZE). */
  readonly metadataSize?: number
}

/** The payload of an extended handshake (send it as extended message 0). */
export const encodeExtendedHandshake = (handshake: ExtendedHandshake): Uint8Array =>
  encode({
    m: handshake.m,
    v: handshake.v,
    p: handshake.p,
    reqq: handshake.reqq,
    yourip: handshake.yourip,
    metadata_size: handshake.metadataSize
  })

/**
 * Decodes an extended handshake. Only a payload that is not a dictionary, or an `m` that is not one, is an error:
 * peers send odd things, so an `m` entry that is not an id in 0..255 is left out, and so is any other field of the
 * wrong type or out of range. A missing `m` reads as empty (BEP 10 lets a later handshake change only some ids).
 * Nothing in the result refers to `payload`.
 */
export const decodeExtendedHandshake = (payload: Uint8Array): ExtendedHandshake | WireError => {
  const dict = decodeDict(payload, "extended handshake")
  if (dict instanceof WireError) return dict
  const m = dict.get("m")
  if (m !== undefined && !isDict(m)) return badExtension("extended handshake: m is not a dictionary")
  const ids = new Map<string, number>()
  for (const [name, id] of m ?? []) {
    if (integerIn(id, 0, 255)) ids.set(name, id)
  }
  const v = dict.get("v")
  const p = dict.get("p")
  const reqq = dict.get("reqq")
  const yourip = dict.get("yourip")
  const metadataSize = dict.get("metadata_size")
  return {
    m: ids,
    ...(isBytes(v) ? { v: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("utf8") } : {}),
    ...(integerIn(p, 1, 0xffff) ? { p } : {}),
    ...(integerIn(reqq, 1, MAX_REQUEST_QUEUE) ? { reqq } : {}),
    ...(isBytes(yourip) && (yourip.length === 4 || yourip.length === 16) ? { yourip: Uint8Array.from(yourip) } : {}),
    ...(integerIn(metadataSize, 1, MAX_METADATA_SIZE) ? { metadataSize } : {})
  }
}
