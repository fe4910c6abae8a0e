import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { encode } from "../../src/bencode/index.js"
import { bt, btBin, linesOf, repoRoot, startBt, workDir } from "./bt.js"

const dir = workDir()
const album = join(dir, "src", "album")
mkdirSync(album, { recursive: true })
writeFileSync(join(album, "one.bin"), Buffer.alloc(300_000, 1))
writeFileSync(join(album, "two.bin"), Buffer.alloc(700_000, 2))
const torrent = join(dir, "album.torrent")
const made = bt(["create", album, "-o", torrent, "--piece-length", "16K"], { cwd: dir })
if (made.code !== 0) throw new Error(`bt create failed: ${made.stderr}`)

/**
 * Starts a download that can't finish (its only peer refuses connections), with one file of two already there;
 * waits for the first stdout line that `ready` accepts, sends SIGINT (or `signal`), and returns what bt printed and
 * its exit code.
 */
const interrupted = (
  name: string,
  extra: ReadonlyArray<string>,
  ready: (line: string) => boolean,
  command: "download" | "stream" = "download",
  signal: NodeJS.Signals = "SIGINT"
) =>
  new Promise<{ code: number | null; stdout: string; stderr: string; out: string }>((resolve, reject) => {
    const out = join(dir, name)
    mkdirSync(join(out, "album"), { recursive: true })
    cpSync(join(album, "one.bin"), join(out, "album", "one.bin"))
    const child = startBt(
      [command, torrent, "-o", out, "--peer", "127.0.0.1:1", "--no-trackers", "--no-dht", "--port", "0", ...extra],
      { cwd: dir }
    )
    let stdout = ""
    let stderr = ""
    let sent = false
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      if (!sent && linesOf(stdout).some(ready)) {
        sent = true
        child.kill(signal)
      }
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("error", reject)
    child.on("exit", (code) => resolve({ code, stdout, stderr, out }))
  })

describe("Ctrl-C", () => {
  it("says how far the download got, how to resume, and where the files are", async () => {
    // Stopped once the line says why nothing moves: before the dial to port 1 is refused it counts 1 peer (on a
    // loaded machine, for a second or more).
    const result = await interrupted("plain", [], (line) => line.includes("%") && line.includes("no peers"))
    const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
    expect(result.code, context).toBe(130)
    const last = linesOf(result.stdout).at(-1)!
    // A hybrid torrent (bt create's default) pads one.bin to a piece boundary: all its 300,000 bytes verify, 30 %.
    expect(last, context).toMatch(/^album: stopped at 30 % \(.*\) — run the same command to resume; files in /)
    expect(last, context).toContain(result.out)
    // While nothing moved, the line said why instead of an ETA of --:--.
    expect(result.stdout, context).toMatch(/\(no peers: no trackers, DHT off\)/)
    expect(result.stderr, context).toBe("")
  }, 60_000)

  it("a hangup (SIGHUP: the SSH session dropped) stops a download as Ctrl-C does, --log-file or not, exit 129", async () => {
    const log = join(dir, "hup.log")
    const result = await interrupted("hup", ["--log-file", log], (line) => line.includes("%"), "download", "SIGHUP")
    const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
    expect(result.code, context).toBe(129)
    const last = linesOf(result.stdout).at(-1)!
    expect(last, context).toMatch(/^album: stopped at 30 % \(.*\) — run the same command to resume; files in /)
    expect(result.stderr, context).toBe("")
  }, 60_000)

  it("bt stream says the same when stopped", async () => {
    const result = await interrupted("stream", ["--http-port", "0"], (line) => line.includes("%"), "stream")
    const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
    expect(result.code, context).toBe(130)
    expect(result.stdout, context).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/stream\//m)
    const last = linesOf(result.stdout).at(-1)!
    expect(last, context).toMatch(/^album: stopped at 30 % \(.*\) — run the same command to resume; files in /)
    expect(last, context).toContain(result.out)
    expect(result.stderr, context).toBe("")
  }, 60_000)

  it("ends JSON progress with a stopped event", async () => {
    const result = await interrupted("json", ["--json"], (line) => line.includes(`"state":"downloading"`))
    const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
    expect(result.code, context).toBe(130)
    const events = linesOf(result.stdout).map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(events.at(-1), context).toMatchObject({ event: "stopped", state: "downloading", bytesVerified: 300_000, directory: result.out })
    expect(events.find((e) => e.event === "progress"), context).toMatchObject({ reason: "no peers: no trackers, DHT off", eta: null })
  }, 60_000)
})

/**
 * Runs `bt ARGS` on a pseudo-terminal (stdin and stdout; stderr on a pipe), closes the terminal once bt has printed
 * progress, and returns bt's exit code and stderr (test/cli/terminalGone.py, run by /usr/bin/python3: Node has no
 * openpty). `controlling`: the terminal is bt's controlling terminal, so the kernel also sends SIGHUP.
 */
const terminalGoneAway = (mode: "controlling" | "plain", args: ReadonlyArray<string>, env: Record<string, string>) => {
  const driver = join(repoRoot, "test", "cli", "terminalGone.py")
  const result = spawnSync("/usr/bin/python3", [driver, mode, process.execPath, btBin, ...args], {
    cwd: dir,
    env,
    encoding: "utf8",
    timeout: 70_000
  })
  if (result.status !== 0) throw new Error(`the terminal driver failed: ${result.stderr}`)
  return JSON.parse(result.stdout) as { code: number | null; seen: boolean; stderr: string }
}

