import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { createHash } from "node:crypto"
import { Merkle } from "../../src/metainfo/index.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
/** The bytes the vectors below were computed over, with Python's hashlib (an implementation of its own). */
const data = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251)

const vectors: ReadonlyArray<readonly [number, string]> = [
  [1, "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5"],
  [16_384, "90b834666bd99804aad5f0d312a8862f91872e635fd6063d42fe787c4e1d84ee"],
  [16_385, "cb0b7d4a5957d021a52428ba33dac06cbb4fe7c90c57d68188e216b70eacc49f"],
  [100_000, "43ae2698d3c75be7703641a82c823d1b513b5e7315bfcc2e5ac089dc16476c63"],
  [5 * 32_768 + 1, "2b3360d0c2ed5e744fbbf0c8642851bb712ea3098a47ff182f50b2b1ff9e28c4"]
]

/** The piece layer of `bytes`, piece by piece. */
const pieceLayer = (bytes: Uint8Array, pieceLength: number) =>
  Buffer.concat(
    Array.from(
      { length: Math.ceil(bytes.length / pieceLength) },
      (_, i) => Merkle.pieceRoot(bytes.subarray(i * pieceLength, (i + 1) * pieceLength), pieceLength)
    )
  )

describe("merkle (BEP 52)", () => {
  it("pad hashes: zeros, then the hash of two of the height below", () => {
    expect(hex(Merkle.padHash(0))).toBe("00".repeat(32))
    const one = createHash("sha256").update(new Uint8Array(64)).digest()
    expect(hex(Merkle.padHash(1))).toBe(hex(one))
    expect(hex(Merkle.padHash(2))).toBe("db56114e00fdd4c1f85c892bf35ac9a89289aaecb1ebd0a96cde606a748b5d71")
  })

  it.each(vectors)("the root of %i bytes matches an independent computation", (length, root) => {
    expect(hex(Merkle.fileRoot(Merkle.blockHashes(data(length))))).toBe(root)
  })

  it("the piece layer of a file larger than a piece hashes to its root, padded with piece-sized pad hashes", () => {
    const bytes = data(100_000)
    const layer = pieceLayer(bytes, 32_768)
    expect(hex(layer.subarray(0, 32))).toBe("6b7702ec93fd7bde4fccf7123b679a0703843fe9d838e7bc9ac4eee2c26e3923")
    expect(hex(Merkle.rootOfPieceLayer(layer, 32_768))).toBe(vectors[3]![1])
  })

  it("property: for any data and piece length, the root from the leaves equals the root from the piece layer", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300_000 }), fc.integer({ min: 0, max: 3 }), (length, shift) => {
        const pieceLength = 16_384 << shift
        const bytes = data(length)
        const root = Merkle.fileRoot(Merkle.blockHashes(bytes))
        if (length <= pieceLength) return // such a file's root is its only piece hash
        expect(Merkle.rootOfPieceLayer(pieceLayer(bytes, pieceLength), pieceLength)).toEqual(root)
      }),
      { numRuns: 40 }
    )
  })

  it("property: every node's proof verifies against the root, and fails for another node or index", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 2 }), fc.nat(), (count, extra, pick) => {
        const leaves = Buffer.concat(
          Array.from({ length: count }, (_, i) => createHash("sha256").update(`leaf ${i}`).digest())
        )
        const width = Merkle.nextPowerOfTwo(count) << extra
        const layers = Merkle.treeLayers(leaves, width)
        const root = Merkle.rootOf(leaves, width)
        const index = pick % count
        const proof = Merkle.proofOf(layers, index)
        expect(proof.length).toBe(Merkle.log2(width))
        expect(Merkle.verifyProof(Merkle.hashAt(leaves, index), index, proof, root)).toBe(true)
        expect(Merkle.verifyProof(new Uint8Array(32).fill(9), index, proof, root)).toBe(false)
        if (count > 1) {
          const other = (index + 1) % count
          expect(Merkle.verifyProof(Merkle.hashAt(leaves, index), other, proof, root)).toBe(false)
        }
      }),
      { numRuns: 200 }
    )
  })

  it("a tree wider than its data pads with zero leaves (the last block hashed as it is)", () => {
    const bytes = data(20_000)
    const blocks = Merkle.blockHashes(bytes)
    expect(blocks.length).toBe(64)
    expect(Merkle.hashAt(blocks, 1)).toEqual(new Uint8Array(createHash("sha256").update(bytes.subarray(16_384)).digest()))
    const h = (a: Uint8Array, b: Uint8Array) => new Uint8Array(createHash("sha256").update(a).update(b).digest())
    const expected = h(h(Merkle.hashAt(blocks, 0), Merkle.hashAt(blocks, 1)), Merkle.padHash(1))
    expect(Merkle.rootOf(blocks, 4)).toEqual(expected)
  })
})
