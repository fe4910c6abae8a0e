import * as FileSystem from "@effect/platform/FileSystem"
import { Duration, Effect, Either, Layer, Schedule } from "effect"
import { createHash } from "node:crypto"
import { encode } from "../../src/bencode/index.js"
import * as Client from "../../src/client/index.js"
import { parseTorrent, type TorrentInfo } from "../../src/metainfo/index.js"
import type { Endpoint } from "../../src/net/Datagram.js"
import * as MemoryTransport from "../../src/peer/transport/MemoryTransport.js"
import * as ResumeStore from "../../src/resume/index.js"
import * as Session from "../../src/session/index.js"
import * as Storage from "../../src/storage/index.js"
import * as Verifier from "../../src/verifier/index.js"
import { randomBytes } from "../session/fixtures.js"

/** A torrent with a tracker, real SHA-1 piece hashes over pseudo-random content, and its `.torrent` bytes. */
export const makeTorrent = (name: string, length: number, pieceLength: number, seed: number) => {
  const content = randomBytes(length, seed)
  const pieceCount = Math.ceil(length / pieceLength)
  const pieces = Buffer.concat(
    Array.from({ length: pieceCount }, (_, i) =>
      createHash("sha1").update(content.subarray(i * pieceLength, (i + 1) * pieceLength)).digest())
  )
  const bytes = encode({
    announce: "http://tracker.test/announce",
    info: { name, "piece length": pieceLength, pieces, files: [{ length, path: ["data.bin"] }] }
  })
  const torrent: TorrentInfo = Either.getOrThrow(parseTorrent(bytes))
  return { bytes, torrent, content }
}

/** Timeouts in the hundreds of milliseconds, as in the session's own swarm tests. */
export const fastSession: Partial<Session.SessionConfig> = {
  port: 0,
  listenHosts: ["memory"],
  encryption: "disable",
  connectTimeout: Duration.seconds(1),
  handshakeTimeout: Duration.millis(500),
  requestTimeout: Duration.millis(300),
  reconnect: Schedule.spaced(Duration.millis(100)).pipe(Schedule.intersect(Schedule.recurs(20))),
  tick: Duration.millis(50),
  resumeSave: Schedule.spaced(Duration.millis(100))
}

/**
 * What outlives a Client between restarts in these tests: the memory network, the data and the resume states. The
 * state folder is a memory FileSystem (`memory.files` is its map, for a test to look at or damage).
 */
export const world = (peers: () => ReadonlyArray<Endpoint>, stored?: ReadonlyMap<string, Uint8Array>) =>
  Layer.mergeAll(
    MemoryTransport.layerMemory,
    Storage.layerMemory(stored),
    ResumeStore.layerMemory,
    Verifier.layer,
    Client.trackersGiving(peers, 1)
  )

/** A Client (and its Session) over the world's services and `fileSystem`, as a process builds it at each start. */
export const clientOver = (fileSystem: FileSystem.FileSystem, config: Partial<Client.ClientConfig> = {}) =>
  Client.layer({
    stateDir: "/state",
    poll: Duration.millis(50),
    ...config,
    settings: { downloadDir: "/downloads", ...config.settings }
  }).pipe(
    Layer.provideMerge(Session.layerConfig(fastSession)),
    Layer.provide(Layer.succeed(FileSystem.FileSystem, fileSystem))
  )

/** Polls `condition` (an Effect) until it holds, failing after `within`. */
export const eventually = <E, R>(what: string, condition: Effect.Effect<boolean, E, R>, within = Duration.seconds(5)) =>
  condition.pipe(
    Effect.filterOrFail((ok) => ok, () => "not yet" as const),
    Effect.retry(Schedule.spaced(Duration.millis(20))),
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`${what}: not within ${Duration.format(within)}`) }),
    Effect.asVoid
  )
