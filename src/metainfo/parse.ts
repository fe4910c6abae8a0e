import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import {
  type BDict,
  type BValue,
  decode,
  decodeWithSpans,
  encode,
  isBytes,
  isDict,
  isInteger,
  isList
} from "../bencode/index.js"
import { invalid, validate } from "./invalid.js"
import type { MetainfoError } from "./MetainfoError.js"
import { findCollision, unsafeComponent } from "./paths.js"
import {
  type TorrentFile,
  type TorrentInfo,
  type TorrentV2,
  trackerTiers,
  type TrackerTier
} from "./TorrentInfo.js"
import { layoutFiles, matchHybrid, MIN_V2_PIECE_LENGTH, parseFileTree, parsePieceLayers, type TreeFile } from "./v2.js"

/** Pieces above this size are not something any client makes; refusing them bounds per-piece memory. */
export const MAX_PIECE_LENGTH = 256 * 1024 * 1024
/** 1 PiB: far above any real torrent, far below where offsets lose precision. */
export const MAX_TOTAL_LENGTH = 2 ** 50
/** A torrent listing more files than this is hostile, not large. */
export const MAX_FILES = 1_000_000

const utf8 = new TextDecoder("utf-8", { fatal: false })
const text = (bytes: Uint8Array): string => utf8.decode(bytes)

const field = (dict: BDict, key: string, where: string): BValue =>
  dict.get(key) ?? invalid("InvalidField", `${where} has no "${key}"`)

const bytesField = (dict: BDict, key: string, where: string): Uint8Array => {
  const value = field(dict, key, where)
  return isBytes(value) ? value : invalid("InvalidField", `${where} "${key}" is not a string`)
}

const integerField = (dict: BDict, key: string, where: string): number => {
  const value = field(dict, key, where)
  return isInteger(value) ? value : invalid("InvalidField", `${where} "${key}" is not an integer`)
}

/** Optional text: absent, or of the wrong type, reads as undefined (these fields are informational). */
const optionalText = (dict: BDict, key: string): string | undefined => {
  const value = dict.get(key)
  return isBytes(value) ? text(value) : undefined
}

/** Prefers the `KEY.utf-8` variant that some encoders add alongside a legacy-encoded `KEY`. */
const preferUtf8 = (dict: BDict, key: string, where: string): BValue =>
  dict.get(`${key}.utf-8`) ?? field(dict, key, where)

const safeName = (value: BValue, where: string): string => {
  if (!isBytes(value)) return invalid("InvalidField", `${where} is not a string`)
  const name = text(value)
  const problem = unsafeComponent(name)
  return problem === undefined ? name : invalid("UnsafePath", `${where} contains ${problem}`)
}

const fileLength = (dict: BDict, where: string): number => {
  const length = integerField(dict, "length", where)
  if (length < 0) invalid("InvalidLength", `${where} has a negative length (${length})`)
  if (length > MAX_TOTAL_LENGTH) invalid("InvalidLength", `${where} has an absurd length (${length} bytes)`)
  return length
}

const parseFiles = (info: BDict, name: string): { layout: "single" | "multi"; files: Array<TorrentFile> } => {
  const list = info.get("files")
  if (list === undefined) {
    const length = fileLength(info, "info")
    return { layout: "single", files: [{ path: [name], length, offset: 0, padding: false }] }
  }
  if (info.has("length")) invalid("InvalidField", `info has both "length" and "files"`)
  if (!isList(list)) return invalid("InvalidField", `info "files" is not a list`)
  if (list.length === 0) invalid("InvalidField", `info "files" is empty`)
  if (list.length > MAX_FILES) invalid("InvalidField", `info "files" lists ${list.length} files`)
  const files: Array<TorrentFile> = []
  let offset = 0
  for (const [index, entry] of list.entries()) {
    const where = `file ${index + 1}`
    if (!isDict(entry)) return invalid("InvalidField", `${where} is not a dictionary`)
    const length = fileLength(entry, where)
    const components = preferUtf8(entry, "path", where)
    if (!isList(components)) return invalid("InvalidField", `${where} "path" is not a list`)
    if (components.length === 0) invalid("UnsafePath", `${where} has an empty path`)
    const path = components.map((component) => safeName(component, `${where} path`))
    const attr = entry.get("attr")
    const padding = isBytes(attr) && text(attr).includes("p")
    files.push({ path, length, offset, padding })
    offset += length
    if (offset > MAX_TOTAL_LENGTH) invalid("InvalidLength", `the files add up to an absurd size (over 1 PiB)`)
  }
  const collision = findCollision(files.filter((file) => !file.padding).map((file) => file.path))
  if (collision !== undefined) invalid("UnsafePath", `two files collide at "${collision}"`)
  return { layout: "multi", files }
}

const parseTiers = (root: BDict): Array<TrackerTier> => {
  const list = root.get("announce-list")
  if (!isList(list)) return []
  const tiers: Array<TrackerTier> = []
  for (const tier of list) {
    if (!isList(tier)) continue
    const urls = tier.filter(isBytes).map((url) => text(url).trim()).filter((url) => url.length > 0)
    if (urls.length > 0) tiers.push(urls)
  }
  return tiers
}

