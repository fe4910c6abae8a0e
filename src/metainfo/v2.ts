/**
 * The BitTorrent v2 parts of a torrent (BEP 52): the `file tree`, each file's `pieces root`, the top-level
 * `piece layers`, and how a v2 torrent's files lie in one byte space (each file starting on a piece boundary, as a
 * hybrid's v1 half spells out with BEP 47 padding files). Pure; every check throws `invalid` (see invalid.ts).
 */
import { type BDict, isBytes, isDict, isInteger } from "../bencode/index.js"
import { invalid } from "./invalid.js"
import { fileTree, HASH_SIZE, rootOfPieceLayer } from "./merkle.js"
import { findCollision, unsafeComponent } from "./paths.js"
import type { TorrentFile } from "./TorrentInfo.js"

/** A file as the v2 `file tree` lists it, in tree order (bytewise by path component, depth first). */
export interface TreeFile {
  readonly path: ReadonlyArray<string>
  readonly length: number
  /** 32 bytes; absent for an empty file. */
  readonly piecesRoot: Uint8Array | undefined
}

/** The smallest v2 piece length (one 16 KiB block); v2 piece lengths are powers of two from here. */
export const MIN_V2_PIECE_LENGTH = 16 * 1024

const utf8 = new TextDecoder("utf-8", { fatal: false })
/** Dictionary keys are binary strings (one char per byte): back to bytes, then UTF-8. */
const keyText = (key: string): string => utf8.decode(Buffer.from(key, "latin1"))

/** Bounds the walk: the caller's file limit, and `maxTotal` bytes. */
export interface TreeLimits {
  readonly maxFiles: number
  readonly maxTotal: number
}

/** The files of a `file tree`, validated: safe names, sane lengths, a 32-byte root for every non-empty file. */
export const parseFileTree = (tree: BDict, limits: TreeLimits): Array<TreeFile> => {
  const files: Array<TreeFile> = []
  let total = 0
  const visit = (dir: BDict, prefix: ReadonlyArray<string>): void => {
    // Map iteration follows the input order, which the decoder checked is sorted only when asked; sort here so the
    // order is bytewise whatever the input did (keys are binary strings, so string order is byte order).
    for (const key of [...dir.keys()].sort()) {
      const node = dir.get(key)!
      const where = `file tree entry "${[...prefix, keyText(key)].join("/")}"`
      if (key === "") invalid("UnsafePath", `the file tree holds a file with an empty name`)
      const name = keyText(key)
      const problem = unsafeComponent(name)
      if (problem !== undefined) invalid("UnsafePath", `the ${where} contains ${problem}`)
      if (!isDict(node)) return invalid("InvalidField", `the ${where} is not a dictionary`)
      const path = [...prefix, name]
      const leaf = node.get("")
      if (leaf === undefined) {
        if (node.size === 0) invalid("InvalidField", `the ${where} is an empty folder`)
        visit(node, path)
        continue
      }
      if (node.size !== 1) invalid("InvalidField", `the ${where} is both a file and a folder`)
      if (!isDict(leaf)) return invalid("InvalidField", `the ${where} file entry is not a dictionary`)
      const length = leaf.get("length")
      if (!isInteger(length) || length < 0) invalid("InvalidLength", `the ${where} has no valid length`)
      const size = length as number
      if (size > limits.maxTotal) invalid("InvalidLength", `the ${where} has an absurd length (${size} bytes)`)
      const root = leaf.get("pieces root")
      if (size > 0) {
        if (!isBytes(root) || root.length !== HASH_SIZE) {
          invalid("InvalidPieces", `the ${where} has no 32-byte "pieces root"`)
        }
      }
      if (files.length >= limits.maxFiles) invalid("InvalidField", `the file tree lists more than ${limits.maxFiles} files`)
      total += size
      if (total > limits.maxTotal) invalid("InvalidLength", "the files add up to an absurd size (over 1 PiB)")
      files.push({ path, length: size, piecesRoot: size > 0 ? root as Uint8Array : undefined })
    }
  }
  visit(tree, [])
  if (files.length === 0) invalid("InvalidField", `info "file tree" holds no files`)
  const collision = findCollision(files.map((file) => file.path))
  if (collision !== undefined) invalid("UnsafePath", `two files collide at "${collision}"`)
  return files
}

