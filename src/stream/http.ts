/**
 * Torrent files over HTTP, for players: `GET`/`HEAD /stream/<info-hash-hex>/<file-index>` with single byte ranges
 * (206 and `Content-Range`, 416 past the end, `Accept-Ranges`, `Content-Length`, `Content-Type` from the
 * extension), and `/stream/<info-hash-hex>/playlist.m3u` listing the torrent's wanted files. The path is matched
 * whole against those two shapes: nothing in it names a path on disk, so no request reaches a byte outside the
 * torrent's files. A body waits for its pieces; a torrent that stops ends it.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { FilePriority } from "../session/selection.js"
import { fileStream, type StreamSource } from "./fileStream.js"
import { contentRange, parseRange } from "./range.js"

/** A running torrent whose files can be streamed, with its file priorities (the playlist lists the wanted ones). */
export interface Streamable extends StreamSource {
  readonly files: Effect.Effect<ReadonlyArray<FilePriority>>
}

/** Finds a running torrent by its info-hash (lowercase hex); none: 404. */
export type FindTorrent = (infoHashHex: string) => Effect.Effect<Option.Option<Streamable>>

/** The URL path of a torrent's file: the daemon and `bt stream` both serve it (the web UI links to it). */
export const streamPath = (infoHashHex: string, fileIndex: number): string => `/stream/${infoHashHex}/${fileIndex}`

/** The URL path of a torrent's playlist (M3U; its entries are relative, so they resolve against wherever it is). */
export const playlistPath = (infoHashHex: string): string => `/stream/${infoHashHex}/playlist.m3u`

const TYPES: Readonly<Record<string, string>> = {
  mp4: "video/mp4",
  m4v: "video/mp4",
  mkv: "video/x-matroska",
  webm: "video/webm",
  mov: "video/quicktime",
  avi: "video/x-msvideo",
  wmv: "video/x-ms-wmv",
  flv: "video/x-flv",
  ogv: "video/ogg",
  ts: "video/mp2t",
  m2ts: "video/mp2t",
  mpg: "video/mpeg",
  mpeg: "video/mpeg",
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  mka: "audio/x-matroska",
  flac: "audio/flac",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  wav: "audio/wav",
  aac: "audio/aac",
  srt: "application/x-subrip",
  vtt: "text/vtt",
  txt: "text/plain; charset=utf-8",
  nfo: "text/plain; charset=utf-8",
  pdf: "application/pdf",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  iso: "application/x-iso9660-image",
  zip: "application/zip"
}

/** A file's media type from its name's extension; `application/octet-stream` for any other. */
export const mediaType = (name: string): string => {
  const dot = name.lastIndexOf(".")
  return (dot === -1 ? undefined : TYPES[name.slice(dot + 1).toLowerCase()]) ?? "application/octet-stream"
}

const FILE = /^\/stream\/([0-9a-fA-F]{40})\/(\d{1,7})$/
const PLAYLIST = /^\/stream\/([0-9a-fA-F]{40})\/playlist\.m3u$/

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(`${body}\n`, { status, headers })

/**
 * Bodies being sent at once, over all torrents, at most: each holds one chunk (`CHUNK_BYTES`) and its socket's
 * buffer, so a thousand readers cost no more than this many. One more is answered 503 at once.
 */
export const MAX_READERS = 64

/** Answers one request for a file of `torrent`; `reading` counts the bodies being sent (see `MAX_READERS`). */
export const serveFile = (
  source: StreamSource,
  fileIndex: number,
  rangeHeader: string | undefined,
  reading: { count: number } = { count: 0 }
): HttpServerResponse.HttpServerResponse => {
  const file = source.torrent.files[fileIndex]
  if (file === undefined || file.padding) return text(404, "404: Not Found: no such file in this torrent")
  const size = file.length
  const answer = parseRange(rangeHeader, size)
  const range = contentRange(answer, size)
  const common = { "accept-ranges": "bytes", ...(range === undefined ? {} : { "content-range": range }) }
  if (answer._tag === "Unsatisfiable") return text(416, "416: Range Not Satisfiable", common)
  const [start, end] = answer._tag === "Partial" ? [answer.start, answer.end + 1] : [0, size]
  // A stopped torrent ends the body short: the client sees fewer bytes than Content-Length, and with
  // `connection: close` the connection ends there rather than waiting for the rest.
  if (reading.count >= MAX_READERS) {
    return text(503, `503: Service Unavailable: ${MAX_READERS} readers already; try again`, { "retry-after": "5" })
  }
  const body = Stream.acquireRelease(Effect.sync(() => reading.count++), () => Effect.sync(() => reading.count--)).pipe(
    Stream.flatMap(() => fileStream(source, fileIndex, { start, end })),
    Stream.catchAll(() => Stream.empty)
  )
  return HttpServerResponse.stream(body, {
    status: answer._tag === "Partial" ? 206 : 200,
    contentType: mediaType(file.path.at(-1) ?? ""),
    headers: { ...common, "content-length": String(end - start), connection: "close" }
  })
}

/** The M3U playlist of a torrent's wanted files (each entry relative to the playlist's own URL). */
export const playlist = (source: StreamSource, files: ReadonlyArray<FilePriority>): string => {
  const lines = ["#EXTM3U"]
  for (const [index, file] of source.torrent.files.entries()) {
    if (file.padding || file.length === 0 || files[index] === "skip") continue
    lines.push(`#EXTINF:-1,${file.path.join("/").replace(/[\r\n]/g, " ")}`, String(index))
  }
  return `${lines.join("\n")}\n`
}

/**
 * The stream routes. `guard` answers a request before anything else when it refuses it (the daemon's Host and
 * auth checks).
 */
export const streamRouter = (
  find: FindTorrent,
  guard: (request: HttpServerRequest.HttpServerRequest) => Option.Option<HttpServerResponse.HttpServerResponse> = () =>
    Option.none()
): HttpRouter.HttpRouter => {
  const reading = { count: 0 }
  const handle = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const refused = guard(request)
    if (Option.isSome(refused)) return Effect.succeed(refused.value)
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Effect.succeed(text(405, "405: Method Not Allowed", { allow: "GET, HEAD" }))
    }
    const path = request.url.split("?")[0]!
    const file = FILE.exec(path)
    const list = file === null ? PLAYLIST.exec(path) : null
    const hash = (file ?? list)?.[1]?.toLowerCase()
    if (hash === undefined) return Effect.succeed(text(404, "404: Not Found"))
    return Effect.flatMap(find(hash), (found) => {
      if (Option.isNone(found)) return Effect.succeed(text(404, "404: Not Found: no running torrent with this info-hash"))
      const source = found.value
      if (file !== null) return Effect.succeed(serveFile(source, Number(file[2]), request.headers["range"], reading))
      return Effect.map(source.files, (files) =>
        HttpServerResponse.text(playlist(source, files), { contentType: "audio/x-mpegurl; charset=utf-8" }))
    })
  })
  return HttpRouter.empty.pipe(HttpRouter.all("/stream/*", handle))
}
