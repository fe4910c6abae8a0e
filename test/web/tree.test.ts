import { assert, describe, it } from "@effect/vitest"
import { applyFileSet, choicesToSet, fileRows } from "../../web/src/tree.js"
import { limitsPatch } from "../../web/src/limits.js"

const files = [
  { name: "album/b.flac", length: 10, bytesCompleted: 10 },
  { name: "album/art/cover.jpg", length: 5, bytesCompleted: 0 },
  { name: "album/a.flac", length: 20, bytesCompleted: 5 }
]
const choices = [{ wanted: true, priority: 0 }, { wanted: false, priority: 0 }, { wanted: true, priority: 1 }]

describe("web UI file tree", () => {
  it("folders first, then files by name, with sums and mixed states", () => {
    const rows = fileRows(files, choices, new Set())
    assert.deepStrictEqual(rows.map((r) => `${"  ".repeat(r.depth)}${r.name}`), [
      "album", "  art", "    cover.jpg", "  a.flac", "  b.flac"
    ])
    const album = rows[0]!
    assert.deepStrictEqual([album.folder, album.length, album.bytesCompleted, album.wanted, album.priority], [true, 35, 15, "some", undefined])
    assert.deepStrictEqual([...album.indexes].sort(), [0, 1, 2])
    assert.deepStrictEqual([rows[1]!.wanted, rows[2]!.wanted, rows[2]!.folder, rows[3]!.priority], ["none", "none", false, 1])
  })

  it("a collapsed folder hides what is under it but still counts it", () => {
    const rows = fileRows(files, choices, new Set(["album/art"]))
    assert.deepStrictEqual(rows.map((r) => r.path), ["album", "album/art", "album/a.flac", "album/b.flac"])
    assert.deepStrictEqual(fileRows(files, choices, new Set(["album"])).map((r) => r.path), ["album"])
  })

  it("a single-file torrent is one row; missing choices count as wanted", () => {
    const rows = fileRows([{ name: "one.bin", length: 7, bytesCompleted: 7 }], [], new Set())
    assert.deepStrictEqual(rows.map((r) => [r.path, r.folder, r.wanted, r.priority]), [["one.bin", false, "all", 0]])
  })

  it("choices made before adding: applied locally, then sent as the files left out and the priorities not normal", () => {
    const all = [0, 1, 2, 3].map(() => ({ wanted: true, priority: 0 }))
    assert.deepStrictEqual(choicesToSet(all), {})
    const chosen = applyFileSet(applyFileSet(all, { "files-unwanted": [1, 3, 9] }), { "priority-high": [0], "priority-low": [3] })
    assert.deepStrictEqual(chosen.map((c) => [c.wanted, c.priority]), [[true, 1], [false, 0], [true, 0], [false, -1]])
    assert.deepStrictEqual(choicesToSet(chosen), { "files-unwanted": [1, 3], "priority-low": [3], "priority-high": [0] })
    assert.deepStrictEqual(applyFileSet(chosen, { "files-wanted": [1], "priority-normal": [0, 3] }).map((c) => [c.wanted, c.priority]), [
      [true, 0], [true, 0], [true, 0], [false, 0]
    ])
  })

  it("a torrent's options: only what changed is sent", () => {
    const limits = {
      downloadLimit: 100, downloadLimited: false, uploadLimit: 100, uploadLimited: false, honorsSessionLimits: true,
      seedRatioMode: 0, seedRatioLimit: 2, "peer-limit": 50
    }
    assert.deepStrictEqual(limitsPatch(limits, limits), {})
    assert.deepStrictEqual(limitsPatch(limits, { ...limits, downloadLimited: true, downloadLimit: 700, seedRatioMode: 1 }), {
      downloadLimit: 700, downloadLimited: true, seedRatioMode: 1
    })
  })
})
