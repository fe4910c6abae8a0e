/**
 * Fetching a torrent's info dictionary from one peer over ut_metadata (BEP 9), with bt's PeerWire service and no
 * torrent session: the kind of thing a crawler or a metadata fetcher does.
 *
 *   node --experimental-strip-types examples/metadata.ts INFOHASH_HEX HOST:PORT   (Node 22+), or
 *   npx tsx examples/metadata.ts INFOHASH_HEX HOST:PORT
 *
 * (Its command line is not run by the tests, only `fetchMetadata`: test/interop/peerWire.test.ts.)
 *
 * Prints the torrent's name and the metadata's size, once the bytes fetched hash to the info-hash.
 */
import { Console, Effect, Either, Layer, Stream } from "effect"
import { createHash } from "node:crypto"
import { Bencode, NodeTransport, PeerWire, Wire } from "../src/index.js"

/** PeerWire over TCP (NodeTransport); `PeerWire.layerConfig` would change its timeouts. */
export const WireLayer = PeerWire.layer.pipe(Layer.provide(NodeTransport.layer))

/** Asks `peer` (over MSE if it speaks it, by default) for every piece of the metadata of `infoHash` and returns the info dictionary's bytes, checked. */
export const fetchMetadata = (
  infoHash: Uint8Array,
  peer: { host: string; port: number },
  encryption: "disable" | "prefer" | "require" = "prefer"
) =>
  Effect.gen(function*() {
    const wire = yield* PeerWire.PeerWire
    const connection = yield* wire.connect(peer, { infoHash, encryption })
    const size = connection.extended?.metadataSize
    if (size === undefined || !connection.extended?.m.get("ut_metadata")) {
      return yield* Effect.fail(new Error(`${peer.host}:${peer.port} offers no metadata`))
    }
    const pieces = Math.ceil(size / Wire.METADATA_PIECE_SIZE)
    for (let piece = 0; piece < pieces; piece++) {
      yield* connection.sendExtended("ut_metadata", Wire.encodeMetadataMessage({ type: "request", piece }))
    }
    const ours = Wire.OUR_EXTENSIONS.ut_metadata
    const metadata = new Uint8Array(size)
    const fail = (why: string) => Effect.fail(new Error(`${peer.host}:${peer.port}: ${why}`))
    /** Whether `message` brought a piece of metadata (stored); fails on a reject or a malformed one. */
    const take = (message: Wire.Message): Effect.Effect<boolean, Error> => {
      if (message.type !== "extended" || message.id !== ours) return Effect.succeed(false)
      const decoded = Wire.decodeMetadataMessage(message.payload)
      if (decoded instanceof Wire.WireError) return fail(decoded.message)
      if (decoded.type === "reject") return fail(`rejected metadata piece ${decoded.piece}`)
      if (decoded.type === "request") return Effect.succeed(false)
      metadata.set(decoded.data, decoded.piece * Wire.METADATA_PIECE_SIZE)
      return Effect.succeed(true)
    }
    const received = yield* connection.messages.pipe(
      Stream.mapEffect(take),
      Stream.filter((stored) => stored),
      Stream.take(pieces),
      Stream.runCount
    )
    if (received < pieces) return yield* Effect.fail(new Error(`${peer.host}:${peer.port} closed before the metadata`))
    if (!createHash("sha1").update(metadata).digest().equals(infoHash)) {
      return yield* Effect.fail(new Error("the metadata does not hash to the info-hash"))
    }
    return { metadata, encrypted: connection.encrypted }
  }).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  const [hex, address] = process.argv.slice(2)
  if (hex === undefined || !/^[0-9a-fA-F]{40}$/.test(hex) || address === undefined) {
    return yield* Effect.fail(new Error("usage: metadata.ts INFOHASH_HEX HOST:PORT"))
  }
  const at = address.lastIndexOf(":")
  const { metadata } = yield* fetchMetadata(Buffer.from(hex, "hex"), { host: address.slice(0, at), port: Number(address.slice(at + 1)) })
  const info = Either.getOrUndefined(Bencode.decode(metadata))
  const name = info !== undefined && Bencode.isDict(info) ? info.get("name") : undefined
  yield* Console.log(`${Bencode.isBytes(name) ? Buffer.from(name).toString("utf8") : "(no name)"}: ${metadata.length} bytes of metadata`)
})

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main.pipe(Effect.provide(WireLayer))).catch((error: unknown) => {
    console.error(`bt: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  })
}
