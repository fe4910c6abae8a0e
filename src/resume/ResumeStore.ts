import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { writeAtomically as writeFileAtomically } from "./atomicWrite.js"
import { decodeResume, encodeResume, type ResumeState } from "./ResumeState.js"

export class ResumeError extends Data.TaggedError("ResumeError")<{
  readonly path: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `cannot save resume state to ${this.path}: ${this.detail}`
  }
}

/**
 * Where torrents' resume states are kept, one per info-hash, with the metadata of torrents added by magnet link
 * (so a restart need not fetch it again). Saving is atomic: a crash leaves the old state or the new one, never a
 * torn file. A state that cannot be read is no state (the data gets rechecked; the metadata fetched again).
 */
export class ResumeStore extends Context.Tag("bt/ResumeStore")<ResumeStore, {
  readonly load: (infoHashHex: string) => Effect.Effect<Option.Option<ResumeState>>
  readonly save: (state: ResumeState) => Effect.Effect<void, ResumeError>
  /** A magnet link's info dictionary as fetched; the caller checks it against the info-hash. */
  readonly loadMetadata: (infoHashHex: string) => Effect.Effect<Option.Option<Uint8Array>>
  readonly saveMetadata: (infoHashHex: string, metadata: Uint8Array) => Effect.Effect<void, ResumeError>
  /**
   * Drops a torrent's resume state (its next start hashes the data), and with `metadata` its saved metadata too
   * (the torrent was removed). Nothing there is no error.
   */
  readonly forget: (infoHashHex: string, metadata: boolean) => Effect.Effect<void, ResumeError>
}>() {}

/** Resume files in `directory` (created when first needed): `<info-hash>.resume`. */
export const makeFiles = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const fileFor = (infoHashHex: string) => path.join(directory, `${infoHashHex}.resume`)
    const metadataFileFor = (infoHashHex: string) => path.join(directory, `${infoHashHex}.info`)

    const writeAtomically = (target: string, bytes: Uint8Array) =>
      writeFileAtomically(fs, directory, target, bytes).pipe(
        Effect.mapError((cause) => new ResumeError({ path: target, detail: cause.message, cause }))
      )

    const load = (infoHashHex: string) =>
      fs.readFile(fileFor(infoHashHex)).pipe(
        Effect.map((bytes) => Either.getRight(decodeResume(bytes))),
        Effect.tap((state) =>
          Option.isNone(state) ? Effect.logWarning(`ignoring an unreadable resume file for ${infoHashHex}`) : Effect.void
        ),
        Effect.catchAll(() => Effect.succeedNone)
      )

    const save = (state: ResumeState) =>
      writeAtomically(fileFor(Buffer.from(state.infoHash).toString("hex")), encodeResume(state))

    const loadMetadata = (infoHashHex: string) =>
      fs.readFile(metadataFileFor(infoHashHex)).pipe(Effect.option)

    const saveMetadata = (infoHashHex: string, metadata: Uint8Array) =>
      writeAtomically(metadataFileFor(infoHashHex), metadata)

    const remove = (target: string) =>
      fs.remove(target).pipe(
        Effect.catchIf((cause) => cause._tag === "SystemError" && cause.reason === "NotFound", () => Effect.void),
        Effect.mapError((cause) => new ResumeError({ path: target, detail: cause.message, cause }))
      )
    const forget = (infoHashHex: string, metadata: boolean) =>
      Effect.zipRight(
        remove(fileFor(infoHashHex)),
        metadata ? remove(metadataFileFor(infoHashHex)) : Effect.void
      )

    return ResumeStore.of({ load, save, loadMetadata, saveMetadata, forget })
  })

/** Resume files on the platform's FileSystem, in `directory`. */
export const layerFiles = (directory: string): Layer.Layer<ResumeStore, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(ResumeStore, makeFiles(directory))

const without = (key: string) => <V>(map: Map<string, V>): Map<string, V> => {
  const next = new Map(map)
  next.delete(key)
  return next
}

/** Resume states in memory, for tests: they survive a torrent's restart within one process. */
export const layerMemory: Layer.Layer<ResumeStore> = Layer.effect(
  ResumeStore,
  Effect.gen(function*() {
    const states = yield* Ref.make(new Map<string, ResumeState>())
    const metadata = yield* Ref.make(new Map<string, Uint8Array>())
    return ResumeStore.of({
      load: (infoHashHex) => Effect.map(Ref.get(states), (map) => Option.fromNullable(map.get(infoHashHex))),
      save: (state) => Ref.update(states, (map) => new Map(map).set(Buffer.from(state.infoHash).toString("hex"), state)),
      loadMetadata: (infoHashHex) => Effect.map(Ref.get(metadata), (map) => Option.fromNullable(map.get(infoHashHex))),
      saveMetadata: (infoHashHex, bytes) => Ref.update(metadata, (map) => new Map(map).set(infoHashHex, bytes)),
      forget: (infoHashHex, withMetadata) =>
        Effect.zipRight(
          Ref.update(states, without(infoHashHex)),
          withMetadata ? Ref.update(metadata, without(infoHashHex)) : Effect.void
        )
    })
  })
)

/** No resume states: every start checks the data on disk. */
export const layerNone: Layer.Layer<ResumeStore> = Layer.succeed(
  ResumeStore,
  ResumeStore.of({
    load: () => Effect.succeedNone,
    save: () => Effect.void,
    loadMetadata: () => Effect.succeedNone,
    saveMetadata: () => Effect.void,
    forget: () => Effect.void
  })
)
