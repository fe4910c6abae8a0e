import * as crypto from "node:crypto"
import type { PieceCheck } from "../metainfo/index.js"
import { Merkle } from "../metainfo/index.js"

/** What `Verifier.verify` checks against: 20 bytes of SHA-1, or a piece's checks of every kind (v2, hybrid). */
export type Expected = Uint8Array | PieceCheck

/** Whether `data` passes every check in `expected`, on the calling thread. */
export const passes = (data: Uint8Array, expected: Expected): boolean => {
  const check: PieceCheck = expected instanceof Uint8Array ? { sha1: expected } : expected
  if (check.sha1 === undefined && check.sha256 === undefined) return false
  if (check.sha256 === undefined) return sha1Of(data).equals(check.sha1!)
  const { dataLength, root, width } = check.sha256
  if (check.sha1 === undefined) return Buffer.from(Merkle.rootOf(Merkle.blockHashes(data.subarray(0, dataLength)), width)).equals(root)
  // A hybrid's piece: both hashes in one pass, block by block, so that SHA-256 reads each 16 KiB block while SHA-1
  // has just left it in the core's cache (two passes over a 1 MiB piece read it from memory twice).
  const sha1 = crypto.createHash("sha1")
  const leaves = new Uint8Array(Merkle.blockCount(dataLength) * Merkle.HASH_SIZE)
  for (let at = 0, leaf = 0; at < data.length; at += Merkle.BLOCK_SIZE, leaf++) {
    const block = data.subarray(at, Math.min(data.length, at + Merkle.BLOCK_SIZE))
    sha1.update(block)
    if (at >= dataLength) continue
    // The same view for both hashes, unless the file's data ends inside this block.
    const leafData = at + block.length <= dataLength ? block : data.subarray(at, dataLength)
    leaves.set(Merkle.sha256(leafData), leaf * Merkle.HASH_SIZE)
  }
  return sha1.digest().equals(check.sha1) && Buffer.from(Merkle.rootOf(leaves, width)).equals(root)
}

/** SHA-1 of `data`, in one native call where Node has it (see `Merkle.sha256`). */
const sha1Of: (data: Uint8Array) => Buffer = typeof crypto.hash === "function"
  ? (data) => crypto.hash("sha1", data, "buffer")
  : (data) => crypto.createHash("sha1").update(data).digest()
