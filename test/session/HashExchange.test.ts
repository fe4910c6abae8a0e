import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { encode } from "../../src/bencode/index.js"
import { Merkle, parseMetadata, parseTorrent, pieceCheck } from "../../src/metainfo/index.js"
import { HashExchange, MAX_ANSWERS_PER_TICK } from "../../src/session/HashExchange.js"
import { decodeHashes, decodeHashRequest, encodeHashRequest, type HashRequest } from "../../src/wire/index.js"

const PIECE = 32_768
/** 41 pieces of 32 KiB (the last short): a piece layer 64 wide, one layer above the 16 KiB leaves. */
const bytes = Uint8Array.from({ length: 40 * PIECE + 5_000 }, (_, i) => (i * 31 + 7) % 251)
const root = Merkle.fileRoot(Merkle.blockHashes(bytes))
const layer = Buffer.concat(
  Array.from({ length: 41 }, (_, i) => Merkle.pieceRoot(bytes.subarray(i * PIECE, (i + 1) * PIECE), PIECE))
)
const info = { name: "f.bin", "piece length": PIECE, "meta version": 2, "file tree": { "f.bin": { "": { length: bytes.length, "pieces root": root } } } }
const infoBytes = encode(info)
const torrentBytes = encode({ info, "piece layers": new Map([[Buffer.from(root).toString("latin1"), layer]]) })

const seederTorrent = () => Either.getOrThrow(parseTorrent(torrentBytes, "test"))
const magnetTorrent = () => Either.getOrThrow(parseMetadata(infoBytes, { trackers: [], source: "test" }))

/** A peer that keeps what it is sent: whole messages, length prefix and id included. */
const peer = () => {
  const sent: Array<Uint8Array> = []
  return { sent, send: (message: Uint8Array) => void sent.push(message) }
}
const payload = (message: Uint8Array) => message.subarray(5)
const pieceRequest = (r: Partial<HashRequest> = {}): HashRequest =>
  ({ piecesRoot: root, baseLayer: 1, index: 0, length: 64, proofLayers: 5, ...r })

