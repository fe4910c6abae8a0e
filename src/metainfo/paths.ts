/**
 * File-name safety. A torrent is untrusted input: nothing in it may name a file outside the download folder, or
 * two files at one place. These checks run on every path component, and on the torrent name, at parse time.
 */

/** Why a path component is unsafe, or `undefined` when it is fine. */
export const unsafeComponent = (component: string): string | undefined => {
  if (component.length === 0) return "an empty path component"
  if (component === "." || component === "..") return `the path component "${component}"`
  if (component.includes("/") || component.includes("\\")) return "a path separator inside a file name"
  if (component.includes("\0")) return "a NUL byte in a file name"
  // A Windows drive prefix ("C:", "C:foo") would make the path absolute or drive-relative there.
  if (/^[A-Za-z]:/.test(component)) return "a drive-letter prefix in a file name"
  return undefined
}

/**
 * Finds two files that cannot both exist: the same path twice, or a file whose path is a folder of another.
 * Comparison is exact; filesystems that fold case may still collide, which storage checks when it creates files.
 */
export const findCollision = (paths: ReadonlyArray<ReadonlyArray<string>>): string | undefined => {
  const files = new Set<string>()
  const folders = new Set<string>()
  for (const path of paths) {
    const key = path.join("/")
    if (files.has(key) || folders.has(key)) return key
    files.add(key)
    for (let i = 1; i < path.length; i++) folders.add(path.slice(0, i).join("/"))
  }
  for (const key of files) if (folders.has(key)) return key
  return undefined
}
