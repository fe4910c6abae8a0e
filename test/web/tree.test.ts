import { assert, describe, it } from "@effect/vitest"
import { fileRows } from "../../web/src/tree.js"

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
})

