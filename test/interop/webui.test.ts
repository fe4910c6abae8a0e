/**
 * The web UI in a real browser: Debian's chromium, driven by playwright-core, against the built `bin/bt.js daemon`
 * and libtorrent seeders found through opentracker, all on 127.0.0.1. A user adds a .torrent by the file input and
 * a magnet by paste, watches both reach 100 %, stops and starts one, opens its details, and removes them (one with
 * its data, checked on disk). Also: the page behind --rpc-auth asks for credentials, a hostile torrent name shows
 * as text, labels, settings, a daemon restart mid-session, the same page served by transmission-daemon (where
 * choosing files works), and no request leaves the daemon's origin.
 */
import { existsSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, expect, test } from "vitest"
import {
  btArgs,
  freePort,
  interopSuite,
  lt,
  type FileSpec,
  type LtInfo,
  repoRoot,
  spawnTracked,
  startLtSeeder,
  startOpentracker,
  type Tracked,
  tempDir,
  writeFiles
} from "./harness.js"
import { describeProc, hashFiles } from "./leechers.js"

const CHROMIUM = "/usr/bin/chromium"
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface Payload {
  readonly torrent: string
  readonly info: LtInfo
  readonly spec: ReadonlyArray<FileSpec>
  readonly hash: Record<string, string>
}

/**
 * Files of pseudo-random bytes under `work/src-SEED/` (their paths start with the torrent's name: one file, or a
 * folder of files) and a v1 torrent of `root` announcing to `tracker`.
 */
const payload = async (work: string, root: string, spec: ReadonlyArray<FileSpec>, seed: number, tracker: string) => {
  const src = join(work, `src-${seed}`)
  await writeFiles(src, spec, seed)
  const torrent = join(work, `${seed}.torrent`)
  const info = (await lt(["create", join(src, root), "--out", torrent, "--piece-length", "32768", "--tracker", tracker])) as LtInfo
  return { payload: { torrent, info, spec, hash: await hashFiles(src, spec) } satisfies Payload, src }
}

interface Daemon {
  readonly base: string
  readonly dir: string
  readonly rpcPort: number
  readonly downloadDir: string
  readonly proc: Tracked
}

/**
 * The built `bin/bt.js daemon` on fresh ports (or the RPC port given), no DHT, state and data in a temp folder (or
 * the one given); resolves once it serves.
 */
const startDaemon = async (extra: ReadonlyArray<string> = [], at?: { dir: string; rpcPort: number }): Promise<Daemon> => {
  const dir = at?.dir ?? (await tempDir())
  const downloadDir = join(dir, "data")
  await mkdir(downloadDir, { recursive: true })
  const rpcPort = at?.rpcPort ?? (await freePort())
  const proc = spawnTracked(process.execPath, btArgs([
    "daemon", "--rpc-port", String(rpcPort), "--rpc-bind", "127.0.0.1", "--port", String(await freePort()),
    "--no-dht", "--state-dir", join(dir, "state"), "--download-dir", downloadDir, ...extra
  ]))
  const deadline = Date.now() + 20_000
  while (!proc.stderr().includes("web UI at")) {
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`bt daemon did not start: ${proc.stderr()}`)
    await sleep(200)
  }
  return { base: `http://127.0.0.1:${rpcPort}/`, dir, rpcPort, downloadDir, proc }
}

/** A browser context that refuses, and records, every request not to `base`. */
const isolatedContext = async (browser: Browser, base: string, options: Parameters<Browser["newContext"]>[0] = {}) => {
  const context = await browser.newContext(options)
  const foreign: Array<string> = []
  await context.route("**/*", (route) => {
    const url = route.request().url()
    if (url.startsWith(base) || url.startsWith("data:")) return route.continue()
    foreign.push(url)
    return route.abort()
  })
  context.on("request", (request) => {
    const url = request.url()
    if (!url.startsWith(base) && !url.startsWith("data:")) foreign.push(url)
  })
  return { context, foreign }
}

/** With BT_WEBUI_SCREENSHOTS=1 the run saves the README's screenshots into docs/ (never otherwise). */
const shoot = async (page: Page, name: string) => {
  if (process.env.BT_WEBUI_SCREENSHOTS === "1") await page.screenshot({ path: join(repoRoot, "docs", `webui-${name}.png`) })
}

