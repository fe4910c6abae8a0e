import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { repoRoot, workDir } from "./bt.js"

const dir = workDir()

describe("npm run demo", () => {
  it("says what it does honestly, prints no escapes into a pipe, and leaves nothing behind", () => {
    // Its temporary folder and any bt state would land in these: both must be empty afterwards.
    const home = join(dir, "home")
    const tmp = join(dir, "tmp")
    mkdirSync(home)
    mkdirSync(tmp)
    const env: Record<string, string> = { ...process.env as Record<string, string>, HOME: home, TMPDIR: tmp }
    delete env["BT_STATE_DIR"]
    delete env["XDG_STATE_HOME"]
    const result = spawnSync(process.execPath, [join(repoRoot, "scripts", "demo.mjs")], {
      cwd: dir,
      env,
      encoding: "utf8",
      timeout: 120_000
    })
    const context = `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
    expect(result.status, context).toBe(0)
    expect(result.stdout + result.stderr, context).not.toContain("\x1b")
    expect(result.stdout, context).toMatch(/making a payload of three files, 48 MiB/)
    expect(result.stdout, context).toMatch(/album: complete, 48 MiB verified/)
    expect(readdirSync(tmp), context).toEqual([])
    expect(existsSync(join(home, ".local")), context).toBe(false)
  }, 150_000)
})
