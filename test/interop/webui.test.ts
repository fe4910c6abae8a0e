/**
 * The web UI in a real browser: Debian's chromium, driven by playwright-core, against the built `bin/bt.js daemon`
 * and libtorrent seeders found through opentracker, all on 127.0.0.1. A user adds a .torrent by the file input and
 * a magnet by paste, choosing their files first (one file left out), watches both reach 100 %, checks the disk,
 * opens the details (open links, options), moves one in the queue, stops and starts one, and removes them (one with
 * its data, checked on disk). A file's Open link is followed behind --rpc-auth: its bytes and a range match the file, and
 * an MP4 made by ffmpeg plays in the tab it opens. Also: the page behind --rpc-auth asks for credentials (and refuses wrong ones), a
 * hostile torrent name shows as text, 1,000 torrents and 50,000 hostile file names in windowed lists, labels,
 * settings, a 409 mid-session, a daemon restart mid-session, the same page served by transmission-daemon (where
 * choosing files works), and no request leaves the daemon's origin.
 */
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { mkdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, expect, test, vi } from "vitest"
import {
  btArgs,
  freePort,
  interopSuite,
  lt,
  type FileSpec,
  type LtInfo,
  repoRoot,
  run,
  spawnTracked,
  startLtSeeder,
  startOpentracker,
  type Tracked,
  tempDir,
  writeFiles
} from "./harness.js"
import { describeProc, hashFiles } from "./leechers.js"
import { encode } from "../../src/bencode/index.js"

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

const addViaDialog = async (page: Page, fill: (page: Page) => Promise<void>, screenshot?: string, submit = "Add") => {
  await page.getByRole("button", { name: "Add…" }).click()
  const dialog = page.getByRole("dialog", { name: "Add torrents" })
  await expect.poll(() => dialog.isVisible()).toBe(true)
  await fill(page)
  if (screenshot !== undefined) await shoot(page, screenshot)
  await dialog.getByRole("button", { name: submit, exact: true }).click()
  await dialog.waitFor({ state: "hidden", timeout: 10_000 })
}

/**
 * Adds through the dialog with "Choose the files first": returns the second step's dialog, once it shows the
 * files of every torrent added (a magnet's once its metadata arrived).
 */
