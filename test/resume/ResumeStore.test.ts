import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option } from "effect"
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { decodeResume, encodeResume, layerFiles, type ResumeState, ResumeStore } from "../../src/resume/index.js"

const state: ResumeState = {
  infoHash: new Uint8Array(20).fill(0xab),
  pieceCount: 10,
  bitfield: new Uint8Array([0b1010_0000, 0b0100_0000]),
  files: [{ size: 100, mtimeMs: 1_700_000_000_123 }, undefined, { size: 0, mtimeMs: 5 }],
  peers: ["127.0.0.1:6881", "[::1]:51413"]
}

describe("resume state encoding", () => {
  it("round-trips", () => {
    expect(Either.getOrThrow(decodeResume(encodeResume(state)))).toEqual(state)
  })

  it("refuses anything unexpected, with a reason, never a throw", () => {
    const bad = (value: Uint8Array) => Either.isLeft(decodeResume(value))
    expect(bad(new Uint8Array(0))).toBe(true)
    expect(bad(Buffer.from("le"))).toBe(true)
    expect(bad(encodeResume({ ...state, bitfield: new Uint8Array(1) }))).toBe(true)
    const text = Buffer.from(encodeResume(state)).toString("latin1")
    expect(bad(Buffer.from(text.replace("7:versioni1e", "7:versioni9e"), "latin1"))).toBe(true)
    for (let cut = 0; cut < text.length; cut++) expect(bad(Buffer.from(text.slice(0, cut), "latin1"))).toBe(true)
  })
})

const dir = mkdtempSync(join(tmpdir(), "bt-resume-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const FilesLayer = (directory: string) =>
  layerFiles(directory).pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))

describe("resume files", () => {
  it.effect("saves atomically into a folder it creates, and loads what it saved", () =>
    Effect.gen(function*() {
      const store = yield* ResumeStore
      const hex = Buffer.from(state.infoHash).toString("hex")
      expect(Option.isNone(yield* store.load(hex))).toBe(true)
      yield* store.save(state)
      yield* store.save({ ...state, peers: [] })
      expect(yield* store.load(hex)).toEqual(Option.some({ ...state, peers: [] }))
      // Only the state itself: the temporary file was renamed over it.
      expect(readdirSync(join(dir, "nested"))).toEqual([`${hex}.resume`])
    }).pipe(Effect.provide(FilesLayer(join(dir, "nested")))))

  it.effect("keeps a magnet link's metadata beside the state, atomically", () =>
    Effect.gen(function*() {
      const store = yield* ResumeStore
      const hex = "ab".repeat(20)
      expect(Option.isNone(yield* store.loadMetadata(hex))).toBe(true)
      yield* store.saveMetadata(hex, new Uint8Array([1, 2, 3]))
      const loaded = yield* store.loadMetadata(hex)
      expect(Option.map(loaded, (bytes) => [...bytes])).toEqual(Option.some([1, 2, 3]))
      expect(readdirSync(join(dir, "meta"))).toEqual([`${hex}.info`])
    }).pipe(Effect.provide(FilesLayer(join(dir, "meta")))))

  it.effect("treats a damaged file as no state", () =>
    Effect.gen(function*() {
      const hex = "cd".repeat(20)
      writeFileSync(join(dir, `${hex}.resume`), "d7:versioni1e")
      expect(Option.isNone(yield* (yield* ResumeStore).load(hex))).toBe(true)
    }).pipe(Effect.provide(FilesLayer(dir))))

  it.effect("reports a folder it cannot write as a ResumeError naming the file", () =>
    Effect.gen(function*() {
      const blocker = join(dir, "not-a-folder")
      writeFileSync(blocker, "x")
      const error = yield* Effect.flip((yield* ResumeStore).save(state))
      expect(error._tag).toBe("ResumeError")
      expect(error.message).toContain(join(blocker, Buffer.from(state.infoHash).toString("hex")))
      expect(existsSync(join(blocker, "x"))).toBe(false)
    }).pipe(Effect.provide(FilesLayer(join(dir, "not-a-folder")))))
})
