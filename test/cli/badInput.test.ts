import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { bt, linesOf, workDir } from "./bt.js"

const dir = workDir()
writeFileSync(join(dir, "a-file"), "not a folder")
mkdirSync(join(dir, "data"))
writeFileSync(join(dir, "data", "payload.bin"), Buffer.alloc(40_000, 7))
const made = bt(["create", "data/payload.bin", "-o", "payload.torrent"], { cwd: dir })
if (made.code !== 0) throw new Error(`bt create failed: ${made.stderr}`)

/** Names and words a user should never see: stack frames, exception classes, module and method names, errnos. */
const INTERNAL = /^\s+at |Exception|Error:|FileSystem\.|ENOENT|EACCES|internal error|\bcause\b/m

const cases: ReadonlyArray<{
  readonly args: ReadonlyArray<string>
  readonly code: number
  readonly says: RegExp
  readonly hint?: RegExp
}> = [
  { args: ["frobnicate", "--help"], code: 2, says: /unknown command 'frobnicate'/, hint: /^try: bt --help$/ },
  { args: ["frobnicate"], code: 2, says: /^bt: unknown command 'frobnicate'$/, hint: /^try: bt --help$/ },
  // A short list of commands fits the line; bt's own (18 commands) would not.
  { args: ["dht", "frobnicate"], code: 2, says: /^bt: unknown command 'frobnicate' \(the commands: lookup\)$/ },
  { args: ["config", "get", "nokey"], code: 1, says: /^bt: unknown key "nokey"$/, hint: /^try: bt config list/ },
  { args: ["downlaod", "x.torrent"], code: 2, says: /unknown command 'downlaod'; did you mean download\?/ },
  { args: ["download", "x.torrent", "--peeer", "1.2.3.4:5"], code: 2, says: /unknown option --peeer; did you mean --peer\?/ },
  { args: ["download"], code: 2, says: /missing <torrent>/, hint: /^try: bt download --help$/ },
  { args: ["download", "x.torrent", "--bogus"], code: 2, says: /unknown option --bogus/ },
  { args: ["download", "--bogus", "x.torrent"], code: 2, says: /unknown option --bogus/ },
  { args: ["download", "x.torrent", "y.torrent"], code: 2, says: /'y\.torrent'/ },
  { args: ["download", "x.torrent", "--port", "abc"], code: 2, says: /--port abc: expected a whole number/ },
  { args: ["download", "x.torrent", "--port", "99999"], code: 2, says: /--port 99999 is not a TCP port/ },
  { args: ["seed", "x.torrent", "--port", "-5"], code: 2, says: /--port -5 is not a TCP port/, hint: /bt seed --help/ },
  { args: ["download", "x.torrent", "--port"], code: 2, says: /--port needs a value/ },
  { args: ["download", "x.torrent", "--encryption", "maybe"], code: 2, says: /expected one of prefer, require, disable/ },
  { args: ["download", "x.torrent", "-o", "a-file"], code: 2, says: /--output a-file: not a folder/ },
  { args: ["download", "x.torrent", "--seed-ratio", "2"], code: 2, says: /go with --seed/ },
  { args: ["verify"], code: 2, says: /missing <file\.torrent>/, hint: /bt verify --help/ },
  { args: ["dht", "lookup", "nothex"], code: 2, says: /expected an info-hash/, hint: /bt dht lookup --help/ },
  // @effect/cli's wizard waited forever on a stdin that is not a terminal, printing escapes into the pipe.
  { args: ["--wizard"], code: 2, says: /--wizard asks its questions on a terminal/, hint: /^try: bt --help$/ },
  { args: ["download", "--wizard"], code: 2, says: /--wizard asks its questions on a terminal/ },
  { args: ["--bogus"], code: 2, says: /unknown option --bogus/ },
  { args: ["info", "missing.torrent"], code: 1, says: /missing\.torrent/ },
  {
    args: ["daemon", "--rpc-auth-file", "missing-auth", "--rpc-port", "0", "--port", "0", "--no-dht", "--no-lsd", "--no-port-mapping"],
    code: 2,
    says: /--rpc-auth-file: cannot read missing-auth: no such file/,
    hint: /bt daemon --help/
  },
  { args: ["create", "data/payload.bin", "-o", "missing/dir/x.torrent"], code: 1, says: /cannot write .*x\.torrent: its folder does not exist/ },
  { args: ["stream", "x.torrent", "--http-port", "70000"], code: 2, says: /--http-port 70000 is not a TCP port/, hint: /bt stream --help/ },
  { args: ["stream", "x.torrent", "--http-bind", "example.com"], code: 2, says: /--http-bind example\.com: expected an IPv4 or IPv6 address/ },
  { args: ["stream", "x.torrent", "--file", "1", "--only", "0"], code: 2, says: /--file goes without --only and --exclude/ },
  { args: ["stream", "x.torrent", "--file", "-1"], code: 2, says: /--file -1: expected a file index/ },
  {
    args: ["stream", "payload.torrent", "--file", "3", "--no-dht", "--no-trackers", "--no-lsd", "--no-port-mapping",
      "--peer", "127.0.0.1:1", "--port", "0", "--http-port", "0", "-o", "out"],
    code: 1,
    says: /--file: file 3 does not exist/
  },
  { args: ["create", "data/payload.bin", "--web-seed", "ftp://example.com/x"], code: 2, says: /--web-seed "ftp:\/\/example\.com\/x" uses ftp, not HTTP/ },
  { args: ["create", "data/payload.bin", "--web-seed", "not a url"], code: 2, says: /--web-seed "not a url" is not a URL/ },
  { args: ["download", "payload.torrent", "--no-trackers"], code: 2, says: /--no-trackers needs at least one --peer \(or a torrent with web seeds\)/ },
  // A folder that cannot be made (Node's recursive mkdir used to spin forever on this one).
  {
    args: ["download", "payload.torrent", "-o", "/proc/bt-test", "--no-dht", "--no-trackers", "--peer", "127.0.0.1:1", "--port", "0"],
    code: 1,
    says: /cannot make the folder \/proc\/bt-test/,
    hint: /^-o names the folder/
  }
]

describe("bad input", () => {
  for (const { args, code, hint, says } of cases) {
    it(`bt ${args.join(" ")}: exit ${code}, one line saying what is wrong, at most a hint after it`, () => {
      const result = bt(args, { cwd: dir })
      const context = `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
      expect(result.code, context).toBe(code)
      const lines = linesOf(result.stderr)
      expect(lines.length, context).toBeGreaterThanOrEqual(1)
      expect(lines.length, context).toBeLessThanOrEqual(2)
      expect(lines[0], context).toMatch(/^bt: /)
      expect(lines[0], context).toMatch(says)
      // Paths aside (this file's folder is long), no line of ours passes 100 columns.
      for (const line of lines) expect(line.replaceAll(dir, "DIR").length, context).toBeLessThanOrEqual(100)
      if (hint !== undefined) expect(lines[1], context).toMatch(hint)
      expect(result.stderr + result.stdout, context).not.toMatch(INTERNAL)
      expect(result.stdout, context).toBe("")
    })
  }
})
