import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer } from "effect"
import * as WebSeed from "../../src/webseed/index.js"
import { hugeBody, memoryWeb, stalledBody, type Handler } from "./memoryWeb.js"

const body = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 255)
const FILE = "http://seed.test/data.bin"
const files = new Map([[FILE, body]])

/** Fetches `length` bytes at `offset` of `url` from a memory web, returning what was handed on and how it ended. */
const fetchFrom = (handler: Handler | undefined, url = FILE, idleTimeout = Duration.millis(300), minRate = 1_000_000) => {
  const [offset, length] = [100, 1000]
  const web = memoryWeb(files, handler)
  const layer = WebSeed.layerConfig({ idleTimeout, minRate }).pipe(Layer.provide(web.layer))
  return Effect.gen(function*() {
    const seed = yield* WebSeed.WebSeed
    const chunks: Array<Uint8Array> = []
    const exit = yield* Effect.exit(seed.fetch({ url, offset, length }, (chunk) => chunks.push(Uint8Array.from(chunk))))
    const received = Buffer.concat(chunks)
    return { exit, received, seen: web.seen }
  }).pipe(Effect.provide(layer))
}

const failure = (exit: Exit.Exit<void, WebSeed.WebSeedError>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error === undefined) throw new Error(`not a typed failure: ${exit.cause._tag}`)
  return error
}

describe("the web seed client", () => {
  it.live("fetches a range with Range, and checks the 206 answer", () =>
    Effect.gen(function*() {
      const { exit, received, seen } = yield* fetchFrom(undefined)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(Buffer.compare(received, body.subarray(100, 1100))).toBe(0)
      expect(seen).toEqual([{ url: FILE, range: "bytes=100-1099" }])
    }))

  it.live("takes no data from a server that ignores Range (200)", () =>
    Effect.gen(function*() {
      const { exit, received } = yield* fetchFrom(() => new Response(body, { status: 200 }))
      expect(failure(exit).reason).toBe("NoRange")
      expect(received.length).toBe(0)
    }))

  it.live("refuses a 206 for other bytes, and one with too many or too few bytes", () =>
    Effect.gen(function*() {
      const wrongRange = yield* fetchFrom(() =>
        new Response(body.slice(0, 1000), { status: 206, headers: { "content-range": "bytes 0-999/5000" } }))
      expect(failure(wrongRange.exit).reason).toBe("BadRange")
      expect(wrongRange.received.length).toBe(0)
      const tooMany = yield* fetchFrom(() =>
        new Response(body.slice(100, 2100), { status: 206, headers: { "content-range": "bytes 100-1099/5000" } }))
      expect(failure(tooMany.exit).reason).toBe("BadRange")
      expect(failure(tooMany.exit).detail).toBe("sent more than the 1000 bytes asked")
      // Only bytes of the range asked were handed on.
      expect(Buffer.compare(tooMany.received, body.subarray(100, 1100))).toBe(0)
      const tooFew = yield* fetchFrom(() =>
        new Response(body.slice(100, 600), { status: 206, headers: { "content-range": "bytes 100-1099/5000" } }))
      expect(failure(tooFew.exit).detail).toBe("sent 500 of the 1000 bytes asked")
      const badLength = yield* fetchFrom(() =>
        new Response(body.slice(100, 1100), {
          status: 206,
          headers: { "content-range": "bytes 100-1099/5000", "content-length": "999" }
        }))
      expect(failure(badLength.exit).reason).toBe("BadRange")
    }))

  it.live("reads 503 with Retry-After as busy, other 5xx as busy, 404 as a status error", () =>
    Effect.gen(function*() {
      const busy = yield* fetchFrom(() => new Response("later", { status: 503, headers: { "retry-after": "7" } }))
      expect(failure(busy.exit)).toMatchObject({ reason: "Busy", retryAfter: 7 })
      expect(WebSeed.retryable("Busy")).toBe(true)
      const missing = yield* fetchFrom(undefined, "http://seed.test/other.bin")
      expect(failure(missing.exit)).toMatchObject({ reason: "HttpStatus", detail: "HTTP status 404" })
      expect(WebSeed.retryable("HttpStatus")).toBe(false)
      expect(WebSeed.parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(10)
      expect(WebSeed.parseRetryAfter("soon", 0)).toBeUndefined()
    }))

  it.live("reads nothing of a 2 GB error page", () =>
    Effect.gen(function*() {
      const pulled = { bytes: 0 }
      const { exit } = yield* fetchFrom(() => new Response(hugeBody(2 * 1024 ** 3, pulled), { status: 500 }))
      expect(failure(exit).reason).toBe("Busy")
      // The stream may have been started (one chunk, or a few), never read through.
      expect(pulled.bytes).toBeLessThan(1024 * 1024)
    }))

  it.live("follows redirects, but not in a loop, not to another protocol, not from public to private", () =>
    Effect.gen(function*() {
      const moved = yield* fetchFrom((url) =>
        url.pathname === "/old.bin" ? new Response(null, { status: 302, headers: { location: "/data.bin" } }) : undefined,
        "http://seed.test/old.bin")
      expect(Exit.isSuccess(moved.exit)).toBe(true)
      expect(moved.seen.map((seen) => seen.range)).toEqual(["bytes=100-1099", "bytes=100-1099"])
      const loop = yield* fetchFrom((url) => new Response(null, { status: 301, headers: { location: url.href } }))
      expect(failure(loop.exit)).toMatchObject({ reason: "Redirect", detail: "more than 5 redirects" })
      expect(loop.seen.length).toBe(6)
      const ftp = yield* fetchFrom(() => new Response(null, { status: 302, headers: { location: "ftp://seed.test/x" } }))
      expect(failure(ftp.exit).reason).toBe("Redirect")
      const inward = yield* fetchFrom((url) =>
        url.hostname === "seed.test" ? new Response(null, { status: 307, headers: { location: "http://192.168.1.1/data.bin" } }) : undefined)
      expect(failure(inward.exit).reason).toBe("Redirect")
      expect(inward.seen.length).toBe(1)
    }))

  it.live("drops a range that stalls, and one that drips too slowly", () =>
    Effect.gen(function*() {
      const headers = { "content-range": "bytes 100-1099/5000" }
      // The deadline (10 s at 100 bytes/s) far off: the idle timeout ends it.
      const stalled = yield* fetchFrom(() => new Response(stalledBody(body.slice(100, 110)), { status: 206, headers }), FILE, Duration.millis(300), 100)
      expect(failure(stalled.exit).reason).toBe("Timeout")
      expect(stalled.received.length).toBe(10)
      let sent = 0
      const drip = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 20))
          controller.enqueue(body.slice(100 + sent, 101 + sent))
          sent++
        }
      })
      // One byte each 20 ms never stalls for 2 s, but 1,000 bytes at that pace miss the deadline (2 s plus 1 ms).
      const dripping = yield* fetchFrom(() => new Response(drip, { status: 206, headers }), FILE, Duration.seconds(2))
      expect(failure(dripping.exit)).toMatchObject({ reason: "TooSlow" })
      expect(WebSeed.retryable("TooSlow")).toBe(false)
      expect(WebSeed.retryable("Timeout")).toBe(true)
      expect(failure(dripping.exit).detail).toMatch(/too slow/)
      expect(sent).toBeLessThan(1000)
    }))
})
