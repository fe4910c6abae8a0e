import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { join } from "node:path"
import { writeAtomically } from "../resume/atomicWrite.js"
import { ClientError } from "./Client.js"

/**
 * The Client's state folder: `client.json` (session settings, the next id, lifetime totals) and one
 * `torrents/<info-hash>.json` per torrent (its id, where it came from, its settings and counters). The torrents'
 * metadata and verified pieces live beside, in the ResumeStore. Every file is written atomically; a torrent file
 * that cannot be read is reported and skipped, the others load.
 */

const LimitMode = Schema.Literal("global", "single", "unlimited")
const Priority = Schema.Literal(-1, 0, 1)

export const TorrentSettingsSchema = Schema.Struct({
  downloadLimit: Schema.Number,
  downloadLimited: Schema.Boolean,
  uploadLimit: Schema.Number,
  uploadLimited: Schema.Boolean,
  honorsSessionLimits: Schema.Boolean,
  seedRatioMode: LimitMode,
  seedRatioLimit: Schema.Number,
  seedIdleMode: LimitMode,
  seedIdleLimit: Schema.Number,
  peerLimit: Schema.Number,
  labels: Schema.Array(Schema.String),
  wanted: Schema.Array(Schema.Boolean),
  priorities: Schema.Array(Priority)
})

const FileChoices = Schema.Struct({
  filesWanted: Schema.optionalWith(Schema.Array(Schema.Number), { exact: true }),
  filesUnwanted: Schema.optionalWith(Schema.Array(Schema.Number), { exact: true }),
  priorityHigh: Schema.optionalWith(Schema.Array(Schema.Number), { exact: true }),
  priorityNormal: Schema.optionalWith(Schema.Array(Schema.Number), { exact: true }),
  priorityLow: Schema.optionalWith(Schema.Array(Schema.Number), { exact: true })
})

export const TorrentRecord = Schema.Struct({
  version: Schema.Literal(1),
  id: Schema.Int.pipe(Schema.positive()),
  hash: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{40}$/)),
  name: Schema.String,
  /** The torrent as a magnet link (trackers included): enough to fetch it again if its metadata is lost. */
  magnet: Schema.String,
  /** Tracker tiers, as the torrent or the link gave them. */
  trackers: Schema.Array(Schema.Array(Schema.String)),
  downloadDir: Schema.String,
  /** Peers given when it was added, `host:port`. */
  peers: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Stopped by the user (or by its seed limits: `finished`). */
  paused: Schema.Boolean,
  finished: Schema.Boolean,
  queuePosition: Schema.Number,
  addedDate: Schema.Number,
  doneDate: Schema.Number,
  activityDate: Schema.Number,
  downloadedEver: Schema.Number,
  uploadedEver: Schema.Number,
  corruptEver: Schema.Number,
  /** Seconds spent seeding and downloading over its life. */
  secondsSeeding: Schema.Number,
  secondsDownloading: Schema.Number,
  settings: TorrentSettingsSchema,
  /** Files and folders renamed inside the torrent (`torrent-rename-path`), in order: [path then, new name]. */
  renames: Schema.optional(Schema.Array(Schema.Tuple(Schema.String, Schema.String))),
  /**
   * A magnet's file choices from `add` (one) and `set` (a list, applied in order), numbered as its listed files
   * (padding files left out), kept until its metadata comes and they can be applied.
   */
  pendingFiles: Schema.optional(Schema.Union(FileChoices, Schema.Array(FileChoices)))
})
export type TorrentRecord = typeof TorrentRecord.Type

const Totals = Schema.Struct({
  uploadedBytes: Schema.Number,
  downloadedBytes: Schema.Number,
  filesAdded: Schema.Number,
  secondsActive: Schema.Number,
  sessionCount: Schema.Number
})

