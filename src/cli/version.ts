/**
 * The version `bt --version` prints: package.json's, and the commit the build was made from when it was made in a
 * git checkout (dist/build-info.json, written by scripts/build-info.mjs): `0.1.0 (git 69ac4a152472)`, with
 * `+changes` when the tree had uncommitted changes. Read synchronously from two small files: no module is loaded.
 */
import { readFileSync } from "node:fs"

/** In the bundle (scripts/build-cli.mjs), the version read at build time: the files below are not beside it there. */
declare const BT_VERSION: string | undefined

const readJson = (url: URL): unknown => {
  try {
    return JSON.parse(readFileSync(url, "utf8"))
  } catch {
    return undefined
  }
}

/** The version line's text, from the package's own files (src/cli and dist/cli are both two folders down). */
export const buildVersion = (): string => {
  if (typeof BT_VERSION === "string") return BT_VERSION
  const pkg = readJson(new URL("../../package.json", import.meta.url)) as { version?: unknown } | undefined
  const version = typeof pkg?.version === "string" ? pkg.version : "unknown"
  const info = readJson(new URL("../build-info.json", import.meta.url)) as { commit?: unknown; dirty?: unknown } | undefined
  if (typeof info?.commit !== "string") return version
  return `${version} (git ${info.commit}${info.dirty === true ? "+changes" : ""})`
}
