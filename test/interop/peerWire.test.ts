import { Effect, Layer, Queue, Stream } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { expect, test } from "vitest"
import { fetchMetadata, WireLayer } from "../../examples/metadata.js"
import { NodeDatagram, NodeTransport, PeerWire, Transport, UtpTransport, Wire } from "../../src/index.js"
import { interopSuite, lt, startLtSeeder, tempDir, writeFiles } from "./harness.js"
import { startLtLeecher } from "./leechers.js"

/** A torrent file's v1 info-hash, as libtorrent reads it. */
const infoHashOf = async (torrent: string): Promise<Buffer> => {
  const info = (await lt(["info", torrent])) as { readonly info_hash: string }
  return Buffer.from(info.info_hash, "hex")
}

/** One file of `size` bytes in a fresh folder, and a torrent of it. */
const oneFileTorrent = async (size: number, pieceLength: number) => {
  const work = await tempDir()
  await writeFiles(join(work, "src"), [{ path: "one.bin", size }], 5)
  const torrent = join(work, "t.torrent")
  await lt(["create", join(work, "src", "one.bin"), "--out", torrent, "--piece-length", String(pieceLength)])
  return { work, torrent, infoHash: await infoHashOf(torrent) }
}

/** The same, with libtorrent seeding it. */
const seedOneFile = async (size: number, pieceLength: number, transport: "tcp" | "utp") => {
  const { work, torrent, infoHash } = await oneFileTorrent(size, pieceLength)
  const seeder = await startLtSeeder({ torrent, save: join(work, "src"), transport })
  return { infoHash, seeder, data: await readFile(join(work, "src", "one.bin")) }
}

interopSuite("PeerWire: one peer connection without a session, against libtorrent", ["libtorrent"], () => {
  test("examples/metadata.ts fetches the info dictionary over ut_metadata, plaintext and MSE", async () => {
    const work = await tempDir()
    // Many files with long names: the info dictionary runs past one 16 KiB metadata piece (BEP 9), so the fetch
    // takes several pieces, the last a short one.
    const files = Array.from({ length: 200 }, (_, i) => ({
      path: `data/${String(i).padStart(3, "0")}-${"a-rather-long-file-name-to-fill-the-info-dictionary-".repeat(2)}.bin`,
      size: 1000 + i
    }))
    await writeFiles(join(work, "src"), files, 3)
    const torrent = join(work, "t.torrent")
    await lt(["create", join(work, "src", "data"), "--out", torrent, "--piece-length", "16384"])
    const infoHash = await infoHashOf(torrent)

    for (const encryption of ["disabled", "forced"] as const) {
      const seeder = await startLtSeeder({ torrent, save: join(work, "src"), encryption })
      const policy = encryption === "disabled" ? "disable" : "require"
      const fetched = await Effect.runPromise(
        fetchMetadata(infoHash, { host: "127.0.0.1", port: seeder.port }, policy).pipe(
          Effect.provide(WireLayer),
          Effect.timeout("60 seconds")
        )
      )
      expect(fetched.encrypted).toBe(encryption === "forced")
      expect(createHash("sha1").update(fetched.metadata).digest().equals(infoHash)).toBe(true)
      expect(fetched.metadata.length).toBeGreaterThan(Wire.METADATA_PIECE_SIZE)
      seeder.proc.child.kill()
      await seeder.proc.exited
    }
  })

  test("accepts a libtorrent leecher that dials us with MSE (RC4 forced), and reads its first messages", async () => {
    const { work: torrentWork, torrent, infoHash } = await oneFileTorrent(40_000, 16384)
    const program = Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const wire = yield* PeerWire.PeerWire
      const incoming = yield* Queue.unbounded<Transport.Connection>()
      const listener = yield* transport.listen({ host: "127.0.0.1", port: 0 }, (c) => Queue.unsafeOffer(incoming, c))
      yield* Effect.promise(() =>
        startLtLeecher({ torrent, save: join(torrentWork, "lt"), peers: [`127.0.0.1:${listener.local.port}`], encryption: "forced" })
      )
      const peer = yield* wire.accept(yield* Queue.take(incoming), { infoHashes: [infoHash], encryption: "require" })
      const first = yield* peer.messages.pipe(Stream.filter((m) => m.type !== "extended"), Stream.take(1), Stream.runCollect)
      return { encrypted: peer.encrypted, client: peer.extended?.v, first: [...first].map((m) => m.type) }
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.provideMerge(PeerWire.layer, NodeTransport.layer)),
      Effect.timeout("60 seconds")
    )
    const accepted = await Effect.runPromise(program)
    expect(accepted.encrypted).toBe(true)
    expect(accepted.client).toMatch(/libtorrent/i)
    // A leecher with nothing opens with have_none (BEP 6, we set the fast bit) or an empty bitfield.
    expect(["haveNone", "bitfield"]).toContain(accepted.first[0])
  })

  test("over uTP (BEP 29) through the Transport it is given", async () => {
    const { infoHash, seeder } = await seedOneFile(50_000, 16384, "utp")
    const utp = PeerWire.layer.pipe(Layer.provide(UtpTransport.layer()), Layer.provide(NodeDatagram.layer))
    const program = Effect.gen(function*() {
      const wire = yield* PeerWire.PeerWire
      const peer = yield* wire.connect({ host: "127.0.0.1", port: seeder.port }, { infoHash })
      return { transport: peer.transport, metadataSize: peer.extended?.metadataSize }
    }).pipe(Effect.scoped, Effect.provide(utp), Effect.timeout("60 seconds"))
    const opened = await Effect.runPromise(program)
    expect(opened.transport).toBe("utp")
    expect(opened.metadataSize).toBeGreaterThan(0)
  })

  test("downloads and checks one piece: bitfield, interested, unchoke, requests, blocks", async () => {
    const { infoHash, seeder, data } = await seedOneFile(100_000, 65536, "tcp")

    const program = Effect.gen(function*() {
      const wire = yield* PeerWire.PeerWire
      const peer = yield* wire.connect({ host: "127.0.0.1", port: seeder.port }, { infoHash, pieceCount: 2 })
      expect(Wire.supports(peer.handshake.reserved, "extensions")).toBe(true)
      expect(peer.extended?.v).toMatch(/libtorrent/i)
      yield* peer.send({ type: "interested" })
      const piece = new Uint8Array(65536)
      let requested = false
      let got = 0
      yield* peer.messages.pipe(
        Stream.mapEffect((message) =>
          Effect.gen(function*() {
            if (message.type === "unchoke" && !requested) {
              requested = true
              for (let begin = 0; begin < piece.length; begin += Wire.MAX_BLOCK) {
                yield* peer.send({ type: "request", index: 0, begin, length: Wire.MAX_BLOCK })
              }
            }
            if (message.type === "piece" && message.index === 0) {
              piece.set(message.block, message.begin)
              got += message.block.length
            }
            return got
          })
        ),
        Stream.takeUntil((total) => total >= piece.length),
        Stream.runDrain
      )
      return piece
    }).pipe(Effect.scoped, Effect.provide(PeerWire.layer.pipe(Layer.provide(NodeTransport.layer))), Effect.timeout("60 seconds"))
    const piece = await Effect.runPromise(program)
    expect(Buffer.from(piece).equals(data.subarray(0, 65536))).toBe(true)
  })
})
