/**
 * BitTorrent v2 merkle trees (BEP 52). Pure: no I/O, no Effect services.
 *
 * Each file of a v2 torrent has its own binary tree of SHA-256 hashes. Its leaves are the hashes of the file's
 * 16 KiB blocks (the last one may be shorter, and is hashed as it is); the leaf layer is padded out to a power of two
 * with leaves of 32 zero bytes. A parent is SHA-256 of its two children concatenated. The root is the file's
 * `pieces root`. The "piece layer" is the layer where one hash covers one piece (`pieceLength / 16 KiB` leaves).
 *
 * A padding node at height h (h layers above the leaves) is the root of a subtree of 2^h zero leaves: zeros at
 * height 0, SHA-256(zeros ‖ zeros) at height 1, and so on. `padHash` gives it.
 *
 * Layers here are concatenated 32-byte hashes in one `Uint8Array`, which is how `piece layers` and the `hashes`
 * message carry them.
 */
import * as crypto from "node:crypto"

/** The leaf size of every v2 tree. */
export const BLOCK_SIZE = 16 * 1024
/** SHA-256 digest length. */
export const HASH_SIZE = 32

/**
 * SHA-256 in one native call where Node has it (`crypto.hash`, Node 20.12+): no `Hash` object per call, which
 * costs more than hashing a 16 KiB leaf does (a verified 1 MiB v2 piece is 64 leaves and 63 parents).
 */
export const sha256: (data: Uint8Array) => Uint8Array = typeof crypto.hash === "function"
  ? (data) => crypto.hash("sha256", data, "buffer")
  : (data) => crypto.createHash("sha256").update(data).digest()

/** Where a parent's two children are put side by side to be hashed in one call (plain code: never held across calls). */
const pair = new Uint8Array(2 * 32)

const parentOf = (left: Uint8Array, right: Uint8Array): Uint8Array => {
  pair.set(left, 0)
  pair.set(right, 32)
  return sha256(pair)
}

/** Copies hash `index` of `layer` into `pair` at `at` (0 or 32), byte by byte: no view allocated per node. */
const copyHash = (layer: Uint8Array, index: number, at: number): void => {
  for (let i = 0, from = index * HASH_SIZE; i < HASH_SIZE; i++) pair[at + i] = layer[from + i]!
}

/** Pad hashes for heights 0..63: a constant table, computed once (64 hashes) at load. */
const PAD_HASHES: ReadonlyArray<Uint8Array> = (() => {
  const table: Array<Uint8Array> = [new Uint8Array(HASH_SIZE)]
  for (let h = 1; h < 64; h++) table.push(parentOf(table[h - 1]!, table[h - 1]!))
  return table
})()

/** The root of a subtree of 2^height zero leaves (height below 64). */
export const padHash = (height: number): Uint8Array => PAD_HASHES[height]!

/** The smallest power of two at or above `n` (1 for 0). */
export const nextPowerOfTwo = (n: number): number => {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** log2 of a power of two. */
export const log2 = (powerOfTwo: number): number => Math.round(Math.log2(powerOfTwo))

/** How many 16 KiB blocks `length` bytes take (0 for 0). */
export const blockCount = (length: number): number => Math.ceil(length / BLOCK_SIZE)

/** The leaf hashes of `data`: SHA-256 of each 16 KiB block, the last one as long as it is. */
export const blockHashes = (data: Uint8Array): Uint8Array => {
  const count = blockCount(data.length)
  const out = new Uint8Array(count * HASH_SIZE)
  for (let i = 0; i < count; i++) {
    out.set(sha256(data.subarray(i * BLOCK_SIZE, Math.min(data.length, (i + 1) * BLOCK_SIZE))), i * HASH_SIZE)
  }
  return out
}

/** Hash `i` of a layer. */
export const hashAt = (layer: Uint8Array, index: number): Uint8Array =>
  layer.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE)

/** The layer above `layer` (whose nodes stand at `height`), padded to an even count with `padHash(height)`. */
const parentLayer = (layer: Uint8Array, height: number): Uint8Array => {
  const count = layer.length / HASH_SIZE
  const parents = Math.ceil(count / 2)
  const out = new Uint8Array(parents * HASH_SIZE)
  // A 1 MiB piece's check is 63 parents: built in `pair` without a view per child (see `copyHash`).
  for (let i = 0; i < parents; i++) {
    copyHash(layer, 2 * i, 0)
    if (2 * i + 1 < count) copyHash(layer, 2 * i + 1, HASH_SIZE)
    else pair.set(padHash(height), HASH_SIZE)
    out.set(sha256(pair), i * HASH_SIZE)
  }
  return out
}

