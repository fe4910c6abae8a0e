import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { repoRoot } from "./bt.js"

describe("docs/commands", () => {
  // The pages hold what `bt COMMAND --help` prints: a command whose definition changed without `npm run docs`
  // fails here, naming the page.
  it("has a page per command, each the same as its --help (npm run docs writes them)", () => {
    const result = spawnSync(process.execPath, [join(repoRoot, "scripts", "docs.mjs"), "--check"], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 170_000
    })
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0)
  }, 180_000)
})