const addChoosing = async (page: Page, fill: (page: Page) => Promise<void>, firstFile: ReadonlyArray<string>) => {
  await addViaDialog(page, async (p) => {
    await fill(p)
    await p.getByLabel("Choose the files first").check()
  }, undefined, "Next")
  const choose = page.getByRole("dialog", { name: "Choose files" })
  for (const path of firstFile) await choose.getByRole("checkbox", { name: `Download ${path}`, exact: true }).waitFor({ timeout: 30_000 })
  return choose
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

/** One RPC call from Node, with the 409 dance; the reply's arguments (fails on anything but success). */
const rpcCall = async (base: string, method: string, args: Record<string, unknown> = {}) => {
  const url = `${base}transmission/rpc`
  const body = JSON.stringify({ method, arguments: args })
  const first = await fetch(url, { method: "POST", body })
  const session = first.headers.get("X-Transmission-Session-Id") ?? ""
  const reply = (await (await fetch(url, { method: "POST", headers: { "X-Transmission-Session-Id": session }, body })).json()) as {
    result: string
    arguments: Record<string, unknown>
  }
  if (reply.result !== "success") throw new Error(`${method}: ${reply.result}`)
  return reply.arguments
}

/** A v1 .torrent's bytes (base64) with made-up piece hashes: enough to add stopped, never to download. */
const fakeTorrent = (name: string, files: ReadonlyArray<readonly [ReadonlyArray<string>, number]>, seed: number) => {
  const total = files.reduce((sum, [, length]) => sum + length, 0)
  const pieceLength = 1 << 20
  const pieces = new Uint8Array(20 * Math.max(1, Math.ceil(total / pieceLength))).map((_, i) => (i * 31 + seed) & 255)
  const info = files.length === 1 && files[0]![0].length === 0
    ? { name, length: total, "piece length": pieceLength, pieces }
    : { name, files: files.map(([path, length]) => ({ length, path: [...path] })), "piece length": pieceLength, pieces }
  return Buffer.from(encode({ info })).toString("base64")
}

// A browser, a daemon or two and a page's many steps: ~15-25 s each on a quiet machine, several times that at a
// load average of 12 on 2 cores (one took past the interop suite's 120 s there). Each step has its own bound.
vi.setConfig({ testTimeout: 240_000 })

interopSuite("the web UI in chromium against bt daemon (and transmission-daemon)", ["libtorrent", "opentracker", "chromium", "transmission-daemon", "ffmpeg"], () => {
  let browser: Browser
  let work: string
  let one: Payload
  let two: Payload
  let tracker: Awaited<ReturnType<typeof startOpentracker>>
  let contexts: Array<BrowserContext> = []

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian's chromium package)`).toBe(true)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: 30_000 })
    work = await tempDir()
    tracker = await startOpentracker(join(work, "tracker"), [], { scope: "suite" })
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

    // The folder torrent by the file input, its files chosen before it starts: b.bin left out, a.bin first.
    const rpc = (body: string) => rpcFromPage(page, "transmission/rpc", body)
    const held = async (name: string, fields: ReadonlyArray<string>) => {
      const reply = await rpc(JSON.stringify({ method: "torrent-get", arguments: { fields: ["name", ...fields] } }))
      return (reply["torrents"] as Array<Record<string, unknown>>).find((t) => t["name"] === name)
    }
    const chooseAlbum = await addChoosing(page, (p) => p.locator('input[type="file"]').setInputFiles(one.torrent), ["album/b.bin"])
    await chooseAlbum.getByRole("checkbox", { name: "Download album/b.bin", exact: true }).uncheck()
    await chooseAlbum.getByRole("combobox", { name: "Priority of album/a.bin" }).selectOption("1")
    expect(await chooseAlbum.getByRole("checkbox", { name: "Download album", exact: true }).getAttribute("aria-checked")).toBe("mixed")
    // Nothing has started while the files are being chosen.
    expect(await held("album", ["status", "wanted"])).toEqual({ name: "album", status: 0, wanted: [1, 1] })
    await shoot(page, "add")
    await chooseAlbum.getByRole("button", { name: "Start", exact: true }).click()
    await chooseAlbum.waitFor({ state: "hidden", timeout: 10_000 })
    expect(await held("album", ["priorities", "wanted"])).toEqual({ name: "album", priorities: [1, 0], wanted: [1, 0] })

    // The magnet by paste, its files chosen once the metadata arrived (bt fetches it for a magnet added stopped,
    // and no data): it stays stopped with nothing on disk until started.
    const magnet = `magnet:?xt=urn:btih:${two.info.info_hash}&dn=two.bin&tr=${encodeURIComponent(one.info.trackers[0]!.url)}`
    const chooseTwo = await addChoosing(page, (p) => p.getByLabel("Magnet links or URLs, one a line").fill(magnet), ["two.bin"])
    await expect.poll(() => held("two.bin", ["status"]), { timeout: 10_000 }).toEqual({ name: "two.bin", status: 0 })
    expect(existsSync(join(d.downloadDir, "two.bin"))).toBe(false)
    await chooseTwo.getByRole("button", { name: "Start", exact: true }).click()
    await chooseTwo.waitFor({ state: "hidden", timeout: 10_000 })

    for (const name of ["album", "two.bin"]) {
      try {
        await row(page, name).getByText("100 %").waitFor({ timeout: 60_000 })
      } catch (error) {
        throw new Error(`${name} did not reach 100 % in the page: ${await page.locator("tbody").innerText()}\n${describeProc("bt daemon", d.proc)}`, { cause: error })
      }
    }
    // On disk: a.bin whole, b.bin never written (the piece it shares with a.bin goes to a part file), two.bin whole.
    expect(await hashFiles(d.downloadDir, one.spec.slice(0, 1))).toEqual({ "album/a.bin": one.hash["album/a.bin"] })
    expect(existsSync(join(d.downloadDir, "album/b.bin"))).toBe(false)
    expect(await hashFiles(d.downloadDir, two.spec)).toEqual(two.hash)
    await expect.poll(() => row(page, "two.bin").locator("td.status").innerText(), { timeout: 10_000 }).toBe("Seeding")

    // Details of the magnet's torrent: general, files, trackers.
    await row(page, "two.bin").locator("td.name button").click()
    const twoDetails = page.getByRole("region", { name: "Details of two.bin" })
    await twoDetails.getByText(two.info.info_hash).waitFor({ timeout: 10_000 })
    expect(await twoDetails.getByLabel("Magnet link").inputValue()).toContain(two.info.info_hash)
    await twoDetails.getByRole("tab", { name: "Files" }).click()
    await twoDetails.getByRole("checkbox", { name: "Download two.bin" }).waitFor()
    // The open link of each file is the daemon's stream URL, behind the same origin and auth as the page.
    const openLink = twoDetails.getByRole("link", { name: "Open two.bin" })
    expect(await openLink.evaluate((a) => (a as unknown as { href: string }).href)).toBe(`${d.base}stream/${two.info.info_hash}/0`)
    // Its own options: speed limits and seed ratio, sent with torrent-set.
    await twoDetails.getByRole("tab", { name: "Options" }).click()
    await twoDetails.getByLabel("Use: Download limit (kB/s)").check()
    await twoDetails.getByLabel("Download limit (kB/s)", { exact: true }).fill("700")
    await twoDetails.getByLabel("Stop seeding at a ratio").selectOption("1")
    await twoDetails.getByLabel("Its own ratio").fill("1.5")
    await twoDetails.getByRole("button", { name: "Save options" }).click()
    await expect.poll(() => held("two.bin", ["downloadLimit", "downloadLimited", "seedRatioMode", "seedRatioLimit"]), { timeout: 10_000 })
      .toEqual({ name: "two.bin", downloadLimit: 700, downloadLimited: true, seedRatioMode: 1, seedRatioLimit: 1.5 })
    await twoDetails.getByRole("tab", { name: "Trackers" }).click()
    await twoDetails.getByText(two.info.trackers[0]!.url, { exact: false }).waitFor()
    await twoDetails.getByRole("button", { name: "Close details" }).click()
    await shoot(page, "list")
    // The album's files as the details show them (the screenshot): b.bin left out, an open link on each file.
    await row(page, "album").locator("td.name button").click()
    const albumDetails = page.getByRole("region", { name: "Details of album" })
    await albumDetails.getByRole("tab", { name: "Files" }).click()
    await expect.poll(() => albumDetails.getByRole("checkbox", { name: "Download album/b.bin" }).isChecked(), { timeout: 10_000 }).toBe(false)
    await albumDetails.getByRole("link", { name: "Open album/a.bin" }).waitFor()
    await shoot(page, "details")
    await albumDetails.getByRole("button", { name: "Close details" }).click()

    // Queue moves from the toolbar: two.bin (added second) to the top, then down again.
    expect([(await held("album", ["queuePosition"]))?.["queuePosition"], (await held("two.bin", ["queuePosition"]))?.["queuePosition"]]).toEqual([0, 1])
    await row(page, "two.bin").locator("td.status").click()
    await page.getByRole("button", { name: "Move to the top of the queue" }).click()
    await expect.poll(async () => (await held("two.bin", ["queuePosition"]))?.["queuePosition"], { timeout: 10_000 }).toBe(0)
    await page.getByRole("button", { name: "Move down the queue" }).click()
    await expect.poll(async () => (await held("two.bin", ["queuePosition"]))?.["queuePosition"], { timeout: 10_000 }).toBe(1)

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

  test("a file's Open link streams it behind the page's credentials: its bytes, ranges, and a video chromium plays", async () => {
    const d = await startDaemon(["--rpc-auth", "alice:s3cret"])
    // A folder torrent: a short H.264 MP4 (no faststart: its index at the end, as in many real files) and a file
    // before it, so the link's index matters.
    const src = join(work, "src-34")
    await writeFiles(src, [{ path: "clips/notes.bin", size: 100_003 }], 34)
    const made = await run("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=25", "-c:v", "libx264",
      "-preset", "ultrafast", "-pix_fmt", "yuv420p", join(src, "clips", "clip.mp4")
    ], { timeoutMs: 60_000 })
    expect(made.code, made.stderr).toBe(0)
    const torrent = join(work, "34.torrent")
    const info = (await lt(["create", join(src, "clips"), "--out", torrent, "--piece-length", "32768", "--tracker", tracker.httpUrl])) as LtInfo
    await tracker.allow([info.info_hash])
    await startLtSeeder({ torrent, save: src, trackerAnnounce: true })
    const clip = await readFile(join(src, "clips", "clip.mp4"))

    const { errors, foreign, page } = await open(d.base, { httpCredentials: { username: "alice", password: "s3cret" } })
    await page.goto(d.base)
    await addViaDialog(page, (p) => p.locator('input[type="file"]').setInputFiles(torrent))
    await row(page, "clips").getByText("100 %").waitFor({ timeout: 60_000 }).catch(async (error) => {
      throw new Error(`clips did not reach 100 %: ${await page.locator("tbody").innerText()}\n${describeProc("bt daemon", d.proc)}`, { cause: error })
    })
    await row(page, "clips").locator("td.name button").click()
    const details = page.getByRole("region", { name: "Details of clips" })
    await details.getByRole("tab", { name: "Files" }).click()
    const link = details.getByRole("link", { name: "Open clips/clip.mp4" })
    await link.waitFor({ timeout: 10_000 })
    const href = await link.evaluate((a) => (a as unknown as { href: string }).href)
    expect(href.startsWith(d.base)).toBe(true)

    // Fetched by the page (its origin, its credentials): the whole file, and a range from its end (where the index is).
    const fetched = await page.evaluate(async (href) => {
      const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("")
      const whole = await fetch(href)
      const body = await whole.arrayBuffer()
      const tail = await fetch(href, { headers: { Range: "bytes=-1000" } })
      return {
        status: whole.status,
        type: whole.headers.get("content-type"),
        length: body.byteLength,
        sha1: hex(await crypto.subtle.digest("SHA-1", body)),
        tailStatus: tail.status,
        tailRange: tail.headers.get("content-range"),
        tail: hex(await tail.arrayBuffer())
      }
    }, href)
    expect(fetched).toEqual({
      status: 200,
      type: "video/mp4",
      length: clip.length,
      sha1: createHash("sha1").update(clip).digest("hex"),
      tailStatus: 206,
      tailRange: `bytes ${clip.length - 1000}-${clip.length - 1}/${clip.length}`,
      tail: clip.subarray(clip.length - 1000).toString("hex")
    })
    // Without the credentials the stream is refused like the page.
    expect((await fetch(href)).status).toBe(401)

    // Followed in chromium: the link opens a new tab, a media document whose <video> learns the duration and plays.
    const [tab] = await Promise.all([page.context().waitForEvent("page", { timeout: 10_000 }), link.click()])
    await tab!.waitForLoadState("domcontentloaded")
    const video = tab!.locator("video")
    await video.waitFor({ state: "attached", timeout: 10_000 })
    await expect.poll(() => video.evaluate((v) => (v as unknown as { duration: number }).duration), { timeout: 20_000 }).toBeCloseTo(3, 0)
    await video.evaluate((v) => {
      const media = v as unknown as { muted: boolean; play: () => Promise<void> }
      media.muted = true
      return media.play()
    })
    await expect.poll(() => video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime), { timeout: 20_000 }).toBeGreaterThan(0)
    expect(await video.evaluate((v) => (v as unknown as { error: unknown }).error)).toBeNull()
    await tab!.close()
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
  })

  test("1,000 torrents and one of 50,000 files with hostile names: windowed lists, by keyboard, text as text", async () => {
    const d = await startDaemon()
    const COUNT = 1000
    const started = Date.now()
    // Added stopped over the RPC, a few at once.
    for (let i = 0; i < COUNT; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, COUNT - i) }, (_, k) =>
        rpcCall(d.base, "torrent-add", { metainfo: fakeTorrent(`bulk-${i + k}.bin`, [[[], 1000 + i + k]], i + k), paused: true })))
    }
    const hostile = [
      `<img src=x onerror="window.__xss=2">.bin`,
      "ctl\u0001\u001b[31m\u007f.bin",
      "\u202eevil\u2066.exe.bin",
      "zwj 👩‍👩‍👧 e\u0301 \ud800x.bin",
      "<svg onload=window.__xss=3>.bin"
    ]
    const files: Array<readonly [ReadonlyArray<string>, number]> = [
      ...Array.from({ length: 50_000 - hostile.length }, (_, i) => [[`d${i % 100}`, `f${i}.bin`], 1] as const),
      ...hostile.map((name) => [["odd", name], 2] as const)
    ]
    const many = await rpcCall(d.base, "torrent-add", { metainfo: fakeTorrent("many", files, 7), paused: true })
    const manyId = (many["torrent-added"] as { id: number }).id
    console.log(`webui: ${COUNT} torrents and one of 50,000 files added over the RPC in ${Date.now() - started} ms`)

    const { errors, foreign, page } = await open(d.base)
    await page.goto(d.base)
    const opened = Date.now()
    await page.getByText(`${COUNT + 1} of ${COUNT + 1}`).waitFor({ timeout: 30_000 })
    console.log(`webui: the list of ${COUNT + 1} shown ${Date.now() - opened} ms after the page opened`)
    // Measured (printed, not asserted): the page's script time and the daemon's CPU over five polls of the list.
    const cdp = await page.context().newCDPSession(page)
    await cdp.send("Performance.enable")
    const scriptSeconds = async () =>
      (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "ScriptDuration")?.value ?? 0
    const daemonTicks = async () => {
      const fields = (await readFile(`/proc/${d.proc.child.pid}/stat`, "utf8")).split(") ")[1]!.split(" ")
      return Number(fields[11]) + Number(fields[12])
    }
    const measure = async (what: string, calls: number) => {
      let seen = 0
      const counting = (response: { url: () => string }) => {
        if (response.url().endsWith("/transmission/rpc")) seen++
      }
      const [script0, ticks0, at0] = [await scriptSeconds(), await daemonTicks(), Date.now()]
      page.on("response", counting)
      await expect.poll(() => seen, { timeout: 60_000, interval: 500 }).toBeGreaterThanOrEqual(calls)
      page.off("response", counting)
      const seconds = (Date.now() - at0) / 1000
      console.log(`webui: ${what}, ${seen} RPC calls in ${seconds.toFixed(1)} s: page script ` +
        `${((await scriptSeconds()) - script0).toFixed(3)} s, daemon CPU ${(((await daemonTicks()) - ticks0) / 100).toFixed(2)} s`)
    }
    // Each poll of the list is torrent-get and session-stats (and now and then session-get and free-space).
    await measure(`the list of ${COUNT + 1} torrents`, 10)
    const rendered = () => page.locator(".list tbody tr[data-id]").count()
    expect(await rendered()).toBeLessThan(80)
    expect(await page.locator(".list table").getAttribute("aria-rowcount")).toBe(String(COUNT + 2))

    // By keyboard: End goes to the last torrent (rendered and focused), Home back to the first.
    const focused = () => page.evaluate<string>(`(document.activeElement?.getAttribute("aria-rowindex") ?? "") + " " + document.activeElement?.textContent`)
    const first = await page.locator(".list tbody tr[data-id] td.name").first().innerText()
    await page.locator(".list tbody tr[data-id] td.status").first().click()
    await page.keyboard.press("End")
    await expect.poll(focused, { timeout: 10_000 }).toMatch(new RegExp(`^${COUNT + 2} many`))
    expect(await row(page, first).count()).toBe(0)
    await page.keyboard.press("Home")
    await expect.poll(focused, { timeout: 10_000 }).toMatch(/^2 bulk-/)
    expect(await focused()).toContain(first)
    // Page Down moves the focus a screenful (fewer rows than the page holds, more than a few).
    await page.keyboard.press("PageDown")
    await expect.poll(async () => Number((await focused()).split(" ")[0]), { timeout: 10_000 }).toBeGreaterThan(6)
    expect(Number((await focused()).split(" ")[0])).toBeLessThan(30)
    // Scrolled to the middle: the rows there are rendered, the first ones are not.
    await page.locator(".list").evaluate((element) => (element.scrollTop = 600 * 40))
    await expect.poll(() => page.locator(".list tbody tr[data-id]").first().getAttribute("aria-rowindex"), { timeout: 10_000 })
      .toMatch(/^5\d\d$/)
    expect(await row(page, first).count()).toBe(0)
    expect(await rendered()).toBeLessThan(80)

    // The 50,000 files: the whole tree is there to scroll, a few dozen rows in the page.
    await page.getByRole("searchbox", { name: "Search torrents by name" }).fill("many")
    await page.getByText(`1 of ${COUNT + 1}`).waitFor({ timeout: 10_000 })
    const tabOpened = Date.now()
    await row(page, "many").locator("td.name button").click()
    const details = page.getByRole("region", { name: "Details of many" })
    await details.getByRole("tab", { name: "Files" }).click()
    await details.getByRole("checkbox", { name: "Download many", exact: true }).waitFor({ timeout: 30_000 })
    console.log(`webui: the tree of 50,000 files shown ${Date.now() - tabOpened} ms after the details opened`)
    // The details poll the files' progress every 2 s beside the list's calls.
    await measure("the list and the Files tab of 50,000 files open", 10)
    // Rows: the root, 100 folders and "odd", and every file.
    expect(await details.locator(".tree table").getAttribute("aria-rowcount")).toBe(String(1 + 1 + 101 + 50_000))
    expect(await details.locator(".tree tbody tr:not(.space)").count()).toBeLessThan(80)
    await details.locator(".tree").evaluate((element) => (element.scrollTop = element.scrollHeight))
    await details.getByRole("checkbox", { name: "Download many/odd", exact: true }).waitFor({ timeout: 10_000 })

    // The hostile names, found by the search, are shown as the text they are; a file left out reaches the daemon.
    await details.getByRole("searchbox", { name: "Search files" }).fill("odd/")
    for (const name of hostile) {
      expect(await details.locator("td.path", { hasText: name.slice(0, 3) }).first().getAttribute("title")).toContain(name.slice(0, 3))
    }
    expect(await details.locator("td.path", { hasText: "onerror" }).innerText()).toBe(hostile[0])
    expect(await page.locator(".tree img, .tree svg, .list img").count()).toBe(0)
    expect(await page.evaluate("window.__xss")).toBeUndefined()
    await details.getByRole("checkbox", { name: `Download many/odd/${hostile[0]}`, exact: true }).uncheck()
    await expect.poll(async () => {
      const reply = await rpcCall(d.base, "torrent-get", { ids: [manyId], fields: ["wanted"] })
      const wanted = (reply["torrents"] as Array<{ wanted: Array<number> }>)[0]!.wanted
      return [wanted.length, wanted.indexOf(0)]
    }, { timeout: 10_000 }).toEqual([50_000, 50_000 - hostile.length])
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
  }, 240_000)

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
    // A call that meets a 409 mid-session (here: its session id taken off on the way) learns the id and is sent
    // again at once, with no error shown.
    const statuses: Array<number> = []
    page.on("response", (response) => {
      if (response.url().endsWith("/transmission/rpc")) statuses.push(response.status())
    })
    let stripped = 0
    await page.route("**/transmission/rpc", (route) => {
      if (stripped++ > 0) return route.fallback()
      const headers = { ...route.request().headers() }
      delete headers["x-transmission-session-id"]
      return route.fallback({ headers })
    })
    await expect.poll(() => statuses.join(" "), { timeout: 10_000 }).toMatch(/(^| )409 200( |$)/)
    expect(await page.getByRole("alert").count()).toBe(0)
    d.proc.child.kill("SIGTERM")
    const stopped = await Promise.race([
      new Promise((resolve) => d.proc.child.once("exit", () => resolve(true))),
      sleep(20_000).then(() => false)
    ])
    expect(stopped, `bt daemon still running 20 s after SIGTERM: ${d.proc.stderr()}`).toBe(true)
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