describe("a terminal that goes away (its window closed, its SSH connection dropped)", () => {
  const download = (name: string) => {
    const out = join(dir, name)
    mkdirSync(join(out, "album"), { recursive: true })
    cpSync(join(album, "one.bin"), join(out, "album", "one.bin"))
    const args = ["download", torrent, "-o", out, "--peer", "127.0.0.1:1", "--no-trackers", "--no-dht", "--port", "0"]
    return { args, env: { ...process.env, BT_STATE_DIR: join(dir, `.state-${name}`) } as Record<string, string> }
  }

  // Node 20 died of SIGABRT in both, after bt had stopped, failing to restore the terminal's mode (run.ts).
  it.each([
    ["writes to it fail with EIO: bt stops as on Ctrl-C", 130, "plain"],
    ["as its controlling terminal, it also sends SIGHUP: bt stops", 129, "controlling"]
  ] as const)("%s, exit %i, nothing on stderr", (_, code, mode) => {
    const { args, env } = download(mode)
    const result = terminalGoneAway(mode, args, env)
    expect(result.seen, JSON.stringify(result)).toBe(true)
    expect(result.code, JSON.stringify(result)).toBe(code)
    expect(result.stderr, JSON.stringify(result)).toBe("")
  }, 90_000)
})

describe("Ctrl-C in bt create", () => {
  it("says the torrent was not written, and writes none", async () => {
    // 32 GiB of a sparse file: hashing it outlasts any machine's start-up, and costs no disk.
    const big = join(dir, "create-big")
    mkdirSync(big)
    writeFileSync(join(big, "sparse.bin"), "")
    truncateSync(join(big, "sparse.bin"), 32 * 1024 ** 3)
    const output = join(dir, "big.torrent")
    const child = startBt(["create", join(big, "sparse.bin"), "-o", output], { cwd: dir })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
    // Hashing once it has read 100 MB (Linux counts a process's reads in /proc/PID/io); bounded.
    const read = () => Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${child.pid}/io`, "utf8"))?.[1] ?? 0)
    for (let i = 0; i < 600 && child.exitCode === null && read() < 100_000_000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    child.kill("SIGINT")
    const code = await exited
    const context = `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`
    expect(code, context).toBe(130)
    expect(linesOf(stdout), context).toEqual([`stopped while hashing ${join(big, "sparse.bin")}; ${output} was not written`])
    expect(existsSync(output), context).toBe(false)
  }, 60_000)
})

/**
 * `bt peers` against a tracker on loopback that answers announces at /good and never answers at /slow (nor
 * scrapes), stopped by SIGINT once it has the /good answer; what it printed, its exit code, what the tracker saw.
 */
const peersInterrupted = async (extra: ReadonlyArray<string>) => {
  const requests: Array<string> = []
  let scraped: () => void = () => {}
  const scrapeSeen = new Promise<void>((resolve) => (scraped = resolve))
  const server = createServer((request, response) => {
    const url = request.url ?? ""
    requests.push(url)
    if (url.startsWith("/good/announce")) {
      response.end(encode({ interval: 1800, peers: Buffer.from([10, 0, 0, 7, 0x1a, 0xe1]) }))
    } else if (url.startsWith("/good/scrape")) {
      scraped()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    const output = join(dir, `two-trackers${extra.join("")}.torrent`)
    const made = bt(["create", album, "-o", output, "-t", `${base}/good/announce`, "-t", `${base}/slow/announce`], { cwd: dir })
    expect(made.code, made.stderr).toBe(0)
    const child = startBt(["peers", output, "--timeout", "60", ...extra], { cwd: dir })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
    // bt scrapes a tracker once its announce has answered: then it has something to say. Bounded by the test's timeout.
    await Promise.race([scrapeSeen, exited])
    child.kill("SIGINT")
    const code = await exited
    return { base, code, stdout, stderr, requests, context: `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}` }
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

describe("Ctrl-C in bt peers", () => {
  it("prints what the trackers that answered said, names those that had not, and takes us off the first", async () => {
    const { base, code, context, requests, stderr, stdout } = await peersInterrupted([])
    expect(code, context).toBe(130)
    expect(stdout, context).toMatch(/\/good\/announce: 1 peer, interval 1800 s\n {2}10\.0\.0\.7:6881/)
    expect(linesOf(stdout).at(-1), context).toBe(`stopped: 1 of 2 trackers answered; no answer yet from ${base}/slow/announce`)
    expect(stderr, context).toBe("")
    expect(requests.some((url) => url.startsWith("/good/announce") && url.includes("event=stopped")), context).toBe(true)
  }, 60_000)

  it("--json: one stopped event with the answers so far and the trackers still waited for", async () => {
    const { base, code, context, stderr, stdout } = await peersInterrupted(["--json"])
    expect(code, context).toBe(130)
    const lines = linesOf(stdout)
    expect(lines, context).toHaveLength(1)
    expect(JSON.parse(lines[0]!), context).toMatchObject({
      event: "stopped",
      trackers: [{ url: `${base}/good/announce`, peers: [{ host: "10.0.0.7", port: 6881 }] }],
      waiting: [`${base}/slow/announce`]
    })
    expect(stderr, context).toBe("")
  }, 60_000)
})