const parseUrlList = (root: BDict): Array<string> => {
  const value = root.get("url-list")
  const urls = isBytes(value) ? [value] : isList(value) ? value.filter(isBytes) : []
  return urls.map(text).filter((url) => url.length > 0)
}

/** The fields of a `TorrentInfo` that come from the info dictionary alone. */
type InfoFields = Pick<
  TorrentInfo,
  | "infoHash"
  | "infoHashHex"
  | "infoBytes"
  | "name"
  | "pieceLength"
  | "pieceCount"
  | "pieceHashes"
  | "totalLength"
  | "layout"
  | "files"
  | "private"
  | "v2"
>

/** `meta version` 2 and a `file tree`: the torrent has v2 data (BEP 52); any other meta version is refused. */
const metaVersion = (info: BDict): 1 | 2 => {
  const version = info.get("meta version")
  if (version === undefined) return 1
  if (version !== 2) return invalid("Unsupported", `info "meta version" is ${isInteger(version) ? version : "not a number"}, not 2`)
  return 2
}

/**
 * Validates an info dictionary; `infoBytes` are its original bytes, whose SHA-1 is the v1 info-hash and SHA-256 the
 * v2 one. `layers` is the torrent's `piece layers` (a v2 .torrent must have them; metadata from peers has none).
 */
const parseInfo = (
  info: BDict,
  infoBytes: Uint8Array,
  layers: { readonly dict: BDict | undefined; readonly required: boolean }
): InfoFields => {
  const version = metaVersion(info)
  const hasV1 = info.has("pieces")
  if (version === 1 && !hasV1) invalid("InvalidField", `info has no "pieces"`)
  const name = safeName(preferUtf8(info, "name", "info"), `info "name"`)
  const pieceLength = integerField(info, "piece length", "info")
  if (pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH) {
    invalid("InvalidPieces", `piece length ${pieceLength} is out of range (1 byte to 256 MiB)`)
  }
  let tree: Array<TreeFile> | undefined
  if (version === 2) {
    if (pieceLength < MIN_V2_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
      invalid("InvalidPieces", `piece length ${pieceLength} is not a power of two of 16 KiB or more, as v2 needs`)
    }
    const fileTree = field(info, "file tree", "info")
    if (!isDict(fileTree)) return invalid("InvalidField", `info "file tree" is not a dictionary`)
    tree = parseFileTree(fileTree, { maxFiles: MAX_FILES, maxTotal: MAX_TOTAL_LENGTH })
  }

  let files: Array<TorrentFile>
  let layout: "single" | "multi"
  let pieceHashes: Uint8Array
  if (hasV1) {
    pieceHashes = bytesField(info, "pieces", "info")
    if (pieceHashes.length % 20 !== 0) {
      invalid("InvalidPieces", `"pieces" is ${pieceHashes.length} bytes, not a multiple of 20`)
    }
    ;({ files, layout } = parseFiles(info, name))
    if (tree !== undefined) files = matchHybrid(files, tree, pieceLength)
  } else {
    pieceHashes = new Uint8Array(0)
    files = layoutFiles(tree!, pieceLength)
    layout = tree!.length === 1 && tree![0]!.path.length === 1 ? "single" : "multi"
  }
  const last = files[files.length - 1]!
  const totalLength = last.offset + last.length
  if (files.every((file) => file.padding || file.length === 0)) {
    invalid("InvalidLength", "the torrent holds no data (total length 0)")
  }
  const expectedPieces = Math.ceil(totalLength / pieceLength)
  const pieceCount = hasV1 ? pieceHashes.length / 20 : expectedPieces
  if (pieceCount !== expectedPieces) {
    invalid(
      "InvalidPieces",
      `${pieceCount} piece hashes for ${totalLength} bytes in ${pieceLength}-byte pieces (expected ${expectedPieces})`
    )
  }

  const v1Hash = createHash("sha1").update(infoBytes).digest()
  let v2: TorrentV2 | undefined
  if (version === 2) {
    const hash = createHash("sha256").update(infoBytes).digest()
    v2 = {
      infoHash: hash,
      infoHashHex: hash.toString("hex"),
      hybrid: hasV1,
      pieceLayers: parsePieceLayers(layers.dict, files, pieceLength, layers.required)
    }
  }
  const infoHash = hasV1 ? v1Hash : v2!.infoHash.subarray(0, 20)
  return {
    infoHash,
    infoHashHex: Buffer.from(infoHash).toString("hex"),
    infoBytes,
    name,
    pieceLength,
    pieceCount,
    pieceHashes,
    totalLength,
    layout,
    files,
    private: info.get("private") === 1,
    ...(v2 === undefined ? {} : { v2 })
  }
}

