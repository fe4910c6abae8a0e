/**
 * BEP 55's `ut_holepunch` message, under BEP 10: a type, an address (IPv4 or IPv6), a port and an error code, all
 * big-endian. `rendezvous` asks a relay to introduce us to a peer it is connected to, `connect` (from the relay, to
 * both sides) says whom to dial over uTP, `error` says why the relay cannot. Pure: no I/O.
 */
import { decodeIp, encodeIp, type PeerAddress } from "./compactPeer.js"
import { WireError } from "./WireError.js"

export type HolepunchType = "rendezvous" | "connect" | "error"

/** BEP 55's error codes. */
export const HolepunchErrorCode = {
  /** The target endpoint is invalid. */
  noSuchPeer: 1,
  /** The relay is not connected to the target. */
  notConnected: 2,
  /** The target does not speak ut_holepunch. */
  noSupport: 3,
  /** The target is the relay itself. */
  noSelf: 4
} as const

export interface HolepunchMessage {
  readonly type: HolepunchType
  readonly peer: PeerAddress
  /** 0 for rendezvous and connect; one of `HolepunchErrorCode` (or another, from a newer peer) for an error. */
  readonly errorCode: number
}

const TYPES: ReadonlyArray<HolepunchType> = ["rendezvous", "connect", "error"]

const bad = (detail: string) => new WireError({ reason: "BadExtension", detail: `ut_holepunch: ${detail}` })

export const encodeHolepunch = (message: HolepunchMessage): Uint8Array => {
  const address = encodeIp(message.peer.host)
  if (address === undefined) throw new RangeError(`ut_holepunch: ${message.peer.host} is not an IP address`)
  const out = Buffer.alloc(2 + address.length + 2 + 4)
  out[0] = TYPES.indexOf(message.type)
  out[1] = address.length === 4 ? 0 : 1
  out.set(address, 2)
  out.writeUInt16BE(message.peer.port, 2 + address.length)
  out.writeUInt32BE(message.errorCode, 4 + address.length)
  return out
}

/** A `ut_holepunch` payload, or a WireError for a truncated, overlong or unknown one (never a throw). */
export const decodeHolepunch = (payload: Uint8Array): HolepunchMessage | WireError => {
  if (payload.length < 2) return bad(`${payload.length} bytes is too short`)
  const type = TYPES[payload[0]!]
  if (type === undefined) return bad(`unknown message type ${payload[0]}`)
  const addressLength = payload[1] === 0 ? 4 : payload[1] === 1 ? 16 : undefined
  if (addressLength === undefined) return bad(`unknown address type ${payload[1]}`)
  // libtorrent 2.0 sends `rendezvous` and `connect` without the error code (BEP 55 lists it in every message): taken
  // as 0, as libtorrent itself reads a message that ends after the port.
  const withCode = payload.length === 2 + addressLength + 6
  if (!withCode && payload.length !== 2 + addressLength + 2) {
    return bad(`${payload.length} bytes for an ${addressLength === 4 ? "IPv4" : "IPv6"} message of ${addressLength + 8}`)
  }
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.length)
  const host = decodeIp(payload.subarray(2, 2 + addressLength))!
  const port = view.readUInt16BE(2 + addressLength)
  const errorCode = withCode ? view.readUInt32BE(4 + addressLength) : 0
  if (port === 0) return bad("port 0")
  return { type, peer: { host, port }, errorCode }
}
