/**
 * Magnet links (BEP 9), with BEP 53's `so`: `magnet:?xt=urn:btih:HASH&dn=NAME&tr=TRACKER&x.pe=HOST:PORT...`.
 * Parsing is pure and bounded; every problem is a `MetainfoError`.
 */
import { formatEndpoint, parseEndpoint } from "../net/endpoint.js"
import type * as Either from "effect/Either"
import type { Endpoint } from "../net/Datagram.js"
import { invalid, validate } from "./invalid.js"
import type { MetainfoError } from "./MetainfoError.js"
import { type TorrentInfo, trackerTiers, type TrackerTier } from "./TorrentInfo.js"

/** Longer magnet links are refused unread. */
export const MAX_MAGNET_LENGTH = 64 * 1024
/** At most this many trackers, peers and web seeds are kept from a link; the rest are ignored. */
export const MAX_MAGNET_TRACKERS = 100
export const MAX_MAGNET_PEERS = 200
export const MAX_MAGNET_WEB_SEEDS = 100

/** Files `from` to `to`, both included, by their index in the torrent's file list (BEP 53). */
export interface FileRange {
  readonly from: number
  readonly to: number
}

/** What a magnet link says. The rest of the torrent (files, pieces) comes from peers (BEP 9 metadata exchange). */
export interface MagnetLink {
  /**
   * The info-hash used on the wire, by trackers and the DHT, 20 bytes: the v1 info-hash (`urn:btih`), or for a
   * v2-only link the v2 one truncated (BEP 52).
   */
  readonly infoHash: Uint8Array
  /** `infoHash` in lowercase hex. */
  readonly infoHashHex: string
  /** The v2 info-hash (`xt=urn:btmh:1220...`, SHA-256 of the info dictionary, 32 bytes), when the link has one. */
  readonly infoHashV2?: Uint8Array | undefined
  /** `dn`: a display name until the metadata brings the real one. */
  readonly name: string | undefined
  /** `tr`: each tracker its own tier, in the link's order, without duplicates. */
  readonly trackers: ReadonlyArray<TrackerTier>
  /** `x.pe`: peers to try at once. */
  readonly peers: ReadonlyArray<Endpoint>
  /** `ws`: web seeds (BEP 19). */
  readonly webSeeds: ReadonlyArray<string>
  /** `so` (BEP 53): only these files are wanted; undefined means all. */
  readonly selectOnly: ReadonlyArray<FileRange> | undefined
}

const PREFIX = "magnet:?"

/** Whether `text` is a magnet link rather than, say, a path (a `magnet:?` prefix, in any case). */
export const isMagnet = (text: string): boolean => text.trimStart().slice(0, PREFIX.length).toLowerCase() === PREFIX

const utf8 = new TextDecoder("utf-8", { fatal: false })

/** Decodes a key or value: `+` is a space (as in form encoding), runs of `%XX` escapes are UTF-8 bytes. */
const decodeLenient = (raw: string): string =>
  raw.replace(/\+/g, " ").replace(
    /(?:%[0-9a-fA-F]{2})+/g,
    (run) => utf8.decode(Buffer.from(run.replace(/%/g, ""), "hex"))
  )

/** Decodes a value we use: a `%` not followed by two hex digits makes the link malformed. */
const decodeValue = (key: string, raw: string): string => {
  const bad = /%(?![0-9a-fA-F]{2})/.exec(raw)
  if (bad !== null) {
    const shown = quote(raw.slice(bad.index, bad.index + 3))
    invalid("InvalidMagnet", `the magnet link's "${key}" has a bad percent-escape ${shown}`)
  }
  return decodeLenient(raw)
}

/** A value quoted in an error message, cut short if long. */
const quote = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567"