describe("HashExchange (BEP 52 hash messages of a torrent)", () => {
  it("serves a piece layer from the .torrent, and rejects what it cannot answer", () => {
    const server = new HashExchange(seederTorrent(), () => 0)
    const asker = peer()
    const answer = server.answer(asker, payload(encodeHashRequest(pieceRequest())))
    expect(typeof answer).not.toBe("string")
    const message = answer as Uint8Array
    expect(message[4]).toBe(22)
    const { hashes } = Either.getOrThrow(decodeHashes(payload(message)))
    expect(Buffer.from(hashes.subarray(0, layer.length)).equals(layer)).toBe(true)
    // Leaves we do not hold, a root we do not know: rejected (id 23), not a protocol error.
    for (const r of [pieceRequest({ baseLayer: 0, length: 128, proofLayers: 6 }), pieceRequest({ piecesRoot: new Uint8Array(32) })]) {
      expect((server.answer(asker, payload(encodeHashRequest(r))) as Uint8Array)[4]).toBe(23)
    }
    expect(server.answer(asker, new Uint8Array(47))).toMatch(/48/)
    expect(server.stats()).toMatchObject({ answered: 1, rejected: 2, missingLayers: 0 })
  })

  it("bounds a flood: past MAX_ANSWERS_PER_TICK requests a peer gets rejects until the next tick", () => {
    const server = new HashExchange(seederTorrent(), () => 0)
    const flooder = peer()
    const request = payload(encodeHashRequest(pieceRequest()))
    const kinds = Array.from({ length: MAX_ANSWERS_PER_TICK + 10 }, () => (server.answer(flooder, request) as Uint8Array)[4])
    expect(kinds.filter((id) => id === 22)).toHaveLength(MAX_ANSWERS_PER_TICK)
    expect(kinds.slice(MAX_ANSWERS_PER_TICK).every((id) => id === 23)).toBe(true)
    // Another peer has its own budget; the tick refills.
    expect((server.answer(peer(), request) as Uint8Array)[4]).toBe(22)
    server.tick()
    expect((server.answer(flooder, request) as Uint8Array)[4]).toBe(22)
  })

  it("fetches a magnet's missing piece layer, checks it against the root, then lets blocks flow", () => {
    const torrent = magnetTorrent()
    expect(torrent.v2!.pieceLayers[0]).toBeUndefined()
    expect(pieceCheck(torrent, 3).sha256).toBeUndefined()
    const client = new HashExchange(torrent, () => 0)
    expect(client.awaiting).toBe(true)
    const server = new HashExchange(seederTorrent(), () => 0)
    const seeder = peer()
    client.ask(seeder)
    expect(seeder.sent).toHaveLength(1)
    const request = Either.getOrThrow(decodeHashRequest(payload(seeder.sent[0]!)))
    // As libtorrent asks: the piece layer, 64 hashes, proof layers up to (not including) the root.
    expect(request).toMatchObject({ baseLayer: 1, index: 0, length: 64, proofLayers: 5 })
    const answer = server.answer(seeder, payload(seeder.sent[0]!)) as Uint8Array
    // A bad hash: the peer is to be dropped, nothing kept.
    const spoiled = Uint8Array.from(payload(answer))
    spoiled[48 + 5 * 32] = spoiled[48 + 5 * 32]! ^ 1
    expect(client.received(seeder, spoiled)).toMatch(/do not verify/)
    expect(client.awaiting).toBe(true)
    // Hashes nobody asked this peer for are ignored.
    expect(client.received(peer(), payload(answer))).toBe(false)
    expect(client.received(seeder, payload(answer))).toBe(true)
    expect(client.awaiting).toBe(false)
    expect(Buffer.from(torrent.v2!.pieceLayers[0]!).equals(layer)).toBe(true)
    expect(Buffer.from(pieceCheck(torrent, 3).sha256!.root).equals(layer.subarray(3 * 32, 4 * 32))).toBe(true)
    expect(client.stats()).toMatchObject({ received: 1, missingLayers: 0 })
  })

  it("a `hashes` flood keeps nothing and changes nothing: unsolicited, repeated and after the layer is in", () => {
    const torrent = magnetTorrent()
    const client = new HashExchange(torrent, () => 0)
    const server = new HashExchange(seederTorrent(), () => 0)
    const seeder = peer()
    const flooder = peer()
    client.ask(seeder)
    const answer = payload(server.answer(seeder, payload(seeder.sent[0]!)) as Uint8Array)
    // Valid hashes, never asked of the flooder: each ignored, the layer still missing, no request sent to it.
    for (let i = 0; i < 5_000; i++) expect(client.received(flooder, answer)).toBe(false)
    expect(client.stats()).toMatchObject({ received: 0, missingLayers: 1 })
    expect(client.awaiting).toBe(true)
    expect(flooder.sent).toHaveLength(0)
    expect(client.received(seeder, answer)).toBe(true)
    // The same answer again and again, from the peer that was asked: nothing more is kept or asked.
    for (let i = 0; i < 5_000; i++) expect(client.received(seeder, answer)).toBe(false)
    expect(client.stats()).toMatchObject({ received: 1, missingLayers: 0 })
    expect(seeder.sent).toHaveLength(1)
    expect(Buffer.from(torrent.v2!.pieceLayers[0]!).equals(layer)).toBe(true)
  })

  it("asks someone else after a reject, and the same peer again only after a while", () => {
    let now = 0
    const client = new HashExchange(magnetTorrent(), () => now)
    const first = peer()
    const second = peer()
    client.ask(first)
    expect(client.rejected(first, payload(first.sent[0]!))).toBeUndefined()
    client.ask(first)
    expect(first.sent).toHaveLength(1)
    client.ask(second)
    expect(second.sent).toHaveLength(1)
    client.dropped(second)
    now += 60_000
    client.ask(first)
    expect(first.sent).toHaveLength(2)
  })
})
