/**
 * NAT-PMP (RFC 6886) and PCP (RFC 6887) packets: pure encoders and decoders, no I/O. Both speak to the default
 * gateway on UDP port 5351; a NAT-PMP-only gateway answers a PCP request with a version-0 "unsupported version", which
 * is how a client falls back.
 */

export const GATEWAY_PORT = 5351

export type MapProtocol = "tcp" | "udp"

// ---------------------------------------------------------------------------------------------------------------
// NAT-PMP (version 0)

/** RFC 6886 result codes. */
export const PMP_RESULT: Record<number, string> = {
  0: "success",
  1: "unsupported version",
  2: "not authorized or refused",
  3: "network failure",
  4: "out of resources",
  5: "unsupported opcode"
}

/** "What is my external address?": version 0, opcode 0. */
export const encodePmpExternalRequest = (): Uint8Array => Uint8Array.of(0, 0)

export interface PmpMapRequest {
  readonly protocol: MapProtocol
  readonly internalPort: number
  /** The external port we would like; 0 lets the gateway choose. With `lifetime` 0: delete. */
  readonly externalPort: number
  /** Seconds; 0 deletes the mapping. */
  readonly lifetime: number
}

/** A mapping request: opcode 1 (UDP) or 2 (TCP), 12 bytes. */
export const encodePmpMapRequest = (request: PmpMapRequest): Uint8Array => {
  const bytes = new Uint8Array(12)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, 0)
  view.setUint8(1, request.protocol === "udp" ? 1 : 2)
  view.setUint16(4, request.internalPort)
  view.setUint16(6, request.externalPort)
  view.setUint32(8, request.lifetime)
  return bytes
}

export type PmpAnswer =
  | { readonly kind: "external"; readonly result: number; readonly epoch: number; readonly address: string }
  | {
    readonly kind: "map"
    readonly protocol: MapProtocol
    readonly result: number
    readonly epoch: number
    readonly internalPort: number
    readonly externalPort: number
    readonly lifetime: number
  }
  /** An error answer too short to carry the fields of its opcode (RFC 6886 lets a gateway send 8 bytes then). */
  | { readonly kind: "error"; readonly opcode: number; readonly result: number }

