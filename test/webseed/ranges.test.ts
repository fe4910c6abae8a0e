import { describe, expect, it } from "@effect/vitest"
import { blockRuns, splitAtFiles } from "../../src/webseed/index.js"

const files = [
  { path: ["a"], offset: 0, length: 100, padding: false },
  { path: ["empty"], offset: 100, length: 0, padding: false },
  { path: [".pad", "28"], offset: 100, length: 28, padding: true },
  { path: ["b"], offset: 128, length: 300, padding: false },
  { path: ["c"], offset: 428, length: 72, padding: false }
]

describe("web seed ranges", () => {
  it("cuts a range at file boundaries, skipping empty files and marking padding", () => {
    expect(splitAtFiles(files, 90, 400)).toEqual([
      { file: 0, offset: 90, length: 10, padding: false },
      { length: 28, padding: true },
      { file: 3, offset: 0, length: 300, padding: false },
      { file: 4, offset: 0, length: 62, padding: false }
    ])
    expect(splitAtFiles(files, 130, 5)).toEqual([{ file: 3, offset: 2, length: 5, padding: false }])
    expect(() => splitAtFiles(files, 490, 20)).toThrow()
  })

  it("every split of every range adds up to the range, in order, inside its files", () => {
    for (let start = 0; start < 500; start += 7) {
      for (let length = 1; start + length <= 500; length += 13) {
        const spans = splitAtFiles(files, start, length)
        expect(spans.reduce((sum, span) => sum + span.length, 0)).toBe(length)
        let at = start
        for (const span of spans) {
          if (span.padding) {
            expect(files.some((file) => file.padding && file.offset <= at && at + span.length <= file.offset + file.length)).toBe(true)
            at += span.length
            continue
          }
          const file = files[span.file]!
          expect(file.offset + span.offset).toBe(at)
          expect(span.offset + span.length).toBeLessThanOrEqual(file.length)
          at += span.length
        }
      }
    }
  })

  it("groups adjacent blocks into runs, in torrent order, no longer than asked", () => {
    const piece = 32768
    const block = (index: number, begin: number, length = 16384) => ({ index, begin, length })
    const runs = blockRuns([block(3, 0), block(1, 16384), block(2, 0), block(1, 0), block(2, 16384), block(5, 0)], piece, 65536)
    expect(runs.map((run) => [run.start, run.length, run.blocks.length])).toEqual([
      [32768, 65536, 4],
      [98304, 16384, 1],
      [163840, 16384, 1]
    ])
    expect(blockRuns([block(0, 0), block(0, 16384)], piece, 16384).length).toBe(2)
  })
})
