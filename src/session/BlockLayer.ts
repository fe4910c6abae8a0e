/**
 * The 16 KiB block layer of a v2 piece (BEP 52 `hash request` at `base layer` 0), both ways. Pure: no I/O.
 *
 * Requester: a piece that failed its check asks one v2 peer for its block hashes: `length` = the leaves under the
 * piece hash (pieceLength / 16 KiB, or the file's width for a file no larger than a piece), `index` = the piece's
 * first leaf, `proof layers` = log2(length) - 1, so the answer carries no uncles (we know the piece hash they would
 * lead to). The hashes are trusted once they hash up to the piece hash; each block is then checked on its own.
 *
 * Server: the same request is answered from the piece's data (verified, in memory): its leaves are hashed, and any
 * uncles asked for come from the piece's own subtree below the piece layer and from the file's tree above it.
 */
import type { MerkleCheck } from "../metainfo/pieceCheck.js"
import { BLOCK_SIZE, blockHashes, HASH_SIZE, log2, padHash, rootOf, sha256, treeLayers } from "../metainfo/merkle.js"
import { type HashRequest, hashRequestProblem, uncleCount } from "../wire/index.js"

/** The base-layer-0 request for a piece whose v2 check is `check`, `firstLeaf` its first leaf in the file. */
export const blockRequest = (piecesRoot: Uint8Array, firstLeaf: number, check: MerkleCheck): HashRequest | undefined =>
  check.width < 2 ? undefined : {
    piecesRoot,
    baseLayer: 0,
    index: firstLeaf,
    length: check.width,
    proofLayers: log2(check.width) - 1
  }

/** The block hashes in a `hashes` answer to `request` if they hash up to the piece hash, else `undefined`. */
export const checkBlockHashes = (request: HashRequest, hashes: Uint8Array, check: MerkleCheck): Uint8Array | undefined => {
  if (uncleCount(request) !== 0 || hashes.length !== request.length * HASH_SIZE) return undefined
  return Buffer.from(rootOf(hashes, request.length)).equals(check.root) ? hashes : undefined
}

/** Whether the block at `begin` of a piece (`block` its bytes) matches `leaves`; blocks in padding always do. */
export const blockMatches = (leaves: Uint8Array, dataLength: number, begin: number, block: Uint8Array): boolean => {
  if (begin >= dataLength) return true
  const hash = sha256(block.subarray(0, Math.min(block.length, dataLength - begin)))
  const at = (begin / BLOCK_SIZE) * HASH_SIZE
  return Buffer.from(hash).equals(leaves.subarray(at, at + HASH_SIZE))
}

/** The blocks (numbers within the piece) of a whole piece's `data` that do not match `leaves`. */
export const badBlocks = (leaves: Uint8Array, dataLength: number, data: Uint8Array): Array<number> => {
  const bad: Array<number> = []
  for (let begin = 0; begin < Math.min(dataLength, data.length); begin += BLOCK_SIZE) {
    if (!blockMatches(leaves, dataLength, begin, data.subarray(begin, begin + BLOCK_SIZE))) bad.push(begin / BLOCK_SIZE)
  }
  return bad
}

/**
 * The `hashes` payload answering a base-layer-0 `request` from the data of the one piece it lies in. `pieceData`
 * is the piece's file bytes (padding cut off), `pieceHeight` the piece layer's height, `upper` the file's tree from
 * the piece layer up (`treeLayers(pieceLayer, …, pieceHeight)`), `width` the file's leaf width. Fails with why not.
 */
export const answerBlockRequest = (
  request: HashRequest,
  pieceData: Uint8Array,
  pieceHeight: number,
  upper: ReadonlyArray<Uint8Array>,
  width: number
): Uint8Array | string => {
  const problem = hashRequestProblem(request, width)
  if (problem !== undefined) return problem
  const perPiece = 2 ** pieceHeight
  if (request.baseLayer !== 0 || request.length > perPiece) return "not a request for blocks within one piece"
  const piece = Math.floor(request.index / perPiece)
  const local = treeLayers(blockHashes(pieceData), perPiece)
  // Never hashes from data that does not match our own piece layer (a file changed behind our back).
  if (!Buffer.from(local[pieceHeight]!.subarray(0, HASH_SIZE)).equals(upper[0]!.subarray(piece * HASH_SIZE, (piece + 1) * HASH_SIZE))) {
    return "our data of the piece does not match its hash"
  }
  const uncles = uncleCount(request)
  const out = new Uint8Array((request.length + uncles) * HASH_SIZE)
  const leaves = local[0]!
  for (let i = 0; i < request.length; i++) {
    const at = (request.index - piece * perPiece + i) * HASH_SIZE
    out.set(at < leaves.length ? leaves.subarray(at, at + HASH_SIZE) : padHash(0), i * HASH_SIZE)
  }
  const top = log2(request.length)
  for (let level = 0, node = request.index / request.length; level < uncles; level++, node >>= 1) {
    const height = top + level
    const sibling = node ^ 1
    // Below the piece layer the sibling is in this piece's subtree; from it up, in the file's tree.
    const layer = height < pieceHeight ? local[height]! : upper[height - pieceHeight]!
    const index = height < pieceHeight ? sibling - piece * (perPiece >> height) : sibling
    const at = index * HASH_SIZE
    out.set(at < layer.length ? layer.subarray(at, at + HASH_SIZE) : padHash(height), (request.length + level) * HASH_SIZE)
  }
  return out
}
