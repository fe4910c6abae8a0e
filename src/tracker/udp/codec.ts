/**
 * The UDP tracker protocol (BEP 15): request encoders and a response decoder. Pure: no I/O, no services.
 * All integers are big-endian.
 */
import * as Either from "effect/Either"
import { randomBytes } from "node:crypto"
import { decodeCompactPeers } from "../compactPeers.js"
import type { AnnounceEvent, AnnounceRequest, PeerAddress, ScrapeEntry } from "../types.js"

/** The magic constant that opens a connect request. */
export const PROTOCOL_ID = 0x41727101980n

/** The `action` field of every packet. */
export const Action = { connect: 0, announce: 1, scrape: 2, error: 3 } as const
export type UdpAction = keyof typeof Action

/** The most info hashes one scrape request may carry (BEP 15: "up to about 74"). */
export const MAX_SCRAPE_HASHES = 74

/** A connection id granted by the tracker, valid for about a minute. */
export interface UdpConnectResponse {
  readonly action: "connect"
  readonly transactionId: number
  /** 8 opaque bytes, to be sent back as they are. */
  readonly connectionId: Uint8Array
}

export interface UdpAnnounceResponse {
  readonly action: "announce"
  readonly transactionId: number
  /** Seconds; 0 is passed through (the client clamps). */
  readonly interval: number
  readonly leechers: number
  readonly seeders: number
  /** Without duplicates and without port 0. */
  readonly peers: ReadonlyArray<PeerAddress>
}

export interface UdpScrapeResponse {
  readonly action: "scrape"
  readonly transactionId: number
  /** In the order of the requested info hashes; the tracker may send fewer than asked for. */
  readonly entries: ReadonlyArray<ScrapeEntry>
}

export interface UdpErrorResponse {
  readonly action: "error"
  readonly transactionId: number
  /** Safe to print: trimmed, control characters replaced, at most 200 characters. */
  readonly message: string
}

/** A decoded tracker packet, discriminated on `action`. */
export type UdpResponse = UdpConnectResponse | UdpAnnounceResponse | UdpScrapeResponse | UdpErrorResponse

const EVENT_CODE: Record<AnnounceEvent, number> = { completed: 1, started: 2, stopped: 3 }
const MAX_MESSAGE = 200

const requireInteger = (name: string, value: number, max: number): void => {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} is out of range`)
}

const requireLength = (name: string, bytes: Uint8Array, length: number): void => {
  if (bytes.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${bytes.length}`)
}

/** A request with its 16-byte header written: connection id (or protocol id), action, transaction id. */
const request = (size: number, connectionId: Uint8Array, action: number, transactionId: number) => {
  requireLength("connection id", connectionId, 8)
  requireInteger("transaction id", transactionId, 0xffffffff)
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  bytes.set(connectionId, 0)
  view.setUint32(8, action)
  view.setUint32(12, transactionId)
  return { bytes, view }
}

/** A connect request (16 bytes). `transactionId` is a uint32. */
export const encodeConnect = (transactionId: number): Uint8Array => {
  // The protocol id sits where later requests carry the connection id.
  const protocolId = new Uint8Array(8)
  new DataView(protocolId.buffer).setBigUint64(0, PROTOCOL_ID)
  return request(16, protocolId, Action.connect, transactionId).bytes
}

/**
 * An announce request (98 bytes). `numWant` below 0 asks for the tracker's default; `key` is written as a uint32;
 * the IP field is 0 (the tracker uses the packet's source). Throws RangeError for fields that cannot be encoded.
 */
export const encodeAnnounce = (
  connectionId: Uint8Array,
  transactionId: number,
  announce: AnnounceRequest
): Uint8Array => {
  requireLength("info hash", announce.infoHash, 20)
  requireLength("peer id", announce.peerId, 20)
  requireInteger("downloaded", announce.downloaded, Number.MAX_SAFE_INTEGER)
  requireInteger("left", announce.left, Number.MAX_SAFE_INTEGER)
  requireInteger("uploaded", announce.uploaded, Number.MAX_SAFE_INTEGER)
  requireInteger("port", announce.port, 0xffff)
  const { bytes, view } = request(98, connectionId, Action.announce, transactionId)
  bytes.set(announce.infoHash, 16)
  bytes.set(announce.peerId, 36)
  view.setBigUint64(56, BigInt(announce.downloaded))
  view.setBigUint64(64, BigInt(announce.left))
  view.setBigUint64(72, BigInt(announce.uploaded))
  view.setUint32(80, announce.event === undefined ? 0 : EVENT_CODE[announce.event])
  view.setUint32(84, 0)
  view.setUint32(88, announce.key >>> 0)
  view.setInt32(92, announce.numWant < 0 ? -1 : Math.min(Math.floor(announce.numWant), 0x7fffffff))
  view.setUint16(96, announce.port)
  return bytes
}

