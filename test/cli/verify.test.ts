import { describe, expect, it } from "@effect/vitest"
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { encode } from "../../src/bencode/index.js"
import { bt, linesOf, startBt, workDir } from "./bt.js"

const dir = workDir()
const album = join(dir, "src", "album")
mkdirSync(album, { recursive: true })
writeFileSync(join(album, "one.bin"), Buffer.alloc(100_000, 1))
writeFileSync(join(album, "two.bin"), Buffer.alloc(70_000, 2))
writeFileSync(join(album, "notes.txt"), "liner notes\n")
const torrent = join(dir, "album.torrent")
const made = bt(["create", album, "-o", torrent, "--piece-length", "16K"], { cwd: dir })
if (made.code !== 0) throw new Error(`bt create failed: ${made.stderr}`)

/** A copy of the album in a folder of its own, changed by `spoil`. */
const copyWith = (name: string, spoil: (root: string) => void): string => {
  const copy = join(dir, name)
  cpSync(join(dir, "src"), copy, { recursive: true })
  spoil(join(copy, "album"))
  return copy
}

const context = (result: ReturnType<typeof bt>) => `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`

describe("bt verify", () => {
  it("passes good data", () => {
    const result = bt(["verify", torrent, "-d", join(dir, "src")], { cwd: dir })
    expect(result.code, context(result)).toBe(0)
  })

  it("writes nothing for a -d that does not exist, and hints at what -d should be", () => {
    const nowhere = join(dir, "nowhere")
    const result = bt(["verify", torrent, "-d", nowhere], { cwd: dir })
    expect(result.code, context(result)).toBe(1)
    expect(existsSync(nowhere), context(result)).toBe(false)
    const lines = linesOf(result.stderr)
    expect(lines, context(result)).toHaveLength(2)
    expect(lines[0]).toMatch(/^bt: .*nowhere/)
    expect(lines[1]).toMatch(/-d .*album/)
  })

  it("writes nothing into an empty folder: no torrent folder, no empty files", () => {
    const empty = join(dir, "empty")
    mkdirSync(empty)
    const result = bt(["verify", torrent, "-d", empty], { cwd: dir })
    expect(result.code, context(result)).toBe(1)
    expect(readdirSync(empty), context(result)).toEqual([])
    expect(linesOf(result.stderr)[0], context(result)).toMatch(/^bt: none of album's files are in/)
    expect(linesOf(result.stderr)[1], context(result)).toMatch(/is -d the folder that holds album/)
  })

  it("names a deleted file as missing, and creates nothing in its place", () => {
    const copy = copyWith("deleted", (root) => rmSync(join(root, "two.bin")))
    const result = bt(["verify", torrent, "-d", copy], { cwd: dir })
    expect(result.code, context(result)).toBe(1)
    expect(result.stdout, context(result)).toMatch(/album\/two\.bin: missing/)
    expect(result.stdout, context(result)).not.toMatch(/album\/one\.bin/)
    expect(existsSync(join(copy, "album", "two.bin"))).toBe(false)
    expect(linesOf(result.stderr)[0], context(result)).toMatch(/^bt: album does not match the torrent .*1 file missing/)
  })

  it("names a folder where a file should be as a folder, and writes nothing", () => {
    const copy = copyWith("folder", (root) => {
      rmSync(join(root, "two.bin"))
      mkdirSync(join(root, "two.bin"))
    })
    const result = bt(["verify", torrent, "-d", copy], { cwd: dir })
    expect(result.code, context(result)).toBe(1)
    expect(result.stdout, context(result)).toMatch(/album\/two\.bin: is a folder, not a file/)
    expect(result.stdout, context(result)).not.toMatch(/missing/)
    expect(readdirSync(join(copy, "album", "two.bin"))).toEqual([])
    expect(linesOf(result.stderr)[0], context(result)).toMatch(/^bt: album does not match the torrent .*1 is a folder where a file should be/)
  })

  it("names a file with bytes appended as too large, and fails although every piece is good", () => {
    const copy = copyWith("appended", (root) => appendFileSync(join(root, "one.bin"), "extra"))
    const result = bt(["verify", torrent, "-d", copy], { cwd: dir })
    expect(result.code, context(result)).toBe(1)
    expect(result.stdout, context(result)).toMatch(/album\/one\.bin: too large \(100,005 bytes; the torrent says 100,000\)/)
    expect(linesOf(result.stderr)[0], context(result)).toMatch(/too large/)
  })

  it("bt seed with a wrong -d writes nothing either, and says what is missing", () => {
    const copy = copyWith("seed-deleted", (root) => rmSync(join(root, "notes.txt")))
    const result = bt(["seed", torrent, "-d", copy, "--port", "0", "--no-trackers", "--no-dht"], { cwd: dir })
    expect(result.code, context(result)).toBe(1)
    expect(existsSync(join(copy, "album", "notes.txt"))).toBe(false)
    expect(linesOf(result.stderr)[0], context(result)).toMatch(/^bt: .*album\/notes\.txt: missing/)
    const nowhere = join(dir, "seed-nowhere")
    const wrong = bt(["seed", torrent, "-d", nowhere, "--port", "0", "--no-trackers", "--no-dht"], { cwd: dir })
    expect(wrong.code, context(wrong)).toBe(1)
    expect(existsSync(nowhere)).toBe(false)
  })

  it("reads a skipped file's bytes from the part file: the pieces it shares with the others verify", () => {
    // v1: no padding, so two.bin shares a piece with the file before it.
    const v1 = join(dir, "album-v1.torrent")
    const made = bt(["create", album, "-o", v1, "--v1", "--force", "--piece-length", "16K"], { cwd: dir })
    expect(made.code, context(made)).toBe(0)
    const info = JSON.parse(bt(["info", v1, "--json"], { cwd: dir }).stdout) as {
      readonly infoHash: string
      readonly pieceCount: number
      readonly totalLength: number
      readonly files: ReadonlyArray<{ readonly path: string; readonly offset: number; readonly length: number }>
    }
    const two = info.files.find((file) => file.path.endsWith("two.bin"))!
    const count = (result: ReturnType<typeof bt>) => Number(/([\d,]+) of [\d,]+ pieces good/.exec(result.stdout)![1]!.replace(/,/g, ""))

    // two.bin skipped: not there, its bytes in the hidden part file at their place in the torrent's byte space.
    const copy = copyWith("parked", (root) => rmSync(join(root, "two.bin")))
    const without = bt(["verify", v1, "-d", copy], { cwd: dir })
    const part = join(copy, `.${info.infoHash}.parts`)
    const bytes = Buffer.alloc(two.offset + two.length)
    readFileSync(join(album, "two.bin")).copy(bytes, two.offset)
    writeFileSync(part, bytes)
    const before = statSync(part).mtimeMs
    const result = bt(["verify", v1, "-d", copy], { cwd: dir })
    // The pieces two.bin shares with its neighbours verify now; those wholly inside it are not read (the file is
    // missing, as it is reported), and nothing was written.
    const P = 16384
    const first = Math.floor(two.offset / P)
    const last = Math.floor((two.offset + two.length - 1) / P)
    const inside = [...Array(last - first + 1).keys()].map((i) => first + i)
      .filter((piece) => piece * P >= two.offset && Math.min((piece + 1) * P, info.totalLength) <= two.offset + two.length)
      .length
    const shared = last - first + 1 - inside
    expect(shared).toBeGreaterThan(0)
    expect(count(result), context(result)).toBe(info.pieceCount - inside)
    expect(count(without), context(without)).toBe(info.pieceCount - inside - shared)
    expect(result.stdout, context(result)).toMatch(/album\/two\.bin: missing/)
    expect(result.code, context(result)).toBe(1)
    expect(existsSync(join(copy, "album", "two.bin"))).toBe(false)
    expect(statSync(part).mtimeMs).toBe(before)
  })

  it("says how far it got when stopped (Ctrl-C), and that it wrote nothing", async () => {
    // 8 GiB of a sparse file against a torrent made up for it (its hashes are not the data's): long enough to be
    // stopped, and nothing to hash when making the torrent.
    const big = join(dir, "big")
    mkdirSync(big)
    const size = 8 * 1024 ** 3
    const pieceLength = 16 * 1024 * 1024
    writeFileSync(join(big, "sparse.bin"), "")
    truncateSync(join(big, "sparse.bin"), size)
    const fake = join(dir, "sparse.torrent")
    writeFileSync(fake, encode({
      info: { length: size, name: "sparse.bin", "piece length": pieceLength, pieces: new Uint8Array(20 * (size / pieceLength)) }
    }))
    const before = statSync(join(big, "sparse.bin")).mtimeMs
    const child = startBt(["verify", fake, "-d", big, "--json"], { cwd: dir })
    let stdout = ""
    let stderr = ""
    let sent = false
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      if (!sent && stdout.includes(`"event":"progress"`)) {
        sent = true
        child.kill("SIGINT")
      }
    })
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    const context = `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`
    expect(code, context).toBe(130)
    const last = JSON.parse(linesOf(stdout).at(-1)!) as { event: string; checkedPieces: number; pieceCount: number }
    expect(last, context).toMatchObject({ event: "stopped", pieceCount: 512 })
    expect(last.checkedPieces, context).toBeLessThan(512)
    expect(stderr, context).toBe("")
    expect(readdirSync(big)).toEqual(["sparse.bin"])
    expect(statSync(join(big, "sparse.bin")).mtimeMs).toBe(before)
  }, 60_000)
})