export const SessionRecord = Schema.Struct({
  version: Schema.Literal(1),
  nextId: Schema.Int.pipe(Schema.positive()),
  /** `SessionSettings`, as saved: fields unknown to this version are dropped, missing ones take defaults. */
  settings: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  cumulative: Totals,
  /** Torrent ids, the front of the queue first (torrents missing here go behind, by their own `queuePosition`). */
  queue: Schema.Array(Schema.Number)
})
export type SessionRecord = typeof SessionRecord.Type

const decodeTorrent = Schema.decodeUnknownEither(Schema.parseJson(TorrentRecord))
const decodeSession = Schema.decodeUnknownEither(Schema.parseJson(SessionRecord))
const encodeJson = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 1))

/** What loading found: the session (none in a fresh folder), the torrents, and the files that were skipped. */
export interface LoadedState {
  readonly session: SessionRecord | undefined
  readonly torrents: ReadonlyArray<TorrentRecord>
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly problem: string }>
}

export interface StateFiles {
  readonly load: Effect.Effect<LoadedState, ClientError>
  readonly saveSession: (record: SessionRecord) => Effect.Effect<void, ClientError>
  readonly saveTorrent: (record: TorrentRecord) => Effect.Effect<void, ClientError>
  readonly removeTorrent: (hash: string) => Effect.Effect<void, ClientError>
}

/** The state files in `directory`, on the platform's FileSystem. */
export const makeStateFiles = (directory: string): Effect.Effect<StateFiles, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const sessionFile = join(directory, "client.json")
    const torrentDir = join(directory, "torrents")
    const torrentFile = (hash: string) => join(torrentDir, `${hash}.json`)
    const failed = (path: string) => (cause: { readonly message: string }) =>
      new ClientError({ reason: "Persistence", detail: `cannot write ${path}: ${cause.message}`, cause })

    const readText = (path: string) =>
      fs.readFileString(path).pipe(Effect.map(Either.right), Effect.catchAll((error) => Effect.succeed(Either.left(error.message))))

    const load = Effect.gen(function*() {
      const skipped: Array<{ file: string; problem: string }> = []
      let session: SessionRecord | undefined
      if (yield* fs.exists(sessionFile).pipe(Effect.orElseSucceed(() => false))) {
        const text = yield* readText(sessionFile)
        const decoded = Either.flatMap(text, (json) => Either.mapLeft(decodeSession(json), (error) => error.message))
        if (Either.isRight(decoded)) session = decoded.right
        else skipped.push({ file: sessionFile, problem: decoded.left })
      }
      const names = yield* fs.readDirectory(torrentDir).pipe(Effect.orElseSucceed((): Array<string> => []))
      const torrents: Array<TorrentRecord> = []
      for (const name of names.filter((name) => name.endsWith(".json")).sort()) {
        const file = join(torrentDir, name)
        const decoded = Either.flatMap(
          yield* readText(file),
          (json) => Either.mapLeft(decodeTorrent(json), (error) => error.message.split("\n")[0] ?? "invalid")
        )
        if (Either.isLeft(decoded)) skipped.push({ file, problem: decoded.left })
        else if (`${decoded.right.hash}.json` !== name) skipped.push({ file, problem: "named for another torrent" })
        else torrents.push(decoded.right)
      }
      return { session, torrents, skipped }
    })

    const saveSession = (record: SessionRecord) =>
      writeAtomically(fs, directory, sessionFile, encodeJson(record)).pipe(Effect.mapError(failed(sessionFile)))

    const saveTorrent = (record: TorrentRecord) =>
      writeAtomically(fs, torrentDir, torrentFile(record.hash), encodeJson(record)).pipe(
        Effect.mapError(failed(torrentFile(record.hash)))
      )

    const removeTorrent = (hash: string) =>
      fs.remove(torrentFile(hash)).pipe(
        Effect.catchIf((cause) => cause._tag === "SystemError" && cause.reason === "NotFound", () => Effect.void),
        Effect.mapError(failed(torrentFile(hash)))
      )

    return { load, saveSession, saveTorrent, removeTorrent }
  })
