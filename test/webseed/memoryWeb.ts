import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Effect, Layer } from "effect"

/** One request a memory web server saw. */
export interface Seen {
  readonly url: string
  readonly range: string | undefined
}

/** What a handler answers: a plain `Response`, or `undefined` for "serve the file with Range support". */
export type Handler = (url: URL, range: string | undefined) => Response | undefined

/**
 * A memory web: `files` by full URL, served with `Range` (one `bytes=a-b` range, 206 with `Content-Range`), 404 for
 * anything else. `handler` may answer first (hostile servers). Every request is logged in `seen`.
 */
export const memoryWeb = (files: ReadonlyMap<string, Uint8Array>, handler?: Handler) => {
  const seen: Array<Seen> = []
  const serve = (url: URL, range: string | undefined): Response => {
    const own = handler?.(url, range)
    if (own !== undefined) return own
    const body = files.get(url.href)
    if (body === undefined) return new Response("not found", { status: 404 })
    const match = /^bytes=(\d+)-(\d+)$/.exec(range ?? "")
    if (match === null) return new Response(body, { status: 200 })
    const start = Number(match[1])
    const end = Math.min(Number(match[2]), body.length - 1)
    if (start > end) return new Response(null, { status: 416 })
    return new Response(body.slice(start, end + 1), {
      status: 206,
      headers: { "content-range": `bytes ${start}-${end}/${body.length}`, "content-length": String(end - start + 1) }
    })
  }
  const layer = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request, url) => {
      const range = request.headers["range"]
      seen.push({ url: url.href, range })
      return Effect.succeed(HttpClientResponse.fromWeb(request, serve(url, range)))
    })
  )
  return { layer, seen }
}

/** A body that sends `first` and then nothing, ever. */
export const stalledBody = (first: Uint8Array) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(first)
    }
  })

/** A body of `total` bytes made on demand in 64 KiB chunks, counting what was pulled. */
export const hugeBody = (total: number, pulled: { bytes: number }) =>
  new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.bytes >= total) return controller.close()
      const chunk = new Uint8Array(Math.min(65536, total - pulled.bytes))
      pulled.bytes += chunk.length
      controller.enqueue(chunk)
    }
  })
