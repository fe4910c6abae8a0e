/**
 * BEP 42 (DHT security extension): a node id tied to the node's external IP address. The first 21 bits of the id
 * are the top of CRC32-C over the address masked (the lower bits of each octet kept more the further in), with 3
 * random bits `r` folded in; the last byte carries `r` (in its low 3 bits) so anyone can check the id. Pure.
 */
import { isIPv4, isIPv6 } from "node:net"
import type { NodeId, RandomBytes } from "./NodeId.js"

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32C (Castagnoli), as iSCSI and BEP 42 use it. */
export const crc32c = (bytes: Uint8Array): number => {
  let crc = 0xffffffff
  for (const byte of bytes) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff]
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff]

/** The octets BEP 42 hashes: all 4 of an IPv4 address, the first 8 of an IPv6 one; undefined for anything else. */
const octets = (ip: string): Uint8Array | undefined => {
  if (isIPv4(ip)) return Uint8Array.from(ip.split(".").map(Number))
  if (!isIPv6(ip)) return undefined
  const [head = "", tail = ""] = ip.split("::")
  const parts = (s: string) => (s === "" ? [] : s.split(":"))
  const h = parts(head)
  const t = ip.includes("::") ? parts(tail) : []
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t]
  if (groups.some((g) => g.includes("."))) return undefined
  const bytes = new Uint8Array(8)
  for (let i = 0; i < 4; i++) {
    const value = parseInt(groups[i]!, 16)
    bytes[2 * i] = value >> 8
    bytes[2 * i + 1] = value & 0xff
  }
  return bytes
}

/**
 * The network a public address belongs to, as one hands them out: its /24 for IPv4, its /64 for IPv6 (as a string
 * key). `undefined` for exempt addresses (a LAN or a test may run many nodes there) and for anything not an IP.
 */
export const subnetOf = (ip: string): string | undefined => {
  if (isExemptAddress(ip)) return undefined
  const bytes = octets(ip)
  if (bytes === undefined) return undefined
  return bytes.length === 4 ? bytes.subarray(0, 3).join(".") : Buffer.from(bytes).toString("hex")
}

/** The 32-bit CRC an id's prefix must match, for `ip` and the 3 random bits `r`. */
const prefixCrc = (ip: Uint8Array, r: number): number => {
  const mask = ip.length === 4 ? V4_MASK : V6_MASK
  const masked = ip.map((byte, i) => byte & mask[i]!)
  masked[0] = masked[0]! | ((r & 0x7) << 5)
  return crc32c(masked)
}

/**
 * Addresses BEP 42 leaves alone: a node there cannot know its external address the way others see it (loopback,
 * private and link-local ranges, IPv6 unique-local and link-local).
 */
export const isExemptAddress = (ip: string): boolean => {
  if (isIPv4(ip)) {
    const [a, b] = ip.split(".").map(Number) as [number, number]
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) ||
      (a === 169 && b === 254) || a === 0
  }
  const lower = ip.toLowerCase()
  return lower === "::1" || lower === "::" || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower)
}

/**
 * A node id for external address `ip`: 21 bits from the address, the rest random, the last byte `rand` (whose low
 * 3 bits enter the CRC). `undefined` when `ip` is not an IP address.
 */
export const secureNodeId = (ip: string, random: RandomBytes): NodeId | undefined => {
  const bytes = octets(ip)
  if (bytes === undefined) return undefined
  const id = random(20)
  const rand = id[19]!
  const crc = prefixCrc(bytes, rand & 0x7)
  id[0] = (crc >>> 24) & 0xff
  id[1] = (crc >>> 16) & 0xff
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 0x7)
  return id
}

/** Whether `id` is one BEP 42 allows a node at `ip` (exempt addresses allow any). */
export const isSecureNodeId = (id: NodeId, ip: string): boolean => {
  if (isExemptAddress(ip)) return true
  const bytes = octets(ip)
  if (bytes === undefined || id.length !== 20) return false
  const crc = prefixCrc(bytes, id[19]! & 0x7)
  return id[0] === ((crc >>> 24) & 0xff) && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8)
}
