import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type MagnetLink, parseMagnet } from "./magnet.js"
import { MetainfoError } from "./MetainfoError.js"
import { parseTorrent } from "./parse.js"
import type { TorrentInfo } from "./TorrentInfo.js"

/** The largest .torrent read from disk. Real ones with millions of pieces stay well below it. */
export const MAX_TORRENT_FILE_BYTES = 64 * 1024 * 1024

/** Turns `.torrent` files and bytes into validated `TorrentInfo`, and magnet links into `MagnetLink`. */
export class Metainfo extends Context.Tag("bt/Metainfo")<Metainfo, {
  /** Parses `.torrent` bytes; `source` names them in errors. */
  readonly parse: (bytes: Uint8Array, source?: string) => Effect.Effect<TorrentInfo, MetainfoError>
  /** Reads and parses a `.torrent` file. */
  readonly load: (path: string) => Effect.Effect<TorrentInfo, MetainfoError>
  /** Parses a magnet link (BEP 9; `so` from BEP 53). */
  readonly parseMagnet: (uri: string) => Effect.Effect<MagnetLink, MetainfoError>
}>() {}

export const make: Effect.Effect<Metainfo["Type"], never, FileSystem.FileSystem> = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem

  const parse = (bytes: Uint8Array, source?: string) => Effect.suspend(() => parseTorrent(bytes, source))

  const unreadable = (path: string) => (cause: { readonly message: string; readonly reason?: string }) =>
    new MetainfoError({
      reason: "Unreadable",
      source: path,
      detail: cause.reason === "NotFound" ? "no such file" : `cannot read the file (${cause.message})`,
      cause
    })

  const load = (path: string) =>
    Effect.gen(function*() {
      const info = yield* fs.stat(path).pipe(Effect.mapError(unreadable(path)))
      if (info.type !== "File") {
        return yield* new MetainfoError({ reason: "Unreadable", source: path, detail: "not a regular file" })
      }
      if (info.size > MAX_TORRENT_FILE_BYTES) {
        return yield* new MetainfoError({
          reason: "TooLarge",
          source: path,
          detail: `${info.size} bytes is too large for a .torrent file`
        })
      }
      const bytes = yield* fs.readFile(path).pipe(Effect.mapError(unreadable(path)))
      return yield* parse(bytes, path)
    })

  return Metainfo.of({ parse, load, parseMagnet: (uri) => Effect.suspend(() => parseMagnet(uri)) })
})

/** The Metainfo service; needs a `FileSystem` from the platform (Node's, or a test double). */
export const layer: Layer.Layer<Metainfo, never, FileSystem.FileSystem> = Layer.effect(Metainfo, make)
