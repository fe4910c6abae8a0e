import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type MagnetLink, MAX_TORRENT_FILE_BYTES, parseMagnet, parseTorrent, type TorrentInfo } from "../metainfo/index.js"
import { type AddSource, ClientError } from "./Client.js"

/** How long a `.torrent` URL may take, and how large it may be. */
export interface FetchLimits {
  readonly timeout: Duration.DurationInput
  readonly maxBytes: number
}

export const defaultFetchLimits: FetchLimits = { timeout: Duration.seconds(30), maxBytes: 16 * 1024 * 1024 }

/** What an add source turns into: a whole torrent, or a magnet link whose metadata is still to fetch. */
export type Resolved =
  | { readonly _tag: "Torrent"; readonly info: TorrentInfo }
  | { readonly _tag: "Magnet"; readonly magnet: MagnetLink }

const invalid = (error: { readonly message: string }) =>
  new ClientError({ reason: "InvalidTorrent", detail: error.message, cause: error })

const fromBytes = (bytes: Uint8Array, source: string) =>
  Either.match(parseTorrent(bytes, source), {
    onLeft: (error) => Effect.fail(invalid(error)),
    onRight: (info) => Effect.succeed<Resolved>({ _tag: "Torrent", info })
  })

/** Reads a source: parses bytes, reads a file, fetches a URL (if an HttpClient was given), parses a link. */
export const resolveSource = (
  source: AddSource,
  fs: FileSystem.FileSystem,
  http: Option.Option<HttpClient.HttpClient>,
  limits: FetchLimits
): Effect.Effect<Resolved, ClientError> => {
  switch (source._tag) {
    case "Metainfo":
      return fromBytes(source.bytes, "the torrent")
    case "Magnet":
      return Either.match(parseMagnet(source.uri), {
        onLeft: (error) => Effect.fail(invalid(error)),
        onRight: (magnet) => Effect.succeed<Resolved>({ _tag: "Magnet", magnet })
      })
    case "Path":
      return fs.stat(source.path).pipe(
        Effect.filterOrFail(
          (info) => info.type === "File" && Number(info.size) <= MAX_TORRENT_FILE_BYTES,
          () => new Error("not a regular file of a torrent's size")
        ),
        Effect.zipRight(fs.readFile(source.path)),
        Effect.mapError((cause) =>
          new ClientError({ reason: "Storage", detail: `cannot read ${source.path}: ${cause.message}`, cause })
        ),
        Effect.flatMap((bytes) => fromBytes(bytes, source.path))
      )
    case "Url": {
      if (Option.isNone(http)) {
        return Effect.fail(new ClientError({ reason: "Unsupported", detail: "this client fetches no URLs (no HttpClient)" }))
      }
      const fetchFailed = (why: string, cause?: unknown) =>
        new ClientError({ reason: "Fetch", detail: `cannot fetch ${source.url}: ${why}`, cause })
      const client = HttpClient.followRedirects(HttpClient.withScope(http.value), 5)
      return client.get(source.url).pipe(
        Effect.mapError((cause) => fetchFailed(cause.message, cause)),
        Effect.filterOrFail((response) => response.status === 200, (response) => fetchFailed(`HTTP status ${response.status}`)),
        Effect.flatMap((response) =>
          response.stream.pipe(
            Stream.mapError((cause) => fetchFailed(cause.message, cause)),
            Stream.runFoldEffect({ size: 0, chunks: Chunk.empty<Uint8Array>() }, (acc, chunk) =>
              acc.size + chunk.length > limits.maxBytes
                ? Effect.fail(fetchFailed(`larger than ${limits.maxBytes} bytes`))
                : Effect.succeed({ size: acc.size + chunk.length, chunks: Chunk.append(acc.chunks, chunk) }))
          )
        ),
        Effect.scoped,
        Effect.timeoutFail({
          duration: limits.timeout,
          onTimeout: () => fetchFailed(`no answer within ${Duration.format(Duration.decode(limits.timeout))}`)
        }),
        Effect.flatMap(({ chunks }) => fromBytes(Buffer.concat(Chunk.toReadonlyArray(chunks)), source.url))
      )
    }
  }
}
