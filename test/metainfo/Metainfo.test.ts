import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import * as Metainfo from "../../src/metainfo/index.js"
import { singleFileInfo, torrentBytes } from "./fixtures.js"

const dir = mkdtempSync(join(tmpdir(), "bt-metainfo-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const TestLayer = Metainfo.layer.pipe(Layer.provide(NodeFileSystem.layer))

layer(TestLayer)("Metainfo service", (it) => {
  it.effect("loads a .torrent from disk", () =>
    Effect.gen(function*() {
      const path = join(dir, "ok.torrent")
      writeFileSync(path, torrentBytes(singleFileInfo(1000)))
      const torrent = yield* (yield* Metainfo.Metainfo).load(path)
      expect(torrent.name).toBe("file.bin")
      expect(torrent.totalLength).toBe(1000)
      expect(torrent.infoHashHex).toMatch(/^[0-9a-f]{40}$/)
    }))

  it.effect("names a missing file in one line", () =>
    Effect.gen(function*() {
      const path = join(dir, "missing.torrent")
      const error = yield* Effect.flip((yield* Metainfo.Metainfo).load(path))
      expect(error.reason).toBe("Unreadable")
      expect(error.message).toBe(`${path}: no such file`)
    }))

  it.effect("refuses a directory", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip((yield* Metainfo.Metainfo).load(dir))
      expect(error.reason).toBe("Unreadable")
      expect(error.message).toContain("not a regular file")
    }))

  it.effect("reports a broken torrent with its path", () =>
    Effect.gen(function*() {
      const path = join(dir, "broken.torrent")
      writeFileSync(path, "d4:infoi1ee")
      const error = yield* Effect.flip((yield* Metainfo.Metainfo).load(path))
      expect(error.reason).toBe("InvalidField")
      expect(error.message).toBe(`${path}: the torrent's "info" is not a dictionary`)
    }))

  it.effect("parses bytes without touching the filesystem", () =>
    Effect.gen(function*() {
      const torrent = yield* (yield* Metainfo.Metainfo).parse(torrentBytes(singleFileInfo(5)))
      expect(torrent.pieceCount).toBe(1)
    }))

  it.effect("parses a magnet link, and fails with a MetainfoError for a bad one", () =>
    Effect.gen(function*() {
      const metainfo = yield* Metainfo.Metainfo
      const magnet = yield* metainfo.parseMagnet(`magnet:?xt=urn:btih:${"ab".repeat(20)}&dn=x&tr=udp%3A%2F%2Ft%3A1`)
      expect([magnet.infoHashHex, magnet.name, magnet.trackers]).toEqual(["ab".repeat(20), "x", [["udp://t:1"]]])
      const error = yield* Effect.flip(metainfo.parseMagnet("magnet:?dn=x"))
      expect(error.reason).toBe("InvalidMagnet")
    }))
})

describe("Metainfo service with a test filesystem", () => {
  it.effect("maps a too-large file to TooLarge before reading it", () =>
    Effect.gen(function*() {
      const fs = FileSystem.layerNoop({
        stat: () => Effect.succeed({ type: "File", size: FileSystem.Size(Metainfo.MAX_TORRENT_FILE_BYTES + 1) } as never),
        readFile: () => Effect.die("must not read a too-large file")
      })
      const error = yield* Effect.flip(
        Effect.flatMap(Metainfo.Metainfo, (m) => m.load("huge.torrent")).pipe(
          Effect.provide(Metainfo.layer.pipe(Layer.provide(fs)))
        )
      )
      expect(error.reason).toBe("TooLarge")
    }))
})
