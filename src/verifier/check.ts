import { createHash } from "node:crypto"
import type { PieceCheck } from "../metainfo/index.js"
import { Merkle } from "../metainfo/index.js"

/** What `Verifier.verify` checks against: 20 bytes of SHA-1, or a piece's checks of every kind (v2, hybrid). */
export type Expected = Uint8Array | PieceCheck

/** Whether `data` passes every check in `expected`, on the calling thread. */
export const passes = (data: Uint8Array, expected: Expected): boolean => {
  const check: PieceCheck = expected instanceof Uint8Array ? { sha1: expected } : expected
  if (check.sha1 === undefined && check.sha256 === undefined) return false
  if (check.sha1 !== undefined && !createHash("sha1").update(data).digest().equals(check.sha1)) return false
  if (check.sha256 === undefined) return true
  const { dataLength, root, width } = check.sha256
  return Buffer.from(Merkle.rootOf(Merkle.blockHashes(data.subarray(0, dataLength)), width)).equals(root)
}