const parseRoot = (bytes: Uint8Array): TorrentInfo => {
  const decoded = decodeWithSpans(bytes)
  if (Either.isLeft(decoded)) return invalid("InvalidBencode", `not a torrent file (${decoded.left.message})`)
  const root = decoded.right.value
  if (!isDict(root)) return invalid("InvalidField", "not a torrent file (the top level is not a dictionary)")
  const info = field(root, "info", "the torrent")
  if (!isDict(info)) return invalid("InvalidField", `the torrent's "info" is not a dictionary`)
  const span = decoded.right.spanOf(info)
  if (span === undefined) return invalid("InvalidField", `the torrent's "info" has no byte span`)
  const layers = root.get("piece layers")
  if (layers !== undefined && !isDict(layers)) invalid("InvalidField", `the torrent's "piece layers" is not a dictionary`)
  const infoFields = parseInfo(info, bytes.subarray(span.start, span.end), {
    dict: layers as BDict | undefined,
    required: true
  })

  const announce = optionalText(root, "announce")?.trim()
  const creationDate = root.get("creation date")
  return {
    ...infoFields,
    announce: announce === "" ? undefined : announce,
    announceList: parseTiers(root),
    urlList: parseUrlList(root),
    comment: optionalText(root, "comment"),
    createdBy: optionalText(root, "created by"),
    creationDate: isInteger(creationDate) ? creationDate : undefined
  }
}

/**
 * Parses and validates `.torrent` bytes. Pure; `source` (a path, say) only goes into error messages.
 * Byte strings in the result are views into `bytes`.
 */
export const parseTorrent = (bytes: Uint8Array, source?: string): Either.Either<TorrentInfo, MetainfoError> =>
  validate(source, () => parseRoot(bytes))

/** What a torrent known only by its info dictionary (fetched from peers for a magnet link) is given besides. */
export interface MetadataExtras {
  /** Tracker tiers, as a magnet link's `tr` parameters give them. */
  readonly trackers: ReadonlyArray<TrackerTier>
  /** Names the torrent in error messages (the magnet link, say). */
  readonly source?: string
}

/**
 * Validates a bencoded info dictionary on its own, as BEP 9 metadata exchange delivers it, into a `TorrentInfo`
 * with the given trackers. Its info-hash is the SHA-1 of `infoBytes`: checking that against the hash asked for is
 * the caller's business. The fields only a `.torrent` file has (comment, creation date, web seeds) are empty.
 */
export const parseMetadata = (
  infoBytes: Uint8Array,
  extras: MetadataExtras
): Either.Either<TorrentInfo, MetainfoError> =>
  validate(extras.source, () => {
    const decoded = decode(infoBytes)
    if (Either.isLeft(decoded)) {
      return invalid("InvalidBencode", `the metadata is not bencode (${decoded.left.message})`)
    }
    const info = decoded.right
    if (!isDict(info)) return invalid("InvalidField", "the metadata is not a dictionary")
    const tiers = extras.trackers.map((tier) => [...tier]).filter((tier) => tier.length > 0)
    const trackerCount = tiers.reduce((sum, tier) => sum + tier.length, 0)
    return {
      ...parseInfo(info, infoBytes, { dict: undefined, required: false }),
      announce: tiers[0]?.[0],
      announceList: trackerCount > 1 ? tiers : [],
      urlList: [],
      comment: undefined,
      createdBy: undefined,
      creationDate: undefined
    }
  })

/** A v2 torrent's `piece layers` (keyed by each file's root), when it has them; `undefined` for v1. */
const pieceLayersOf = (torrent: TorrentInfo): Map<string, Uint8Array> | undefined => {
  if (torrent.v2 === undefined) return undefined
  const layers = new Map<string, Uint8Array>()
  torrent.v2.pieceLayers.forEach((layer, index) => {
    const root = torrent.files[index]!.piecesRoot
    if (layer !== undefined && root !== undefined) layers.set(Buffer.from(root).toString("latin1"), layer)
  })
  return layers.size > 0 ? layers : undefined
}

/**
 * A `.torrent` file for `torrent`: its trackers, comment, creator, creation date and web seeds, with the info
 * dictionary's original bytes spliced in unchanged so that the info-hash is the same. Keys in sorted order.
 */
export const torrentFileBytes = (torrent: TorrentInfo): Uint8Array => {
  const tiers = trackerTiers(torrent)
  const before = encode({
    announce: torrent.announce ?? tiers[0]?.[0],
    "announce-list": tiers.length > 0 ? tiers : undefined,
    comment: torrent.comment,
    "created by": torrent.createdBy,
    "creation date": torrent.creationDate
  })
  const after = encode({
    "piece layers": pieceLayersOf(torrent),
    "url-list": torrent.urlList.length > 0 ? torrent.urlList : undefined
  })
  // Every key in `before` sorts ahead of "info", and "piece layers" and "url-list" after it: splice the info in
  // between.
  return Buffer.concat([
    before.subarray(0, before.length - 1),
    Buffer.from("4:info", "latin1"),
    torrent.infoBytes,
    after.subarray(1)
  ])
}
