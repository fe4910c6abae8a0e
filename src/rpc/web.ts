/**
 * The browser UI's files (built by `npm run build` into dist/web) served at `/` beside the RPC, behind the same Host
 * and auth checks (not the session id: a browser cannot echo it before it has loaded the page that learns it).
 * The files are read once when the routes are made, so a request never touches the disk. `index.html` is never
 * cached (it names the current bundle); the bundle's files carry a content hash in their names and are cached for
 * good. Every answer forbids framing and sniffing, and the CSP lets the page load and talk to nothing but this origin.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { refusal, type RpcHttpOptions } from "./http.js"

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json; charset=utf-8",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  png: "image/png",
  json: "application/json; charset=utf-8"
}

/** The content type of a file name, by its extension. */
export const contentTypeOf = (name: string): string =>
  TYPES[name.slice(name.lastIndexOf(".") + 1).toLowerCase()] ?? "application/octet-stream"

const SECURITY = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
}

/** Asset names: one plain segment (no folders, no dot-dot). */
const ASSET = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/

export type WebOptions = Pick<RpcHttpOptions, "auth" | "allowedHosts">

/**
 * Routes for the web UI in `dir`: `GET /` (`dir/index.html`) and `GET /assets/NAME` (`dir/assets/NAME`). A missing `dir` (bt run from its
 * sources without a build) answers `/` with a sentence saying so.
 */
export const webRouter = (
  options: WebOptions,
  dir: string
): Effect.Effect<HttpRouter.HttpRouter, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const files = new Map<string, Uint8Array>()
    const index = yield* fs.readFile(`${dir}/index.html`).pipe(Effect.option)
    if (Option.isSome(index)) files.set("index.html", index.value)
    const names = yield* fs.readDirectory(`${dir}/assets`).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))
    for (const name of names) {
      if (!ASSET.test(name) || name === "index.html") continue
      const bytes = yield* fs.readFile(`${dir}/assets/${name}`).pipe(Effect.option)
      if (Option.isSome(bytes)) files.set(name, bytes.value)
    }
    const checks = { ...options, sessionId: "", maxBodyBytes: 0 }
    const serve = (name: string, cache: string) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Option.match(refusal(checks, request.headers, false), {
          onSome: Effect.succeed,
          onNone: () => {
            const bytes = files.get(name)
            return Effect.succeed(
              bytes === undefined
                ? HttpServerResponse.text(
                  name === "index.html"
                    ? `The web UI is not built here (no ${dir}/index.html): run \`npm run build\`.\n`
                    : "404: Not Found\n",
                  { status: 404, headers: SECURITY }
                )
                : HttpServerResponse.uint8Array(bytes, {
                  contentType: contentTypeOf(name),
                  headers: { ...SECURITY, "cache-control": cache }
                })
            )
          }
        }))
    const asset = Effect.flatMap(HttpRouter.params, (params) => {
      const name = params["name"] ?? ""
      return ASSET.test(name) && name !== "index.html"
        ? serve(name, "public, max-age=31536000, immutable")
        : Effect.succeed(HttpServerResponse.text("404: Not Found\n", { status: 404, headers: SECURITY }))
    })
    return HttpRouter.empty.pipe(
      HttpRouter.get("/", serve("index.html", "no-cache")),
      HttpRouter.get("/index.html", serve("index.html", "no-cache")),
      HttpRouter.get("/assets/:name", asset)
    )
  })
