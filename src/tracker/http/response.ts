import * as Either from "effect/Either"
import { type BDict, type BValue, decode, isBytes, isDict, isInteger, isList } from "../../bencode/index.js"
import { decodeCompactPeers } from "../compactPeers.js"
import { decodeIp } from "../../wire/compactPeer.js"
import type { AnnounceResponse, PeerAddress, ScrapeEntry } from "../types.js"

/** Why an HTTP tracker's body was not a usable answer. */
export interface ResponseProblem {
  readonly reason: "Decode" | "Rejected"
  readonly detail: string
}

/** Used when a tracker omits `interval`: half an hour, what trackers commonly send. */
export const DEFAULT_INTERVAL = 1800

const utf8 = new TextDecoder()
/** Tracker text shown to users: decoded, single-line, bounded, without C0 or C1 control characters. */
export const trackerText = (bytes: Uint8Array): string =>
  utf8.decode(bytes).replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim().slice(0, 300)

const decodeDict = (body: Uint8Array): Either.Either<BDict, ResponseProblem> => {
  const decoded = decode(body)
  if (Either.isLeft(decoded)) {
    return Either.left({ reason: "Decode", detail: `the tracker's answer is not bencode (${decoded.left.message})` })
  }
  return isDict(decoded.right)
    ? Either.right(decoded.right)
    : Either.left({ reason: "Decode", detail: "the tracker's answer is not a dictionary" })
}

/** A `failure reason` means the tracker refused the request, whatever else the answer holds. */
const refused = (dict: BDict): ResponseProblem | undefined => {
  const failure = dict.get("failure reason")
  if (failure === undefined) return undefined
  return {
    reason: "Rejected",
    detail: `the tracker refused: ${isBytes(failure) ? trackerText(failure) : "(no reason given)"}`
  }
}

const count = (value: BValue | undefined): number | undefined =>
  isInteger(value) && value >= 0 ? value : undefined

const validPort = (port: number): boolean => Number.isInteger(port) && port > 0 && port < 65536

/** The non-compact peer list: dictionaries with `ip` and `port` (and a `peer id` we do not need). */
const dictionaryPeers = (list: ReadonlyArray<BValue>): Array<PeerAddress> =>
  list.flatMap((entry) => {
    if (!isDict(entry)) return []
    const ip = entry.get("ip")
    const port = entry.get("port")
    if (!isBytes(ip) || !isInteger(port) || !validPort(port)) return []
    const host = trackerText(ip)
    return host.length > 0 ? [{ host, port }] : []
  })

const uniquePeers = (peers: ReadonlyArray<PeerAddress>): Array<PeerAddress> => {
  const seen = new Set<string>()
  return peers.filter((peer) => {
    const key = `${peer.host}|${peer.port}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** Decodes an HTTP tracker's announce answer (BEP 3, BEP 23 compact peers, BEP 7 `peers6`). */
export const decodeAnnounceResponse = (body: Uint8Array): Either.Either<AnnounceResponse, ResponseProblem> =>
  Either.flatMap(decodeDict(body), (dict): Either.Either<AnnounceResponse, ResponseProblem> => {
    const refusal = refused(dict)
    if (refusal !== undefined) return Either.left(refusal)
    const peersValue = dict.get("peers")
    const peers6 = dict.get("peers6")
    if (peersValue !== undefined && !isBytes(peersValue) && !isList(peersValue)) {
      return Either.left({ reason: "Decode", detail: `the tracker's "peers" is neither a string nor a list` })
    }
    const peers = [
      ...(isBytes(peersValue) ? decodeCompactPeers(peersValue, "ipv4") : []),
      ...(isList(peersValue) ? dictionaryPeers(peersValue) : []),
      ...(isBytes(peers6) ? decodeCompactPeers(peers6, "ipv6") : [])
    ]
    const interval = count(dict.get("interval"))
    const warning = dict.get("warning message")
    const trackerId = dict.get("tracker id")
    const externalIp = dict.get("external ip")
    const external = isBytes(externalIp) ? decodeIp(externalIp) : undefined
    return Either.right({
      interval: interval ?? DEFAULT_INTERVAL,
      minInterval: count(dict.get("min interval")),
      peers: uniquePeers(peers),
      complete: count(dict.get("complete")),
      incomplete: count(dict.get("incomplete")),
      warning: isBytes(warning) ? trackerText(warning) : undefined,
      trackerId: isBytes(trackerId) ? Buffer.from(trackerId).toString("latin1") : undefined,
      ...(external === undefined ? {} : { externalIp: external })
    })
  })

/** Decodes a scrape answer: `files` maps each 20-byte info-hash to its counts. Keys are returned as hex. */
export const decodeScrapeResponse = (
  body: Uint8Array
): Either.Either<ReadonlyMap<string, ScrapeEntry>, ResponseProblem> =>
  Either.flatMap(decodeDict(body), (dict): Either.Either<ReadonlyMap<string, ScrapeEntry>, ResponseProblem> => {
    const refusal = refused(dict)
    if (refusal !== undefined) return Either.left(refusal)
    const files = dict.get("files")
    if (!isDict(files)) return Either.left({ reason: "Decode", detail: `the scrape answer has no "files" dictionary` })
    const entries = new Map<string, ScrapeEntry>()
    for (const [key, value] of files) {
      if (key.length !== 20 || !isDict(value)) continue
      entries.set(Buffer.from(key, "latin1").toString("hex"), {
        complete: count(value.get("complete")) ?? 0,
        downloaded: count(value.get("downloaded")) ?? 0,
        incomplete: count(value.get("incomplete")) ?? 0
      })
    }
    return Either.right(entries)
  })
