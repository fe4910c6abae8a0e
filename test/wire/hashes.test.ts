import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import fc from "fast-check"
import { createHash } from "node:crypto"
import { Merkle } from "../../src/metainfo/index.js"
import {
  answerHashRequest,
  checkHashes,
  decodeHashes,
  decodeHashRequest,
  encodeHashes,
  encodeHashReject,
  encodeHashRequest,
  type HashRequest,
  uncleCount
} from "../../src/wire/index.js"

const leavesOf = (count: number) =>
  Buffer.concat(Array.from({ length: count }, (_, i) => createHash("sha256").update(`block ${i}`).digest()))

/** A valid request for a tree `width` leaves wide, from three numbers. */
const requestFor = (width: number, base: number, lengthLog: number, pick: number, root: Uint8Array): HashRequest => {
  const height = Merkle.log2(width)
  const baseLayer = base % height
  const layerWidth = width >> baseLayer
  const length = 2 ** (1 + (lengthLog % Merkle.log2(layerWidth)))
  const index = (pick % (layerWidth / length)) * length
  return { piecesRoot: root, baseLayer, index, length, proofLayers: height - baseLayer - 1 }
}

describe("BEP 52 hash messages", () => {
  it("encode and decode round-trip, with the length prefix and id", () => {
    const request = { piecesRoot: new Uint8Array(32).fill(3), baseLayer: 2, index: 8, length: 4, proofLayers: 5 }
    const message = encodeHashRequest(request)
    expect(message.length).toBe(4 + 1 + 48)
    expect(new DataView(message.buffer).getUint32(0)).toBe(49)
    expect(message[4]).toBe(21)
    expect(Either.getOrThrow(decodeHashRequest(message.subarray(5)))).toEqual(request)
    expect(encodeHashReject(request)[4]).toBe(23)
    const hashes = new Uint8Array(64).fill(9)
    const answer = encodeHashes(request, hashes)
    expect(answer[4]).toBe(22)
    const decoded = Either.getOrThrow(decodeHashes(answer.subarray(5)))
    expect(decoded.request).toEqual(request)
    expect(Buffer.from(decoded.hashes).equals(Buffer.from(hashes))).toBe(true)
  })

  it("refuses payloads of the wrong size with a typed error", () => {
    expect(Either.isLeft(decodeHashRequest(new Uint8Array(47)))).toBe(true)
    expect(Either.isLeft(decodeHashes(new Uint8Array(48 + 31)))).toBe(true)
    expect(Either.isLeft(decodeHashes(new Uint8Array(10)))).toBe(true)
  })

  it("property: an answer from the tree verifies against the root; a changed hash or index does not", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (count, base, lengthLog, pick, flip) => {
          const leaves = leavesOf(count)
          const width = Merkle.nextPowerOfTwo(count)
          const root = Merkle.rootOf(leaves, width)
          const request = requestFor(width, base, lengthLog, pick, root)
          const hashes = Either.getOrThrow(answerHashRequest(leaves, width, request))
          const base2 = Either.getOrThrow(checkHashes(request, hashes, root, width))
          expect(base2.length).toBe(request.length * 32)
          const spoiled = Uint8Array.from(hashes)
          spoiled[flip % spoiled.length]! ^= 1
          expect(Either.isLeft(checkHashes(request, spoiled, root, width))).toBe(true)
          // Moved to another place, hashes of real data no longer verify (subtrees of padding alone are alike).
          if (width / 2 ** request.baseLayer > request.length && request.index * 2 ** request.baseLayer < count) {
            const elsewhere = { ...request, index: (request.index + request.length) % (width >> request.baseLayer) }
            expect(Either.isLeft(checkHashes(elsewhere, hashes, root, width))).toBe(true)
          }
        }
      ),
      { numRuns: 150 }
    )
  })

  it("rejects requests no honest peer sends", () => {
    const leaves = leavesOf(16)
    const root = Merkle.rootOf(leaves, 16)
    const ok = { piecesRoot: root, baseLayer: 0, index: 0, length: 4, proofLayers: 3 }
    expect(Either.isRight(answerHashRequest(leaves, 16, ok))).toBe(true)
    for (const patch of [
      { length: 3 },
      { length: 1 },
      { length: 16_384 },
      { index: 2 },
      { index: 16 },
      { baseLayer: 4 },
      { proofLayers: 4 }
    ]) {
      const result = answerHashRequest(leaves, 16, { ...ok, ...patch })
      expect(Either.isLeft(result), JSON.stringify(patch)).toBe(true)
      if (Either.isLeft(result)) expect(result.left.reason).toBe("BadHashes")
    }
    // Too few hashes, or a proof that stops short of the root.
    const hashes = Either.getOrThrow(answerHashRequest(leaves, 16, ok))
    expect(Either.isLeft(checkHashes(ok, hashes.subarray(32), root, 16))).toBe(true)
    const short = { ...ok, proofLayers: 2 }
    expect(Either.isLeft(checkHashes(short, Either.getOrThrow(answerHashRequest(leaves, 16, short)), root, 16))).toBe(true)
  })

  it("counts proof layers as libtorrent 2.0 does: from the base layer, the subtree's own layers needing no hashes", () => {
    // Requests libtorrent sent bt seed (seen on the wire): a whole 32-wide file layer with 4 proof layers carries no
    // uncles; 512 of a 2048-wide layer with 10 carries 2 (the layers above the 512-hash subtree, below the root).
    for (const { blocks, index, length, proofLayers, uncles, width } of [
      { blocks: 19, width: 32, index: 0, length: 32, proofLayers: 4, uncles: 0 },
      { blocks: 1_099, width: 2048, index: 1024, length: 512, proofLayers: 10, uncles: 2 }
    ]) {
      const leaves = leavesOf(blocks)
      const root = Merkle.rootOf(leaves, width)
      const request = { piecesRoot: root, baseLayer: 0, index, length, proofLayers }
      expect(uncleCount(request)).toBe(uncles)
      const answer = Either.getOrThrow(answerHashRequest(leaves, width, request))
      expect(answer.length).toBe((length + uncles) * 32)
      expect(Either.isRight(checkHashes(request, answer, root, width))).toBe(true)
    }
  })
})
