import * as Either from "effect/Either"
import type { Endpoint } from "../net/Datagram.js"
import { parseEndpoint } from "../net/endpoint.js"

/** Parses `host:port` or `[ipv6]:port` as given to `--peer`. */
export const parsePeerAddress = (text: string): Either.Either<Endpoint, string> => {
  const parsed = parseEndpoint(text)
  return typeof parsed === "string" ? Either.left(`--peer ${text} ${parsed}`) : Either.right(parsed)
}