/** A scrape request for 1 to 74 info hashes of 20 bytes each. Throws RangeError otherwise. */
export const encodeScrape = (
  connectionId: Uint8Array,
  transactionId: number,
  infoHashes: ReadonlyArray<Uint8Array>
): Uint8Array => {
  if (infoHashes.length === 0 || infoHashes.length > MAX_SCRAPE_HASHES) {
    throw new RangeError(`a scrape carries 1 to ${MAX_SCRAPE_HASHES} info hashes, got ${infoHashes.length}`)
  }
  const { bytes } = request(16 + 20 * infoHashes.length, connectionId, Action.scrape, transactionId)
  infoHashes.forEach((hash, i) => {
    requireLength("info hash", hash, 20)
    bytes.set(hash, 16 + 20 * i)
  })
  return bytes
}

const errorMessage = (bytes: Uint8Array): string => {
  const text = new TextDecoder().decode(bytes).replace(/\p{Cc}+/gu, " ").trim()
  return Array.from(text).slice(0, MAX_MESSAGE).join("").trimEnd()
}

/**
 * Decodes a packet from a tracker. `family` is the address family of the socket the packet came in on: it decides
 * whether announce peers are 6-byte IPv4 or 18-byte IPv6 entries. Bytes past the last whole peer or scrape entry
 * are ignored. Never throws; the Left is a short detail for an error message.
 */
export const decodeResponse = (bytes: Uint8Array, family: "ipv4" | "ipv6"): Either.Either<UdpResponse, string> => {
  if (bytes.length < 8) return Either.left(`response of ${bytes.length} bytes is too short`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const action = view.getUint32(0)
  const transactionId = view.getUint32(4)
  const tooShort = (name: string) => Either.left(`${name} response of ${bytes.length} bytes is too short`)
  switch (action) {
    case Action.connect: {
      if (bytes.length < 16) return tooShort("connect")
      return Either.right({ action: "connect", transactionId, connectionId: bytes.slice(8, 16) })
    }
    case Action.announce: {
      if (bytes.length < 20) return tooShort("announce")
      const interval = view.getInt32(8)
      const leechers = view.getInt32(12)
      const seeders = view.getInt32(16)
      if (interval < 0) return Either.left("negative interval")
      if (leechers < 0) return Either.left("negative leechers")
      if (seeders < 0) return Either.left("negative seeders")
      const peers = decodeCompactPeers(bytes.subarray(20), family)
      return Either.right({ action: "announce", transactionId, interval, leechers, seeders, peers })
    }
    case Action.scrape: {
      if (bytes.length < 20) return tooShort("scrape")
      const entries: Array<ScrapeEntry> = []
      for (let at = 8; at + 12 <= bytes.length; at += 12) {
        const complete = view.getInt32(at)
        const downloaded = view.getInt32(at + 4)
        const incomplete = view.getInt32(at + 8)
        if (complete < 0 || downloaded < 0 || incomplete < 0) {
          return Either.left(`negative count in scrape entry ${entries.length + 1}`)
        }
        entries.push({ complete, downloaded, incomplete })
      }
      return Either.right({ action: "scrape", transactionId, entries })
    }
    case Action.error:
      return Either.right({ action: "error", transactionId, message: errorMessage(bytes.subarray(8)) })
    default:
      return Either.left(`unknown action ${action}`)
  }
}

/**
 * Decodes a packet answering our request: it must carry our `transactionId` and be either the `expected` kind or
 * an error response (which the caller turns into a rejection).
 */
export const expectResponse = <A extends Exclude<UdpAction, "error">>(
  bytes: Uint8Array,
  family: "ipv4" | "ipv6",
  transactionId: number,
  expected: A
): Either.Either<Extract<UdpResponse, { readonly action: A | "error" }>, string> =>
  Either.flatMap(decodeResponse(bytes, family), (response) => {
    if (response.transactionId !== transactionId) return Either.left("transaction id mismatch")
    if (response.action !== expected && response.action !== "error") {
      return Either.left(`expected ${expected} response, got ${response.action}`)
    }
    return Either.right(response as Extract<UdpResponse, { readonly action: A | "error" }>)
  })

/** A fresh random uint32 for one request. */
export const randomTransactionId = (): number => randomBytes(4).readUInt32BE(0)
