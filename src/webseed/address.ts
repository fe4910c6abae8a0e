import { isIP } from "node:net"

const v4 = (host: string): number | undefined => {
  const parts = host.split(".").map(Number)
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return undefined
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
}

/** IPv4 ranges that are not on the public internet: [network, prefix length]. */
const PRIVATE_V4: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4]
]

const inV4 = (address: number, [network, bits]: readonly [string, number]) =>
  bits === 0 || (address >>> (32 - bits)) === (v4(network)! >>> (32 - bits))

/**
 * Whether a URL's host names a machine off the public internet: loopback, private, link-local, unique-local,
 * `localhost` and `*.localhost`, and the unspecified address. A DNS name is taken as public (it is not resolved
 * here: a public name that resolves to a private address is not caught).
 */
export const isPrivateHost = (hostname: string): boolean => {
  const host = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname
  const lower = host.toLowerCase()
  if (lower === "localhost" || lower.endsWith(".localhost")) return true
  switch (isIP(lower)) {
    case 4:
      return PRIVATE_V4.some((range) => inV4(v4(lower)!, range))
    case 6: {
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
      if (mapped !== null) return isPrivateHost(mapped[1]!)
      if (lower === "::" || lower === "::1") return true
      const first = parseInt(lower.split(":")[0] || "0", 16)
      return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00
    }
    default:
      return false
  }
}

/** A redirect from `from` to `to` that would carry a request from the public internet into a private network. */
export const publicToPrivate = (from: URL, to: URL): boolean => !isPrivateHost(from.hostname) && isPrivateHost(to.hostname)
