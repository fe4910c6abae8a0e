import { describe, expect, it } from "@effect/vitest"
import { createHash, randomBytes } from "node:crypto"
import { MetadataAssembler } from "../../src/session/metadata/MetadataAssembler.js"
import { MAX_METADATA_SIZE, METADATA_PIECE_SIZE } from "../../src/wire/index.js"

/** 2.5 pieces of metadata, and its hash. */
const metadata = randomBytes(METADATA_PIECE_SIZE * 2 + 5000)
const infoHash = createHash("sha1").update(metadata).digest()
const pieceOf = (data: Uint8Array, piece: number) =>
  data.subarray(piece * METADATA_PIECE_SIZE, (piece + 1) * METADATA_PIECE_SIZE)

describe("MetadataAssembler", () => {
  it("assembles the pieces from several peers and checks them against the info-hash", () => {
    const assembler = new MetadataAssembler<string>(infoHash)
    expect(assembler.nextRequests("a", metadata.length, 2, 0)).toEqual([0, 1])
    // Each piece goes to one peer at a time.
    expect(assembler.nextRequests("b", metadata.length, 2, 0)).toEqual([2])
    expect(assembler.receive("b", 2, metadata.length, pieceOf(metadata, 2))).toEqual({ type: "more" })
    expect(assembler.receive("a", 0, metadata.length, pieceOf(metadata, 0))).toEqual({ type: "more" })
    const last = assembler.receive("a", 1, metadata.length, pieceOf(metadata, 1))
    expect(last.type).toBe("complete")
    expect(last.type === "complete" && Buffer.from(last.metadata).equals(metadata)).toBe(true)
  })

  it("ignores pieces not asked of the sender, of the wrong size, or for another total size", () => {
    const assembler = new MetadataAssembler<string>(infoHash)
    assembler.nextRequests("a", metadata.length, 1, 0)
    expect(assembler.receive("b", 0, metadata.length, pieceOf(metadata, 0)).type).toBe("unexpected")
    expect(assembler.receive("a", 1, metadata.length, pieceOf(metadata, 1)).type).toBe("unexpected")
    expect(assembler.receive("a", 0, metadata.length, pieceOf(metadata, 0).subarray(1)).type).toBe("unexpected")
    expect(assembler.receive("a", 0, metadata.length + 1, pieceOf(metadata, 0)).type).toBe("unexpected")
    expect(assembler.receive("a", 0, metadata.length, pieceOf(metadata, 0)).type).toBe("more")
  })

  it("refuses sizes out of range and peers that disagree with the size adopted", () => {
    const assembler = new MetadataAssembler<string>(infoHash)
    expect(assembler.nextRequests("huge", MAX_METADATA_SIZE + 1, 4, 0)).toEqual([])
    expect(assembler.nextRequests("zero", 0, 4, 0)).toEqual([])
    expect(assembler.metadataSize).toBeUndefined()
    expect(assembler.nextRequests("a", metadata.length, 1, 0)).toEqual([0])
    expect(assembler.nextRequests("other", metadata.length + 7, 4, 0)).toEqual([])
  })

  it("convicts a peer whose metadata hashes wrong when it sent all of it, and starts over", () => {
    const assembler = new MetadataAssembler<string>(infoHash)
    const bad = Buffer.from(metadata)
    bad[10]! ^= 1
    expect(assembler.nextRequests("liar", bad.length, 4, 0)).toEqual([0, 1, 2])
    assembler.receive("liar", 0, bad.length, pieceOf(bad, 0))
    assembler.receive("liar", 1, bad.length, pieceOf(bad, 1))
    expect(assembler.receive("liar", 2, bad.length, pieceOf(bad, 2))).toEqual({ type: "failed", convicted: ["liar"] })
    expect(assembler.nextRequests("liar", bad.length, 4, 0)).toEqual([])
    expect(assembler.nextRequests("honest", metadata.length, 4, 0)).toEqual([0, 1, 2])
  })

  it("after a mixed failure, fetches every piece from one peer at a time, so the liar convicts itself", () => {
    const assembler = new MetadataAssembler<string>(infoHash)
    const bad = Buffer.from(metadata)
    bad[10]! ^= 1
    assembler.nextRequests("liar", metadata.length, 1, 0)
    assembler.nextRequests("honest", metadata.length, 2, 0)
    assembler.receive("honest", 1, metadata.length, pieceOf(metadata, 1))
    assembler.receive("honest", 2, metadata.length, pieceOf(metadata, 2))
    // Nobody can be told guilty from a mix.
    expect(assembler.receive("liar", 0, metadata.length, pieceOf(bad, 0))).toEqual({ type: "failed", convicted: [] })
    // Now one peer supplies it all: the first to ask.
    expect(assembler.nextRequests("liar", metadata.length, 4, 0)).toEqual([0, 1, 2])
    expect(assembler.nextRequests("honest", metadata.length, 4, 0)).toEqual([])
    for (const piece of [0, 1]) assembler.receive("liar", piece, metadata.length, pieceOf(bad, piece))
    expect(assembler.receive("liar", 2, metadata.length, pieceOf(bad, 2))).toEqual({ type: "failed", convicted: ["liar"] })
    expect(assembler.nextRequests("honest", metadata.length, 4, 0)).toEqual([0, 1, 2])
    for (const piece of [0, 1]) assembler.receive("honest", piece, metadata.length, pieceOf(metadata, piece))
    expect(assembler.receive("honest", 2, metadata.length, pieceOf(metadata, 2)).type).toBe("complete")
  })

  it("gives lapsed and rejected requests, and those of a peer that left, to others", () => {
    const assembler = new MetadataAssembler<string>(infoHash)
    expect(assembler.nextRequests("slow", metadata.length, 1, 0)).toEqual([0])
    expect(assembler.nextRequests("gone", metadata.length, 1, 0)).toEqual([1])
    expect(assembler.nextRequests("picky", metadata.length, 1, 0)).toEqual([2])
    assembler.rejected("picky", 2)
    assembler.peerGone("gone")
    expect([...assembler.timedOut(500, 1000)]).toEqual([])
    expect([...assembler.timedOut(1000, 1000)]).toEqual(["slow"])
    expect(assembler.nextRequests("next", metadata.length, 4, 1000)).toEqual([0, 1, 2])
    expect(assembler.outstandingFor("next")).toBe(3)
  })
})