/**
 * The byte space of a v2-only torrent: the tree's files end to end, each followed by a padding file up to the next
 * piece boundary, so piece `i` of the torrent is `i * pieceLength` in it and never spans two files. The last file is
 * padded too, as libtorrent lays out a v2-only torrent: its last piece is then a whole piece on the wire (libtorrent
 * asks for all of it), of which only the file's bytes are hashed.
 */
export const layoutFiles = (files: ReadonlyArray<TreeFile>, pieceLength: number): Array<TorrentFile> => {
  const out: Array<TorrentFile> = []
  let offset = 0
  files.forEach((file) => {
    out.push({ path: file.path, length: file.length, offset, padding: false, piecesRoot: file.piecesRoot })
    offset += file.length
    const gap = (pieceLength - (offset % pieceLength)) % pieceLength
    if (gap > 0) {
      out.push({ path: [".pad", String(gap)], length: gap, offset, padding: true })
      offset += gap
    }
  })
  return out
}

/**
 * Checks that a hybrid's v1 `files` (with their padding) and v2 `file tree` describe the same files in the same
 * order, each v2 file starting on a piece boundary of the v1 byte space; returns the v1 files with their roots.
 */
export const matchHybrid = (
  v1: ReadonlyArray<TorrentFile>,
  v2: ReadonlyArray<TreeFile>,
  pieceLength: number
): Array<TorrentFile> => {
  const real = v1.filter((file) => !file.padding)
  const differ = (detail: string): never =>
    invalid("InvalidField", `the torrent's v1 and v2 halves describe different files (${detail})`)
  if (real.length !== v2.length) differ(`${real.length} files against ${v2.length}`)
  let next = 0
  return v1.map((file) => {
    if (file.padding) return file
    const other = v2[next++]!
    const name = file.path.join("/")
    if (name !== other.path.join("/")) differ(`"${name}" against "${other.path.join("/")}"`)
    if (file.length !== other.length) differ(`"${name}" is ${file.length} bytes against ${other.length}`)
    if (file.length > 0 && file.offset % pieceLength !== 0) differ(`"${name}" does not start on a piece boundary`)
    return { ...file, piecesRoot: other.piecesRoot }
  })
}

/**
 * The piece layer of each file (by index in `files`), checked against its root: `undefined` for padding, empty
 * files, files no larger than a piece (their root is their only piece hash), and, when `required` is false (info
 * dictionaries fetched from peers, which carry no `piece layers`), files whose layer is absent.
 */
export const parsePieceLayers = (
  layers: BDict | undefined,
  files: ReadonlyArray<TorrentFile>,
  pieceLength: number,
  required: boolean
): Array<Uint8Array | undefined> =>
  files.map((file) => {
    if (file.padding || file.piecesRoot === undefined) return undefined
    const tree = fileTree(file.length, pieceLength)
    if (!tree.hasPieceLayer) return undefined
    const name = `"${file.path.join("/")}"`
    const layer = layers?.get(Buffer.from(file.piecesRoot).toString("latin1"))
    if (layer === undefined) {
      return required ? invalid("InvalidPieces", `"piece layers" has no hashes for ${name}`) : undefined
    }
    if (!isBytes(layer)) return invalid("InvalidPieces", `"piece layers" for ${name} is not a string`)
    const problem = pieceLayerProblem(file, layer, pieceLength)
    if (problem !== undefined) invalid("InvalidPieces", `"piece layers" for ${name} ${problem}`)
    return layer
  })

/** What is wrong with `layer` as the piece layer of `file` (one larger than a piece), or `undefined`. */
export const pieceLayerProblem = (file: TorrentFile, layer: Uint8Array, pieceLength: number): string | undefined => {
  const { hasPieceLayer, pieces } = fileTree(file.length, pieceLength)
  if (!hasPieceLayer) return "belong to a file no larger than a piece, which has none"
  if (layer.length !== pieces * HASH_SIZE) {
    return `is ${layer.length} bytes, not ${pieces * HASH_SIZE} (${pieces} pieces of 32 bytes)`
  }
  if (file.piecesRoot === undefined || !Buffer.from(rootOfPieceLayer(layer, pieceLength)).equals(file.piecesRoot)) {
    return `do not hash to its "pieces root"`
  }
  return undefined
}
