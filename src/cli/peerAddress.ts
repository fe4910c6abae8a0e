import * as Either from "effect/Either"
import { isIP } from "node:net"
import type { Endpoint } from "../net/Datagram.js"

/** Parses `host:port` or `[ipv6]:port` as given to `--peer`. */
export const parsePeerAddress = (text: string): Either.Either<Endpoint, string> => {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text)
  if (match === null) return Either.left(`--peer ${text}: expected HOST:PORT or [IPV6]:PORT`)
  const host = match[1]!
  const port = Number(match[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Either.left(`--peer ${text}: port out of range`)
  if (text.startsWith("[") && isIP(host) !== 6) return Either.left(`--peer ${text}: not an IPv6 address`)
  return Either.right({ host, port })
}
