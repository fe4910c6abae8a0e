import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { encode } from "../../src/bencode/index.js"
import { Merkle, parseTorrent, pieceCheck } from "../../src/metainfo/index.js"
import { Bitfield, BLOCK_SIZE } from "../../src/piece/index.js"
import { BanList } from "../../src/session/BanList.js"
import { answerBlockRequest, badBlocks, blockRequest, checkBlockHashes } from "../../src/session/BlockLayer.js"
import { HashExchange } from "../../src/session/HashExchange.js"
import { defaultChokeConfig } from "../../src/session/choker.js"
import type { PeerLink } from "../../src/session/PeerLink.js"
import { type CompletedPiece, Swarm } from "../../src/session/Swarm.js"
import { checkHashes, decodeHashes, decodeHashRequest, encodeHashRequest, type HashRequest } from "../../src/wire/index.js"

const PIECE = 4 * BLOCK_SIZE
/** A v2 file of 5 pieces of 64 KiB (4 blocks each), the last short: 19 blocks, a tree 32 leaves wide. */
const bytes = Uint8Array.from({ length: 4 * PIECE + 3 * BLOCK_SIZE + 1_000 }, (_, i) => (i * 13 + 5) % 241)
const root = Merkle.fileRoot(Merkle.blockHashes(bytes))
const layer = Buffer.concat(
  Array.from({ length: 5 }, (_, i) => Merkle.pieceRoot(bytes.subarray(i * PIECE, (i + 1) * PIECE), PIECE))
)
const info = { name: "f.bin", "piece length": PIECE, "meta version": 2, "file tree": { "f.bin": { "": { length: bytes.length, "pieces root": root } } } }
const torrentBytes = encode({ info, "piece layers": new Map([[Buffer.from(root).toString("latin1"), layer]]) })
const torrent = () => Either.getOrThrow(parseTorrent(torrentBytes, "test"))
const piece = (index: number) => bytes.subarray(index * PIECE, (index + 1) * PIECE)
const payload = (message: Uint8Array) => message.subarray(5)

describe("BlockLayer (v2 block hashes, BEP 52 base layer 0)", () => {
  it("asks for a piece's leaves without uncles, checks them against the piece hash, and finds the bad block", () => {
    const check = pieceCheck(torrent(), 2).sha256!
    const request = blockRequest(root, 8, check)!
    expect(request).toMatchObject({ baseLayer: 0, index: 8, length: 4, proofLayers: 1 })
    const answer = answerBlockRequest(request, piece(2), 2, Merkle.treeLayers(layer, 8, 2), 32) as Uint8Array
    expect(answer).toHaveLength(4 * 32)
    const leaves = checkBlockHashes(request, answer, check)!
    expect(Buffer.from(leaves).equals(Merkle.blockHashes(piece(2)))).toBe(true)
    // A leaf changed: does not add up to the piece hash.
    const spoiled = Uint8Array.from(answer)
    spoiled[40] = spoiled[40]! ^ 1
    expect(checkBlockHashes(request, spoiled, check)).toBeUndefined()
    const data = Uint8Array.from(piece(2))
    data[2 * BLOCK_SIZE + 7] = data[2 * BLOCK_SIZE + 7]! ^ 0xff
    expect(badBlocks(leaves, check.dataLength, data)).toEqual([2])
    // The last piece: 3 blocks and a bit of file, its fourth leaf padding.
    const lastCheck = pieceCheck(torrent(), 4).sha256!
    const last = answerBlockRequest(blockRequest(root, 16, lastCheck)!, piece(4), 2, Merkle.treeLayers(layer, 8, 2), 32)
    expect(checkBlockHashes(blockRequest(root, 16, lastCheck)!, last as Uint8Array, lastCheck)).toBeDefined()
  })

  it("serves base-layer requests with proofs to the root that the requester's check accepts", () => {
    const upper = Merkle.treeLayers(layer, 8, 2)
    for (const request of [
      { piecesRoot: root, baseLayer: 0, index: 4, length: 4, proofLayers: 4 },
      { piecesRoot: root, baseLayer: 0, index: 18, length: 2, proofLayers: 4 },
      { piecesRoot: root, baseLayer: 0, index: 6, length: 2, proofLayers: 4 }
    ] satisfies Array<HashRequest>) {
      const index = Math.floor(request.index / 4)
      const hashes = answerBlockRequest(request, piece(index), 2, upper, 32) as Uint8Array
      expect(Either.isRight(checkHashes(request, hashes, root, 32))).toBe(true)
    }
    // Across two pieces, or above the leaves: not this function's.
    expect(answerBlockRequest({ piecesRoot: root, baseLayer: 0, index: 0, length: 8, proofLayers: 4 }, piece(0), 2, upper, 32))
      .toMatch(/one piece/)
  })

  it("HashExchange serves base layer 0 from verified pieces, reading one first, and rejects pieces it lacks", () => {
    const loaded = new Set<number>([1])
    const server = new HashExchange(torrent(), () => 0, {
      blockHashes: () => {},
      blockHashesFailed: () => {},
      verifiedPiece: (index) => (index === 3 ? "missing" : loaded.has(index) ? piece(index) : undefined)
    })
    const sent: Array<Uint8Array> = []
    const asker = { send: (m: Uint8Array) => void sent.push(m) }
    const ask = (index: number) =>
      server.answer(asker, payload(encodeHashRequest({ piecesRoot: root, baseLayer: 0, index, length: 4, proofLayers: 4 })))
    const now = ask(4) as Uint8Array
    expect(now[4]).toBe(22)
    expect(Either.isRight(checkHashes(Either.getOrThrow(decodeHashes(payload(now))).request,
      Either.getOrThrow(decodeHashes(payload(now))).hashes, root, 32))).toBe(true)
    expect((ask(12) as Uint8Array)[4]).toBe(23)
    // Piece 0 is not in memory: answered once read.
    expect(ask(0)).toBeUndefined()
    loaded.add(0)
    server.pieceLoaded(0)
    expect(sent).toHaveLength(1)
    expect(sent[0]![4]).toBe(22)
    expect(server.stats()).toMatchObject({ answered: 2, rejected: 1 })
    // Our data of a piece changed behind our back (it no longer matches the piece layer): rejected, never answered.
    loaded.add(2)
    const changed = Uint8Array.from(piece(2))
    changed[5] = changed[5]! ^ 1
    const liar = new HashExchange(torrent(), () => 0, { blockHashes: () => {}, blockHashesFailed: () => {}, verifiedPiece: () => changed })
    expect((liar.answer(asker, payload(encodeHashRequest({ piecesRoot: root, baseLayer: 0, index: 8, length: 4, proofLayers: 1 }))) as Uint8Array)[4]).toBe(23)
  })
})