/** RFC 4648 base32 without padding: 32 characters are exactly 20 bytes. */
const fromBase32 = (text: string): Uint8Array => {
  const out = Buffer.alloc(20)
  let buffer = 0
  let bits = 0
  let at = 0
  for (const char of text.toLowerCase()) {
    buffer = (buffer << 5) | BASE32.indexOf(char)
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[at++] = (buffer >>> bits) & 0xff
      buffer &= (1 << bits) - 1
    }
  }
  return out
}

const infoHashOf = (hash: string): Uint8Array => {
  if (hash.length === 40) {
    if (/^[0-9a-f]{40}$/i.test(hash)) return Buffer.from(hash, "hex")
    return invalid("InvalidMagnet", `the magnet link's 40-character info-hash ${quote(hash)} is not hexadecimal`)
  }
  if (hash.length === 32) {
    if (/^[a-z2-7]{32}$/i.test(hash)) return fromBase32(hash)
    return invalid("InvalidMagnet", `the magnet link's 32-character info-hash ${quote(hash)} is not base32 (A-Z, 2-7)`)
  }
  return invalid(
    "InvalidMagnet",
    `the magnet link's info-hash ${quote(hash)} has ${hash.length} characters, not 40 (hex) or 32 (base32)`
  )
}

/** A v2 info-hash as a hex multihash: `12` (SHA-256), `20` (32 bytes), then the 64 hex digits of the hash. */
const multihashOf = (text: string): Uint8Array => {
  if (/^1220[0-9a-f]{64}$/i.test(text)) return Buffer.from(text.slice(4), "hex")
  return invalid(
    "InvalidMagnet",
    `the magnet link's v2 info-hash ${quote(text)} is not "1220" and 64 hexadecimal digits (a SHA-256 multihash)`
  )
}

const peerOf = (text: string): Endpoint => {
  const peer = parseEndpoint(text)
  return typeof peer === "string" ? invalid("InvalidMagnet", `the magnet link's peer ${quote(text)} ${peer}`) : peer
}

const rangesOf = (text: string): Array<FileRange> =>
  text.split(",").map((part) => {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim())
    if (match === null) {
      return invalid(
        "InvalidMagnet",
        `the magnet link's "so" ${quote(text)} is not a list of file indices such as 0,2,4-6`
      )
    }
    const from = Number(match[1])
    const to = match[2] === undefined ? from : Number(match[2])
    if (!Number.isSafeInteger(to) || from > to) {
      return invalid("InvalidMagnet", `the magnet link's "so" has a bad file range ${quote(part.trim())}`)
    }
    return { from, to }
  })

/** Adds `value` unless it is empty, already there, or the list is full. */
const addUnique = <A>(list: Array<A>, seen: Set<string>, key: string, value: A, limit: number): void => {
  if (key === "" || seen.has(key) || list.length >= limit) return
  seen.add(key)
  list.push(value)
}

const KNOWN_KEYS = new Set(["xt", "dn", "tr", "x.pe", "ws", "so"])

