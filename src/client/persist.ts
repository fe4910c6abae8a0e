import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { SessionSettings, TransferTotals } from "./Client.js"
import type { SessionRecord, StateFiles, TorrentRecord } from "./ClientState.js"
import { type Entry, totals } from "./entry.js"
import type { Registry } from "./registry.js"

/** The client's writes to its state folder: the session record, and each torrent's record when it changed. */
export const makePersistence = (o: {
  readonly files: StateFiles
  readonly settings: Ref.Ref<SessionSettings>
  readonly registry: Registry
  readonly now: () => number
  readonly startedAt: number
  readonly cumulativeAtStart: TransferTotals
}) =>
  Effect.map(Effect.makeSemaphore(1), (saveLock) => {
    const { files, settings, registry, now, startedAt, cumulativeAtStart } = o
    const { current } = registry

    const sessionRecord = (): Effect.Effect<SessionRecord> =>
      Effect.map(Ref.get(settings), (current_) => ({
        version: 1 as const,
        nextId: registry.nextId,
        settings: { ...current_ },
        cumulative: cumulativeNow(),
        queue: [...registry.order]
      }))
    const saveSession = Effect.flatMap(sessionRecord(), (record) => saveLock.withPermits(1)(files.saveSession(record)))

    const recordNow = (entry: Entry): TorrentRecord => ({
      ...entry.record,
      ...totals(entry),
      queuePosition: registry.order.indexOf(entry.record.id)
    })
    /** Each torrent's record as last written, to skip writing one that has not changed. */
    const written = new Map<number, string>()
    // Time counters alone do not make a write (an idle seed would be written every round); they go with the next.
    const comparable = (record: TorrentRecord) => JSON.stringify({ ...record, secondsDownloading: 0, secondsSeeding: 0 })
    const saveEntry = (entry: Entry) =>
      Effect.suspend(() => {
        const record = recordNow(entry)
        const text = comparable(record)
        if (written.get(record.id) === text) return Effect.void
        return saveLock.withPermits(1)(files.saveTorrent(record)).pipe(
          Effect.tap(() => Effect.sync(() => written.set(record.id, text)))
        )
      })
    /** Saves, logging a failure rather than failing what triggered it (the state is saved again later). */
    const saveQuietly = (entry: Entry) => saveEntry(entry).pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))

    const cumulativeNow = (): TransferTotals => ({
      uploadedBytes: cumulativeAtStart.uploadedBytes + current.uploadedBytes,
      downloadedBytes: cumulativeAtStart.downloadedBytes + current.downloadedBytes,
      filesAdded: cumulativeAtStart.filesAdded + current.filesAdded,
      secondsActive: cumulativeAtStart.secondsActive + Math.floor((now() - startedAt) / 1000),
      sessionCount: cumulativeAtStart.sessionCount + 1
    })

    return { saveSession, saveEntry, saveQuietly, cumulativeNow, written, comparable }
  })

export type Persistence = Effect.Effect.Success<ReturnType<typeof makePersistence>>
