import { SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { dirname, resolve } from "node:path"

/**
 * A FileSystem in a Map, for tests of what the Client keeps in its state folder: files (whole byte arrays) and
 * folders, with the calls the Client and the ResumeStore make (read, write, atomic write through `open` and
 * `rename`, list, stat, remove, copy). `files` is the map itself, for a test to look at or damage.
 */
export const makeMemoryFileSystem = (files: Map<string, Uint8Array> = new Map()) => {
  const folders = new Set<string>(["/"])
  const notFound = (method: string, path: string) =>
    new SystemError({ reason: "NotFound", module: "FileSystem", method, pathOrDescriptor: path, description: "no such file" })
  const read = (method: string, path: string) =>
    Effect.suspend(() => {
      const bytes = files.get(resolve(path))
      return bytes === undefined ? Effect.fail(notFound(method, path)) : Effect.succeed(bytes)
    })
  const addFolders = (path: string) => {
    for (let folder = path; !folders.has(folder); folder = dirname(folder)) folders.add(folder)
  }
  const write = (path: string, bytes: Uint8Array) =>
    Effect.sync(() => {
      const at = resolve(path)
      addFolders(dirname(at))
      files.set(at, Uint8Array.from(bytes))
    })
  const info = (size: number, type: FileSystem.File.Type): FileSystem.File.Info => ({
    type,
    mtime: Option.none(),
    atime: Option.none(),
    birthtime: Option.none(),
    dev: 0,
    ino: Option.none(),
    mode: 0o644,
    nlink: Option.none(),
    uid: Option.none(),
    gid: Option.none(),
    rdev: Option.none(),
    size: FileSystem.Size(size),
    blksize: Option.none(),
    blocks: Option.none()
  })

  const fileSystem = FileSystem.makeNoop({
    exists: (path) => Effect.sync(() => files.has(resolve(path)) || folders.has(resolve(path))),
    readFile: (path) => read("readFile", path),
    readFileString: (path) => Effect.map(read("readFileString", path), (bytes) => new TextDecoder().decode(bytes)),
    writeFile: write,
    makeDirectory: (path) => Effect.sync(() => addFolders(resolve(path))),
    readDirectory: (path) =>
      Effect.suspend(() => {
        const at = resolve(path)
        if (!folders.has(at)) return Effect.fail(notFound("readDirectory", path))
        const names = [...files.keys(), ...folders].filter((other) => other !== at && dirname(other) === at)
        return Effect.succeed(names.map((other) => other.slice(at.length).replace(/^\//, "")))
      }),
    stat: (path) =>
      Effect.suspend(() => {
        const at = resolve(path)
        const bytes = files.get(at)
        if (bytes !== undefined) return Effect.succeed(info(bytes.length, "File"))
        return folders.has(at) ? Effect.succeed(info(0, "Directory")) : Effect.fail(notFound("stat", path))
      }),
    remove: (path) =>
      Effect.suspend(() => {
        const at = resolve(path)
        if (files.delete(at)) return Effect.void
        return folders.delete(at) ? Effect.void : Effect.fail(notFound("remove", path))
      }),
    rename: (from, to) =>
      Effect.suspend(() => {
        const source = resolve(from)
        const target = resolve(to)
        if (!folders.has(source)) {
          return Effect.flatMap(read("rename", from), (bytes) => Effect.zipRight(write(to, bytes), Effect.sync(() => files.delete(source))))
        }
        // A folder: everything under it moves along.
        const under = (path: string) => path.startsWith(`${source}/`)
        const moved = (path: string) => `${target}${path.slice(source.length)}`
        for (const folder of [...folders].filter(under)) folders.add(moved(folder)) && folders.delete(folder)
        for (const [path, bytes] of [...files].filter(([path]) => under(path))) files.set(moved(path), bytes) && files.delete(path)
        folders.delete(source)
        addFolders(target)
        return Effect.void
      }),
    copyFile: (from, to) => Effect.flatMap(read("copyFile", from), (bytes) => write(to, bytes)),
    open: (path) =>
      Effect.sync(() => {
        const at = resolve(path)
        addFolders(dirname(at))
        files.set(at, new Uint8Array(0))
        // Only what an atomic write uses: writeAll appends, sync does nothing (memory is as durable as it gets).
        const partial: Partial<FileSystem.File> = {
          writeAll: (bytes) =>
            Effect.sync(() => {
              const before = files.get(at) ?? new Uint8Array(0)
              const after = new Uint8Array(before.length + bytes.length)
              after.set(before)
              after.set(bytes, before.length)
              files.set(at, after)
            }),
          sync: Effect.void
        }
        return partial as FileSystem.File
      })
  })
  return { fileSystem, files }
}

/** An empty memory FileSystem. */
export const layerMemoryFileSystem: Layer.Layer<FileSystem.FileSystem> = Layer.sync(
  FileSystem.FileSystem,
  () => makeMemoryFileSystem().fileSystem
)