/**
 * Every layer of the tree over `base` (hashes at `height`, 0 for leaves), from `base` up to the root, as wide as
 * `width` nodes at the base (a power of two, at least the number of hashes): missing nodes are `padHash(height)`.
 * Only the nodes that cover some of `base` are stored; the rest are padding, implied.
 */
export const treeLayers = (base: Uint8Array, width: number, height = 0): Array<Uint8Array> => {
  const layers = [base]
  let layer = base
  for (let w = width, h = height; w > 1; w /= 2, h++) {
    layer = layer.length === 0 ? new Uint8Array(0) : parentLayer(layer, h)
    layers.push(layer)
  }
  return layers
}

/** The root of the tree over `base` (hashes at `height`), `width` nodes wide at the base (see `treeLayers`). */
export const rootOf = (base: Uint8Array, width: number, height = 0): Uint8Array => {
  const layers = treeLayers(base, width, height)
  const top = layers[layers.length - 1]!
  return top.length === 0 ? padHash(height + log2(width)) : top.slice(0, HASH_SIZE)
}

/** The uncle hashes proving node `index` of `layers[0]` up to the root, bottom first (`layers` from `treeLayers`). */
export const proofOf = (layers: ReadonlyArray<Uint8Array>, index: number, height = 0): Array<Uint8Array> => {
  const proof: Array<Uint8Array> = []
  for (let level = 0, i = index; level < layers.length - 1; level++, i >>= 1) {
    const layer = layers[level]!
    const sibling = i ^ 1
    proof.push(sibling * HASH_SIZE < layer.length ? hashAt(layer, sibling) : padHash(height + level))
  }
  return proof
}

/** Whether `node` at `index` hashes up through `proof` (uncles, bottom first) to `root`. */
export const verifyProof = (
  node: Uint8Array,
  index: number,
  proof: ReadonlyArray<Uint8Array>,
  root: Uint8Array
): boolean => {
  let hash = node
  let i = index
  for (const uncle of proof) {
    hash = (i & 1) === 0 ? parentOf(hash, uncle) : parentOf(uncle, hash)
    i >>= 1
  }
  return i === 0 && Buffer.from(hash).equals(root)
}

/** The shape of one file's tree in a torrent with `pieceLength`-byte pieces. */
export interface FileTree {
  /** Leaves (16 KiB blocks) of the file. */
  readonly blocks: number
  /** Leaves the tree is wide: `blocks` up to a power of two. */
  readonly width: number
  /** Pieces of the file. */
  readonly pieces: number
  /** Height of the piece layer above the leaves: log2(pieceLength / 16 KiB). */
  readonly pieceHeight: number
  /** Whether the file has a piece layer of its own (it is larger than one piece); else its root is its one hash. */
  readonly hasPieceLayer: boolean
}

export const fileTree = (length: number, pieceLength: number): FileTree => {
  const blocks = blockCount(length)
  return {
    blocks,
    width: nextPowerOfTwo(blocks),
    pieces: Math.ceil(length / pieceLength),
    pieceHeight: log2(pieceLength / BLOCK_SIZE),
    hasPieceLayer: length > pieceLength
  }
}

/** The `pieces root` of a file whose leaf hashes are `leaves` (from `blockHashes`). */
export const fileRoot = (leaves: Uint8Array): Uint8Array => rootOf(leaves, nextPowerOfTwo(leaves.length / HASH_SIZE))

/**
 * The hash of one piece from its data (at most `pieceLength` bytes): the root of a subtree `pieceLength / 16 KiB`
 * leaves wide, zero-padded. For a file no larger than one piece, the file's root is the hash instead (`fileRoot`).
 */
export const pieceRoot = (data: Uint8Array, pieceLength: number): Uint8Array =>
  rootOf(blockHashes(data), pieceLength / BLOCK_SIZE)

/** The root of a file from its piece layer (hashes of full-width piece subtrees), as `piece layers` give it. */
export const rootOfPieceLayer = (layer: Uint8Array, pieceLength: number): Uint8Array =>
  rootOf(layer, nextPowerOfTwo(layer.length / HASH_SIZE), log2(pieceLength / BLOCK_SIZE))
