import { isIP } from "node:net"
import type { Endpoint } from "./Datagram.js"

/** `host:port`, or `[host]:port` for an IPv6 address: how an address is shown, logged and used as a key. */
export const formatEndpoint = (endpoint: Endpoint): string =>
  endpoint.host.includes(":") ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`

/** Reads `host:port` or `[ipv6]:port` (a port 1-65535); otherwise says what is wrong ("is not …", "has …"). */
export const parseEndpoint = (text: string): Endpoint | string => {
  const match = /^\[([^\]]*)\]:(\d+)$/.exec(text) ?? /^([^:\s[\]]+):(\d+)$/.exec(text)
  if (match === null) return "is not HOST:PORT or [IPV6]:PORT"
  const host = match[1]!
  const port = Number(match[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) return "has a port outside 1-65535"
  if (text.startsWith("[") && isIP(host) !== 6) return "is not an IPv6 address in brackets"
  return { host, port }
}