/** Reads a NAT-PMP answer, or says what is wrong with it. */
export const decodePmpAnswer = (bytes: Uint8Array): PmpAnswer | string => {
  if (bytes.length < 4) return `a ${bytes.length}-byte NAT-PMP answer is too short`
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint8(0) !== 0) return `NAT-PMP answer of version ${view.getUint8(0)}`
  const opcode = view.getUint8(1)
  if (opcode < 128) return "a NAT-PMP request, not an answer"
  const result = view.getUint16(2)
  const op = opcode - 128
  if (op > 2) return `NAT-PMP answer to unknown opcode ${op}`
  if (result !== 0 && bytes.length < (op === 0 ? 12 : 16)) return { kind: "error", opcode: op, result }
  if (op === 0) {
    if (bytes.length < 12) return "NAT-PMP external-address answer shorter than 12 bytes"
    return { kind: "external", result, epoch: view.getUint32(4), address: Array.from(bytes.subarray(8, 12)).join(".") }
  }
  if (bytes.length < 16) return "NAT-PMP mapping answer shorter than 16 bytes"
  return {
    kind: "map",
    protocol: op === 1 ? "udp" : "tcp",
    result,
    epoch: view.getUint32(4),
    internalPort: view.getUint16(8),
    externalPort: view.getUint16(10),
    lifetime: view.getUint32(12)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PCP (version 2), the MAP opcode only

/** RFC 6887 result codes. */
export const PCP_RESULT: Record<number, string> = {
  0: "success",
  1: "unsupported version",
  2: "not authorized",
  3: "malformed request",
  4: "unsupported opcode",
  5: "unsupported option",
  6: "malformed option",
  7: "network failure",
  8: "no resources",
  9: "unsupported protocol",
  10: "user exceeded quota",
  11: "cannot provide external",
  12: "address mismatch",
  13: "excessive remote peers"
}

const PCP_VERSION = 2
const OPCODE_MAP = 1
const IANA: Record<MapProtocol, number> = { tcp: 6, udp: 17 }

/** An IPv4 address as the 16-byte IPv4-mapped IPv6 address PCP carries (`::ffff:a.b.c.d`); `0.0.0.0` is all zeros. */
export const mappedAddress = (ipv4: string): Uint8Array => {
  const bytes = new Uint8Array(16)
  if (ipv4 === "0.0.0.0") return bytes
  bytes[10] = 0xff
  bytes[11] = 0xff
  ipv4.split(".").forEach((part, i) => (bytes[12 + i] = Number(part)))
  return bytes
}

/** The 16-byte address field read back: dotted IPv4 for a mapped address, else colon-separated hex. */
export const readAddress = (bytes: Uint8Array): string => {
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
  if (mapped) return Array.from(bytes.subarray(12, 16)).join(".")
  const groups: Array<string> = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  return groups.join(":")
}

export interface PcpMapRequest extends PmpMapRequest {
  /** Our address on the link to the gateway (IPv4). */
  readonly client: string
  /** 12 random bytes, the same for every request about one mapping (renewals, the delete). */
  readonly nonce: Uint8Array
}

/** A MAP request: the 24-byte common header, then the 36-byte MAP body. */
export const encodePcpMapRequest = (request: PcpMapRequest): Uint8Array => {
  const bytes = new Uint8Array(60)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, PCP_VERSION)
  view.setUint8(1, OPCODE_MAP)
  view.setUint32(4, request.lifetime)
  bytes.set(mappedAddress(request.client), 8)
  bytes.set(request.nonce.subarray(0, 12), 24)
  view.setUint8(36, IANA[request.protocol])
  view.setUint16(40, request.internalPort)
  view.setUint16(42, request.externalPort)
  // No suggested external address: for IPv4 that is ::ffff:0.0.0.0 (RFC 6887 section 11.1).
  bytes[54] = 0xff
  bytes[55] = 0xff
  return bytes
}

export interface PcpMapAnswer {
  readonly result: number
  readonly lifetime: number
  readonly epoch: number
  readonly nonce: Uint8Array
  readonly protocol: MapProtocol | number
  readonly internalPort: number
  readonly externalPort: number
  readonly externalAddress: string
}

/** Reads a PCP MAP answer, or says what is wrong with it. */
export const decodePcpMapAnswer = (bytes: Uint8Array): PcpMapAnswer | string => {
  if (bytes.length < 24) return `a ${bytes.length}-byte PCP answer is too short`
  if (bytes.length > 1100) return "a PCP answer longer than 1100 bytes"
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint8(0) !== PCP_VERSION) return `PCP answer of version ${view.getUint8(0)}`
  const opcode = view.getUint8(1)
  if ((opcode & 0x80) === 0) return "a PCP request, not an answer"
  if ((opcode & 0x7f) !== OPCODE_MAP) return `PCP answer to opcode ${opcode & 0x7f}, not MAP`
  const result = view.getUint8(3)
  const header = { result, lifetime: view.getUint32(4), epoch: view.getUint32(8) }
  if (bytes.length < 60) {
    return result === 0 ? "PCP MAP answer shorter than 60 bytes" : {
      ...header,
      nonce: new Uint8Array(12),
      protocol: 0,
      internalPort: 0,
      externalPort: 0,
      externalAddress: ""
    }
  }
  const iana = view.getUint8(36)
  return {
    ...header,
    nonce: bytes.slice(24, 36),
    protocol: iana === 6 ? "tcp" : iana === 17 ? "udp" : iana,
    internalPort: view.getUint16(40),
    externalPort: view.getUint16(42),
    externalAddress: readAddress(bytes.subarray(44, 60))
  }
}
