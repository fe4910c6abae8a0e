/**
 * The web UI's routes driven in-process over a FileSystem in memory: content types, caching, the Host and auth
 * checks the RPC has, and no way out of the folder.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import { makeMemoryFileSystem } from "../../src/client/MemoryFileSystem.js"
import * as Rpc from "../../src/rpc/index.js"

const files: Record<string, string> = {
  "/dist/web/index.html": "<!doctype html><title>bt</title>",
  "/dist/web/assets/main-ABC.js": "console.log(1)",
  "/dist/web/assets/main-ABC.css": "body{}",
  "/dist/secret.txt": "not for the web"
}

const handlerFor = (options: Partial<Rpc.WebOptions> = {}, dir = "/dist/web") =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    for (const [path, text] of Object.entries(files)) yield* fs.writeFile(path, new TextEncoder().encode(text))
    const router = yield* Rpc.webRouter({ auth: Option.none(), allowedHosts: Option.some([]), ...options }, dir)
    return HttpApp.toWebHandler(yield* HttpRouter.toHttpApp(router))
  }).pipe(Effect.provideService(FileSystem.FileSystem, makeMemoryFileSystem().fileSystem), Effect.runPromise)

const get = (handler: (r: Request) => Promise<Response>, path: string, headers: Record<string, string> = {}) =>
  handler(new Request(`http://127.0.0.1:9091${path}`, { headers }))

describe("the web UI's routes", () => {
  it("serve the page uncached and the hashed assets cached for good, each with its content type", async () => {
    const handler = await handlerFor()
    const page = await get(handler, "/")
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(page.headers.get("cache-control")).toBe("no-cache")
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'.*connect-src 'self'/)
    expect(page.headers.get("x-content-type-options")).toBe("nosniff")
    expect(await page.text()).toBe(files["/dist/web/index.html"])
    const js = await get(handler, "/assets/main-ABC.js")
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    expect(js.headers.get("cache-control")).toMatch(/immutable/)
    expect((await get(handler, "/assets/main-ABC.css")).headers.get("content-type")).toBe("text/css; charset=utf-8")
  })

  it("answer 404 for anything else, with no way out of the folder", async () => {
    const handler = await handlerFor()
    for (const path of ["/assets/missing.js", "/assets/..%2Fsecret.txt", "/assets/../secret.txt", "/secret.txt"]) {
      const response = await get(handler, path)
      expect(response.status, path).toBe(404)
      expect(await response.text(), path).not.toContain("not for the web")
    }
  })

  it("ask for credentials and refuse foreign Host names, as the RPC does", async () => {
    const handler = await handlerFor({ auth: Option.some({ username: "u", password: "p" }) })
    const anonymous = await get(handler, "/")
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /)
    expect((await get(handler, "/assets/main-ABC.js")).status).toBe(401)
    expect((await get(handler, "/", { authorization: `Basic ${btoa("u:p")}` })).status).toBe(200)
    const open = await handlerFor()
    expect((await get(open, "/", { host: "evil.example:9091" })).status).toBe(421)
    expect((await get(open, "/", { host: "localhost:9091" })).status).toBe(200)
  })

  it("say how to build the page when it is missing", async () => {
    const handler = await handlerFor({}, "/nowhere")
    const response = await get(handler, "/")
    expect(response.status).toBe(404)
    expect(await response.text()).toMatch(/npm run build/)
  })
})
