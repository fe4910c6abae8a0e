import type { TorrentInfo } from "../metainfo/index.js"

/**
 * A web seed's URL, if we can use it: `http:` or `https:` only (BEP 19 also allows FTP, which we do not speak).
 * Returns the parsed URL, or why it is refused.
 */
export const parseWebSeedUrl = (text: string): URL | string => {
  if (!URL.canParse(text)) return "is not a URL"
  const url = new URL(text)
  if (url.protocol !== "http:" && url.protocol !== "https:") return `uses ${url.protocol.slice(0, -1)}, not HTTP`
  if (url.username !== "" || url.password !== "") return "carries a user name or password"
  return url
}

/** One path component, percent-encoded for a URL path (`/`, `?`, `#`, `%` and spaces included). */
const encodePart = (part: string): string => encodeURIComponent(part)

/**
 * The URL of file `fileIndex` of `torrent` on the web seed `base` (BEP 19): for a single-file torrent the URL itself,
 * or, when it ends in `/`, the URL with the torrent's name appended; for a multi-file torrent the URL taken as a
 * folder (a `/` added if missing) holding the torrent's name and then the file's path, each part percent-encoded.
 * A query or fragment of `base` is kept after the path, where it belongs.
 */
export const fileUrl = (
  base: URL,
  torrent: Pick<TorrentInfo, "layout" | "name" | "files">,
  fileIndex: number
): string => {
  const url = new URL(base.href)
  if (torrent.layout === "single") {
    if (url.pathname.endsWith("/")) url.pathname += encodePart(torrent.name)
    return url.href
  }
  const file = torrent.files[fileIndex]
  if (file === undefined) throw new Error(`no file ${fileIndex}`)
  const folder = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`
  url.pathname = folder + [torrent.name, ...file.path].map(encodePart).join("/")
  return url.href
}