const parse = (uri: string): MagnetLink => {
  if (uri.length > MAX_MAGNET_LENGTH) {
    invalid("InvalidMagnet", `the magnet link is ${uri.length} characters long, over the limit of ${MAX_MAGNET_LENGTH}`)
  }
  const text = uri.trim()
  if (!isMagnet(text)) invalid("InvalidMagnet", `${quote(text)} is not a magnet link (one starts with "magnet:?")`)

  let infoHash: Uint8Array | undefined
  let infoHashV2: Uint8Array | undefined
  let name: string | undefined
  const trackers: Array<TrackerTier> = []
  const peers: Array<Endpoint> = []
  const webSeeds: Array<string> = []
  let selectOnly: Array<FileRange> | undefined
  const seen = { tr: new Set<string>(), pe: new Set<string>(), ws: new Set<string>() }

  for (const parameter of text.slice(PREFIX.length).split("&")) {
    if (parameter === "") continue
    const equals = parameter.indexOf("=")
    // Keys may carry a number to tell repeated ones apart (`tr.1`, `xt.2`): the same key for us.
    const key = decodeLenient(equals < 0 ? parameter : parameter.slice(0, equals)).toLowerCase().replace(/\.\d+$/, "")
    if (!KNOWN_KEYS.has(key)) continue
    const value = equals < 0 ? "" : decodeValue(key, parameter.slice(equals + 1))
    switch (key) {
      case "xt": {
        const urn = value.trim()
        const scheme = urn.slice(0, 9).toLowerCase()
        if (scheme === "urn:btmh:") {
          const hash = multihashOf(urn.slice(9))
          if (infoHashV2 !== undefined && !Buffer.from(infoHashV2).equals(hash)) {
            invalid("InvalidMagnet", "the magnet link has two different v2 info-hashes (urn:btmh)")
          }
          infoHashV2 = hash
          break
        }
        if (scheme !== "urn:btih:") break
        const hash = infoHashOf(urn.slice(9))
        if (infoHash !== undefined && !Buffer.from(infoHash).equals(hash)) {
          invalid(
            "InvalidMagnet",
            `the magnet link has two different info-hashes (${Buffer.from(infoHash).toString("hex")} and ${
              Buffer.from(hash).toString("hex")
            })`
          )
        }
        infoHash = hash
        break
      }
      case "dn":
        if (name === undefined && value !== "") name = value
        break
      case "tr": {
        const url = value.trim()
        addUnique(trackers, seen.tr, url, [url], MAX_MAGNET_TRACKERS)
        break
      }
      case "x.pe": {
        const peer = peerOf(value.trim())
        addUnique(peers, seen.pe, formatEndpoint(peer), peer, MAX_MAGNET_PEERS)
        break
      }
      case "ws": {
        const url = value.trim()
        addUnique(webSeeds, seen.ws, url, url, MAX_MAGNET_WEB_SEEDS)
        break
      }
      case "so":
        ;(selectOnly ??= []).push(...rangesOf(value))
        break
    }
  }

  const wireHash = infoHash ?? infoHashV2?.subarray(0, 20)
  if (wireHash === undefined) {
    return invalid("InvalidMagnet", "the magnet link has no BitTorrent info-hash (xt=urn:btih:... or xt=urn:btmh:1220...)")
  }
  return {
    infoHash: wireHash,
    infoHashHex: Buffer.from(wireHash).toString("hex"),
    ...(infoHashV2 === undefined ? {} : { infoHashV2 }),
    name,
    trackers,
    peers,
    webSeeds,
    selectOnly
  }
}

/**
 * Parses a magnet link (BEP 9, and `so` from BEP 53). The info-hash is `xt=urn:btih:` in hex or base32; unknown
 * parameters are ignored. Pure, bounded (see `MAX_MAGNET_LENGTH` and the limits by it), never throws.
 */
export const parseMagnet = (uri: string): Either.Either<MagnetLink, MetainfoError> =>
  validate(undefined, () => parse(uri))

export { formatEndpoint }

/** Lone surrogates, which `encodeURIComponent` throws on, as U+FFFD. */
const wellFormed = (text: string): string =>
  text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")

const encodeValue = (text: string): string => encodeURIComponent(wellFormed(text))

/** The magnet link of a torrent: info-hash (v1 `btih`, v2 `btmh`, both for a hybrid), name, every tracker (tiers flattened, in order) and web seeds. */
export const formatMagnet = (torrent: TorrentInfo): string => {
  const trackers = [...new Set(trackerTiers(torrent).flat())]
  return PREFIX + [
    ...(torrent.v2 === undefined || torrent.v2.hybrid ? [`xt=urn:btih:${torrent.infoHashHex}`] : []),
    ...(torrent.v2 === undefined ? [] : [`xt=urn:btmh:1220${torrent.v2.infoHashHex}`]),
    `dn=${encodeValue(torrent.name)}`,
    ...trackers.map((url) => `tr=${encodeValue(url)}`),
    ...torrent.urlList.map((url) => `ws=${encodeValue(url)}`)
  ].join("&")
}