/** A fake peer link: what the swarm touches of one. */
const fakeLink = (host: string) => {
  const link = {
    host,
    key: `${host}:6881`,
    v2: true,
    bits: Bitfield.full(5),
    strikes: 0,
    failed: [] as Array<string>,
    sent: [] as Array<Uint8Array>,
    send: (m: Uint8Array) => void link.sent.push(m),
    fillRequests: () => {},
    cancel: () => {},
    delivered: () => {},
    weHave: () => {},
    tick: () => {},
    extensions: { listenAddress: undefined, sendPex: () => {} },
    fail: (e: { message: string }) => void link.failed.push(e.message)
  }
  return link
}

describe("Swarm with v2 block hashes", () => {
  it("blames a peer for the one bad block it sent among good ones, and asks only that block again", () => {
    const completed: Array<CompletedPiece> = []
    const bans = new BanList({ now: () => 0, banMs: 1000, maxBanMs: 1000, strikesToBan: 3, capacity: 10 })
    const swarm = new Swarm({
      torrent: torrent(),
      peerId: new Uint8Array(20),
      port: 6881,
      have: new Bitfield(5),
      now: () => 0,
      random: () => 0.5,
      bans,
      cacheBytes: 0,
      backlogBytes: 1 << 20,
      outstandingBytes: 1 << 20,
      choke: defaultChokeConfig,
      onPieceComplete: (p) => void completed.push(p),
      onLoadPiece: () => {},
      onPeers: () => {},
      dhtPort: undefined,
      onDhtNode: () => {}
    })
    const honest = fakeLink("10.0.0.1")
    const liar = fakeLink("10.0.0.2")
    const third = fakeLink("10.0.0.3")
    for (const link of [honest, liar, third]) {
      swarm.links.add(link as unknown as PeerLink)
      swarm.picker.addPeer(link as unknown as PeerLink, link.bits)
    }
    const as = (link: ReturnType<typeof fakeLink>) => link as unknown as PeerLink
    // Piece 1's blocks: two from the honest peer, two from the liar, one of which is bad.
    const fromHonest = swarm.picker.nextRequests(as(honest), honest.bits, 2, 0)
    const fromLiar = swarm.picker.nextRequests(as(liar), liar.bits, 2, 0)
    const index = fromHonest[0]!.index
    expect(fromLiar.every((r) => r.index === index)).toBe(true)
    const block = (begin: number) => bytes.subarray(index * PIECE + begin, index * PIECE + begin + BLOCK_SIZE)
    for (const r of fromHonest) swarm.blockReceived(as(honest), r.index, r.begin, block(r.begin))
    const badBegin = fromLiar[1]!.begin
    swarm.blockReceived(as(liar), index, fromLiar[0]!.begin, block(fromLiar[0]!.begin))
    swarm.blockReceived(as(liar), index, badBegin, new Uint8Array(BLOCK_SIZE).fill(7))
    expect(completed).toHaveLength(1)
    // The verifier said no: the swarm asks a peer that sent none of it for the block hashes, and waits.
    expect(swarm.pieceFailed(index, completed[0]!.data)).toEqual([])
    expect(third.sent).toHaveLength(1)
    const request = Either.getOrThrow(decodeHashRequest(payload(third.sent[0]!)))
    expect(request).toMatchObject({ baseLayer: 0, index: index * 4, length: 4, proofLayers: 1 })
    const seeder = new HashExchange(torrent(), () => 0, {
      blockHashes: () => {},
      blockHashesFailed: () => {},
      verifiedPiece: (i) => piece(i)
    })
    swarm.hashesReceived(as(third), payload(seeder.answer(third, payload(third.sent[0]!)) as Uint8Array))
    // The liar alone is struck, once; nobody is dropped; only the bad block is free again.
    expect(liar.strikes).toBe(1)
    expect(honest.strikes).toBe(0)
    expect(bans.isBanned("10.0.0.2")).toBe(false)
    expect(honest.failed).toEqual([])
    const again = swarm.picker.nextRequests(as(third), third.bits, 100, 0).filter((r) => r.index === index)
    expect(again).toEqual([{ index, begin: badBegin, length: BLOCK_SIZE }])
    // The liar sends it bad again: refused on arrival by its block hash, struck at once, the block free again.
    swarm.picker.checkInvariants()
    swarm.picker.requestRejected(as(third), index, badBegin)
    expect(swarm.picker.nextRequests(as(liar), liar.bits, 1, 0)).toEqual([{ index, begin: badBegin, length: BLOCK_SIZE }])
    swarm.blockReceived(as(liar), index, badBegin, new Uint8Array(BLOCK_SIZE).fill(9))
    expect(completed).toHaveLength(1)
    expect(liar.strikes).toBe(2)
    expect(honest.strikes + third.strikes).toBe(0)
    expect(swarm.hashes!.stats()).toMatchObject({ blockHashes: 1, badBlocks: 2, received: 0 })
    swarm.picker.checkInvariants()
    // The good copy completes the piece, from the buffer that kept the other three good blocks.
    expect(swarm.picker.nextRequests(as(honest), honest.bits, 1, 0)).toEqual([{ index, begin: badBegin, length: BLOCK_SIZE }])
    swarm.blockReceived(as(honest), index, badBegin, block(badBegin))
    expect(completed).toHaveLength(2)
    expect(Buffer.from(completed[1]!.data).equals(piece(index))).toBe(true)
  })

  it("falls back to judging the whole piece when every peer asked rejects the block-hash request, after a wait", () => {
    const completed: Array<CompletedPiece> = []
    let clock = 0
    const bans = new BanList({ now: () => 0, banMs: 1000, maxBanMs: 1000, strikesToBan: 3, capacity: 10 })
    const swarm = new Swarm({
      torrent: torrent(), peerId: new Uint8Array(20), port: 6881, have: new Bitfield(5), now: () => clock,
      random: () => 0.5, bans, cacheBytes: 0, backlogBytes: 1 << 20, outstandingBytes: 1 << 20,
      choke: defaultChokeConfig, onPieceComplete: (p) => void completed.push(p), onLoadPiece: () => {},
      onPeers: () => {}, dhtPort: undefined, onDhtNode: () => {}
    })
    const liar = fakeLink("10.0.0.2")
    const other = fakeLink("10.0.0.3")
    for (const link of [liar, other]) {
      swarm.links.add(link as unknown as PeerLink)
      swarm.picker.addPeer(link as unknown as PeerLink, link.bits)
    }
    const requests = swarm.picker.nextRequests(liar as unknown as PeerLink, liar.bits, 4, 0)
    for (const r of requests) swarm.blockReceived(liar as unknown as PeerLink, r.index, r.begin, new Uint8Array(r.length))
    expect(swarm.pieceFailed(requests[0]!.index, completed[0]!.data)).toEqual([])
    const request = Either.getOrThrow(decodeHashRequest(payload(other.sent[0]!)))
    swarm.hashes!.rejected(other, encodeHashRequest(request).subarray(5))
    // The next v2 peer with the piece is asked (here the sender itself: its answer would be checked all the same).
    expect(liar.strikes).toBe(0)
    expect(Either.getOrThrow(decodeHashRequest(payload(liar.sent[0]!)))).toEqual(request)
    swarm.hashes!.rejected(liar, encodeHashRequest(request).subarray(5))
    // No one left to ask: it waits for a v2 peer to come, up to 15 s from its failure, then is judged as a whole.
    const limits = { requestMs: 60_000, idleMs: 60_000, snubMs: 60_000, chokedMs: 60_000 }
    clock = 14_000
    swarm.tick(limits)
    expect(liar.strikes).toBe(0)
    clock = 16_000
    swarm.tick(limits)
    // Judged as a whole: the single sender is struck, and the whole piece is free again (for it alone: see PiecePicker).
    expect(liar.strikes).toBe(1)
    expect(swarm.picker.nextRequests(liar as unknown as PeerLink, liar.bits, 100, clock).filter((r) => r.index === requests[0]!.index))
      .toHaveLength(4)
  })
})