const row = (page: Page, name: string) => page.locator("tbody tr", { hasText: name })

const addViaDialog = async (page: Page, fill: (page: Page) => Promise<void>, screenshot?: string) => {
  await page.getByRole("button", { name: "Add…" }).click()
  const dialog = page.getByRole("dialog", { name: "Add torrents" })
  await expect.poll(() => dialog.isVisible()).toBe(true)
  await fill(page)
  if (screenshot !== undefined) await shoot(page, screenshot)
  await dialog.getByRole("button", { name: "Add", exact: true }).click()
  await dialog.waitFor({ state: "hidden", timeout: 10_000 })
}

/** Adds a .torrent file through the dialog, stopped. */
const addPaused = (page: Page, torrent: string) =>
  addViaDialog(page, async (p) => {
    await p.locator('input[type="file"]').setInputFiles(torrent)
    await p.getByLabel("Start when added").uncheck()
  })

/** One RPC call made by the page itself (its origin, its credentials), with the 409 dance; the reply's arguments. */
const rpcFromPage = (page: Page, url: string, body: string): Promise<Record<string, unknown>> =>
  page.evaluate(async ([url, body]) => {
    const call = (id: string) => fetch(url, { method: "POST", headers: { "X-Transmission-Session-Id": id }, body })
    const first = await call("")
    const reply = await call(first.headers.get("X-Transmission-Session-Id") ?? "")
    return ((await reply.json()) as { arguments: Record<string, unknown> }).arguments
  }, [url, body] as const)

