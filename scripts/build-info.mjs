// Writes dist/build-info.json: the commit a build was made from (and whether the tree had changes), so that
// `bt --version` names it. Run by `npm run build`; a tree without git (an unpacked tarball) records no commit.
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const git = (...args) => {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return undefined
  }
}
const commit = git("rev-parse", "--short=12", "HEAD")
// Changes to tracked files only: an untracked scratch file does not make the build differ from the commit.
const dirty = commit !== undefined && (git("status", "--porcelain", "--untracked-files=no") ?? "") !== ""
const info = commit === undefined ? {} : { commit, dirty }
writeFileSync(new URL("../dist/build-info.json", import.meta.url), `${JSON.stringify(info)}\n`)
console.log(`build info: ${commit === undefined ? "no git commit" : `${commit}${dirty ? " with changes" : ""}`}`)