interopSuite("the web UI in chromium against bt daemon (and transmission-daemon)", ["libtorrent", "opentracker", "chromium", "transmission-daemon"], () => {
  let browser: Browser
  let work: string
  let one: Payload
  let two: Payload
  let contexts: Array<BrowserContext> = []

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian's chromium package)`).toBe(true)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: 30_000 })
    work = await tempDir()
    const tracker = await startOpentracker(join(work, "tracker"), [], { scope: "suite" })
    const a = await payload(work, "album", [{ path: "album/a.bin", size: 700_001 }, { path: "album/b.bin", size: 300_007 }], 31, tracker.httpUrl)
    const b = await payload(work, "two.bin", [{ path: "two.bin", size: 500_003 }], 32, tracker.httpUrl)
    one = a.payload
    two = b.payload
    await tracker.allow([one.info.info_hash, two.info.info_hash])
    await startLtSeeder({ torrent: one.torrent, save: a.src, trackerAnnounce: true, scope: "suite" })
    await startLtSeeder({ torrent: two.torrent, save: b.src, trackerAnnounce: true, scope: "suite" })
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined)
    await browser?.close()
  })

  const open = async (base: string, options: Parameters<Browser["newContext"]>[0] = {}) => {
    const made = await isolatedContext(browser, base, options)
    contexts.push(made.context)
    const page = await made.context.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    return { page, foreign: made.foreign, errors }
  }

  test("add by file and by magnet, watch both to 100 %, stop, start, details, remove with and without data", async () => {
    const d = await startDaemon()
    const { errors, foreign, page } = await open(d.base)
    const response = await page.goto(d.base)
    expect(response?.status()).toBe(200)
    await page.getByText("0 of 0").waitFor({ timeout: 10_000 })

    // The folder torrent by the file input, added stopped. Its files' choices are live: a priority set in the page
    // is what bt holds (skipping a file is tested with the CLI and the Client; here every file is fetched).
    await addPaused(page, one.torrent)
    await row(page, "album").locator("td.name button").click()
    const details = page.getByRole("region", { name: "Details of album" })
    await details.getByRole("tab", { name: "Files" }).click()
    const fileB = details.getByRole("checkbox", { name: "Download album/b.bin" })
    await fileB.waitFor({ timeout: 10_000 })
    expect([await fileB.isChecked(), await fileB.isEnabled()]).toEqual([true, true])
    await details.getByRole("combobox", { name: "Priority of album/a.bin" }).selectOption("1")
    await expect.poll(async () => {
      const reply = await rpcFromPage(page, "/transmission/rpc", '{"method":"torrent-get","arguments":{"fields":["name","priorities","wanted"]}}')
      return (reply["torrents"] as Array<Record<string, unknown>>).find((t) => t["name"] === "album")
    }, { timeout: 10_000 }).toEqual({ name: "album", priorities: [1, 0], wanted: [1, 1] })
    expect(await row(page, "album").locator("td.status").innerText()).toBe("Stopped")
    await row(page, "album").locator("td.status").click()
    await page.getByRole("toolbar").getByRole("button", { name: "Start" }).click()

    const magnet = `magnet:?xt=urn:btih:${two.info.info_hash}&dn=two.bin&tr=${encodeURIComponent(one.info.trackers[0]!.url)}`
    await addViaDialog(page, (p) => p.getByLabel("Magnet links or URLs, one a line").fill(magnet), "add")

    for (const name of ["album", "two.bin"]) {
      try {
        await row(page, name).getByText("100 %").waitFor({ timeout: 60_000 })
      } catch (error) {
        throw new Error(`${name} did not reach 100 % in the page: ${await page.locator("tbody").innerText()}\n${describeProc("bt daemon", d.proc)}`, { cause: error })
      }
    }
    expect(await hashFiles(d.downloadDir, one.spec)).toEqual(one.hash)
    expect(await hashFiles(d.downloadDir, two.spec)).toEqual(two.hash)
    await expect.poll(() => row(page, "two.bin").locator("td.status").innerText(), { timeout: 10_000 }).toBe("Seeding")

    // Details of the magnet's torrent: general, files, trackers.
    await row(page, "two.bin").locator("td.name button").click()
    const twoDetails = page.getByRole("region", { name: "Details of two.bin" })
    await twoDetails.getByText(two.info.info_hash).waitFor({ timeout: 10_000 })
    expect(await twoDetails.getByLabel("Magnet link").inputValue()).toContain(two.info.info_hash)
    await shoot(page, "details")
    await twoDetails.getByRole("tab", { name: "Files" }).click()
    await twoDetails.getByRole("checkbox", { name: "Download two.bin" }).waitFor()
    await twoDetails.getByRole("tab", { name: "Trackers" }).click()
    await twoDetails.getByText(two.info.trackers[0]!.url, { exact: false }).waitFor()
    await twoDetails.getByRole("button", { name: "Close details" }).click()
    await shoot(page, "list")

    // "/" goes to the search box; the list narrows to what matches.
    await page.locator("body").press("/")
    await page.keyboard.type("two")
    await page.getByText("1 of 2").waitFor()
    await page.getByRole("searchbox").fill("")
    await page.getByText("2 of 2").waitFor()

    // Verify from the toolbar: the data checks out and it seeds again.
    await row(page, "two.bin").locator("td.status").click()
    await page.getByRole("toolbar").getByRole("button", { name: "Verify" }).click()
    await expect.poll(() => row(page, "two.bin").locator("td.status").innerText(), { timeout: 20_000 }).toBe("Seeding")
    await row(page, "two.bin").getByText("100 %").waitFor({ timeout: 10_000 })

    // Stop and start by selection and the toolbar.
    await row(page, "two.bin").locator("td.status").click()
    await page.getByRole("toolbar").getByRole("button", { name: "Stop" }).click()
    await expect.poll(() => row(page, "two.bin").locator("td.status").innerText(), { timeout: 10_000 }).toBe("Finished")
    await page.getByRole("toolbar").getByRole("button", { name: "Start" }).click()
    await expect.poll(() => row(page, "two.bin").locator("td.status").innerText(), { timeout: 10_000 }).toBe("Seeding")

    // Keyboard: the row has focus after the click; Delete opens the remove dialog for it.
    await row(page, "two.bin").locator("td.status").click()
    await page.keyboard.press("Delete")
    const remove = page.getByRole("dialog", { name: "Remove torrents" })
    await remove.getByLabel("Also delete the downloaded data from disk").check()
    await remove.getByRole("button", { name: "Remove and delete data" }).click()
    await row(page, "two.bin").waitFor({ state: "detached", timeout: 10_000 })
    await expect.poll(() => existsSync(join(d.downloadDir, "two.bin")), { timeout: 10_000 }).toBe(false)

    await row(page, "album").locator("td.status").click()
    await page.getByRole("toolbar").getByRole("button", { name: "Remove…" }).click()
    await remove.getByRole("button", { name: "Remove", exact: true }).click()
    await row(page, "album").waitFor({ state: "detached", timeout: 10_000 })
    expect(existsSync(join(d.downloadDir, one.spec[0]!.path))).toBe(true)
    await page.getByText("0 of 0").waitFor({ timeout: 10_000 })

    expect(foreign).toEqual([])
    expect(errors).toEqual([])
  })

  test("a hostile torrent name shows as text", async () => {
    const d = await startDaemon()
    // No "/" in it: that would make folders. U+202E reverses the text that follows where bidi is not isolated.
    const name = `<img src=x onerror="window.__xss=1">\u202e<b>bold.bin`
    const made = await payload(work, name, [{ path: name, size: 40_000 }], 33, "http://127.0.0.1:1/announce")
    const { errors, foreign, page } = await open(d.base)
    await page.goto(d.base)
    await addViaDialog(page, (p) => p.locator('input[type="file"]').setInputFiles(made.payload.torrent))
    await row(page, "bold").waitFor({ timeout: 10_000 }).catch(async (error) => {
      throw new Error(`no row: ${await page.locator("body").innerText()}\n${describeProc("bt daemon", d.proc)}`, { cause: error })
    })
    expect(await row(page, "bold").locator("td.name button").innerText()).toBe(name)
    expect(await page.evaluate("window.__xss")).toBeUndefined()
    expect(await page.locator("tbody img, tbody b").count()).toBe(0)
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
  })

  test("behind --rpc-auth the page asks for credentials and works with them", async () => {
    const d = await startDaemon(["--rpc-auth", "alice:s3cret"])
    // What makes a browser ask: 401 with a Basic challenge, for the page and its assets alike.
    const bare = await fetch(d.base)
    expect(bare.status).toBe(401)
    expect(bare.headers.get("www-authenticate")).toMatch(/^Basic /)
    // Headless chromium cannot show the prompt: it shows the 401, or fails the navigation once credentials it was
    // given are refused.
    const refused = (page: Page) =>
      page.goto(d.base).then((r) => `status ${r?.status()}`, (e: Error) => e.message)
    const anonymous = await open(d.base)
    expect(await refused(anonymous.page)).toMatch(/status 401|ERR_INVALID_AUTH_CREDENTIALS/)
    expect(await anonymous.page.getByRole("button", { name: "Add…" }).count()).toBe(0)
    const wrong = await open(d.base, { httpCredentials: { username: "alice", password: "nope" } })
    expect(await refused(wrong.page)).toMatch(/status 401|ERR_INVALID_AUTH_CREDENTIALS/)
    const right = await open(d.base, { httpCredentials: { username: "alice", password: "s3cret" } })
    expect((await right.page.goto(d.base))?.status()).toBe(200)
    await right.page.getByText("0 of 0").waitFor({ timeout: 10_000 })
    await expect.poll(() => right.page.getByRole("button", { name: "Settings…" }).isEnabled(), { timeout: 10_000 }).toBe(true)

    // Global settings through the page: the alternative speed toggle and the settings dialog.
    const alt = right.page.getByRole("button", { name: /Alt speed/ })
    expect(await alt.getAttribute("aria-pressed")).toBe("false")
    await alt.click()
    await expect.poll(() => alt.getAttribute("aria-pressed"), { timeout: 10_000 }).toBe("true")
    await right.page.getByRole("button", { name: "Settings…" }).click()
    const settings = right.page.getByRole("dialog", { name: "Settings" })
    await settings.getByLabel("Use: Seed at once").check()
    await settings.getByLabel("Seed at once", { exact: true }).fill("7")
    await settings.getByLabel("Encryption").selectOption("required")
    await settings.getByRole("button", { name: "Save" }).click()
    await settings.waitFor({ state: "hidden" })
    const session = await rpcFromPage(right.page, "transmission/rpc", '{"method":"session-get"}')
    expect([session["seed-queue-enabled"], session["seed-queue-size"], session["encryption"], session["alt-speed-enabled"]])
      .toEqual([true, 7, "required", true])
    expect([...anonymous.foreign, ...wrong.foreign, ...right.foreign]).toEqual([])
  })

  test("labels set and filtered by; a daemon that goes away is said so, and the page picks up (a new session id) when it is back", async () => {
    const d = await startDaemon()
    const { errors, foreign, page } = await open(d.base)
    await page.goto(d.base)
    await addPaused(page, two.torrent)
    await row(page, "two.bin").waitFor({ timeout: 10_000 })
    // Labels set through the page, and the list filtered by one.
    await row(page, "two.bin").locator("td.status").click()
    await page.getByRole("toolbar").getByRole("button", { name: "Labels…" }).click()
    const labels = page.getByRole("dialog", { name: "Labels" })
    await labels.getByRole("textbox").fill("linux, iso")
    await labels.getByRole("button", { name: "Save" }).click()
    await page.getByLabel("Label").locator("option", { hasText: "iso" }).waitFor({ state: "attached", timeout: 10_000 })
    await page.getByLabel("Label").selectOption("iso")
    await page.getByText("1 of 1").waitFor()
    d.proc.child.kill("SIGTERM")
    await new Promise((resolve) => d.proc.child.once("exit", resolve))
    await page.getByRole("alert").filter({ hasText: "cannot reach the daemon" }).waitFor({ timeout: 10_000 })
    await startDaemon([], { dir: d.dir, rpcPort: d.rpcPort })
    await page.getByRole("alert").waitFor({ state: "detached", timeout: 15_000 })
    await row(page, "two.bin").waitFor({ timeout: 10_000 })
    expect(await row(page, "two.bin").locator("td.status").innerText()).toBe("Stopped")
    await page.getByText("1 of 1").waitFor()
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
  })

  test("the same page served by transmission-daemon (TRANSMISSION_WEB_HOME) chooses files there", async () => {
    const dir = await tempDir()
    const rpcPort = await freePort()
    const proc = spawnTracked("transmission-daemon", [
      "-f", "-g", join(dir, "state"), "-p", String(rpcPort), "-P", String(await freePort()), "-w", join(dir, "data"),
      "-T", "-O", "-Y", "-M", "--no-utp", "-a", "127.0.0.1,::1", "-r", "127.0.0.1", "-i", "127.0.0.1",
      "--no-incomplete-dir", "-GSR"
    ], { env: { ...process.env, TRANSMISSION_WEB_HOME: join(repoRoot, "dist", "web") } })
    const base = `http://127.0.0.1:${rpcPort}/transmission/web/`
    const deadline = Date.now() + 20_000
    while ((await fetch(base).then((r) => r.status, () => 0)) !== 200) {
      if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`transmission-daemon: ${proc.stderr()}`)
      await sleep(200)
    }
    const { errors, foreign, page } = await open(`http://127.0.0.1:${rpcPort}/`)
    await page.goto(base)
    await addPaused(page, one.torrent)
    await row(page, "album").locator("td.name button").click()
    const details = page.getByRole("region", { name: "Details of album" })
    await details.getByRole("tab", { name: "Files" }).click()
    const fileB = details.getByRole("checkbox", { name: "Download album/b.bin" })
    expect(await fileB.isEnabled({ timeout: 10_000 })).toBe(true)
    await fileB.uncheck()
    const folder = details.getByRole("checkbox", { name: "Download album", exact: true })
    await expect.poll(() => folder.getAttribute("aria-checked"), { timeout: 10_000 }).toBe("mixed")
    await details.getByRole("combobox", { name: "Priority of album/a.bin" }).selectOption("1")
    await expect.poll(() => details.getByRole("combobox", { name: "Priority of album", exact: true }).inputValue(), { timeout: 10_000 }).toBe("")
    // What the daemon holds now, read over its RPC by the page's own origin.
    const reply = await rpcFromPage(page, "/transmission/rpc", '{"method":"torrent-get","arguments":{"fields":["wanted","priorities"]}}')
    const held = (reply["torrents"] as Array<unknown>)[0]
    expect(held).toEqual({ wanted: [1, 0], priorities: [1, 0] })
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
  })
})
