import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { SessionSettings } from "./Client.js"
import { type Entry, idleLimit, isComplete, isStalled, isWanted, ratioLimit, statusOf, totals } from "./entry.js"
import type { Persistence } from "./persist.js"
import { runnable } from "./queue.js"
import { RECENT_MS, type Registry } from "./registry.js"
import type { Runs } from "./runs.js"

/** How often the tick looks at a quiet torrent (no peers, nothing changing): its time counters and idle limit. */
const QUIET_VISIT_MS = 30_000

/** The queue's reconcile and the client's periodic tick over its running torrents. */
export const makeTick = (o: {
  readonly registry: Registry
  readonly settings: Ref.Ref<SessionSettings>
  readonly now: () => number
  readonly save: Duration.DurationInput | undefined
  readonly touch: (entry: Entry) => void
  readonly runs: Runs
  readonly persistence: Persistence
}) => {
  const { registry, settings, now, touch } = o
  const { entries } = registry
  const { startRun, stopRun, sample, countTime } = o.runs
  const { saveQuietly, saveSession } = o.persistence

  /** A seed past its ratio or idle limit stops, `finished`. */
  const seedLimitReached = (entry: Entry, current_: SessionSettings): boolean => {
    if (entry.run === undefined || statusOf(entry) !== "seeding" || entry.info === undefined) return false
    const { downloadedEver, uploadedEver } = totals(entry)
    const ratio = uploadedEver / Math.max(1, downloadedEver > 0 ? downloadedEver : entry.info.totalLength)
    const ratioAt = ratioLimit(entry.record.settings, current_)
    if (ratioAt !== undefined && ratio >= ratioAt) return true
    const idleAt = idleLimit(entry.record.settings, current_)
    const since = Math.max(entry.run.startedAt, entry.record.activityDate)
    return idleAt !== undefined && now() - since >= idleAt * 60_000
  }

  /** Starts and stops torrents as the queue says. Under the lock. */
  const reconcile = Effect.gen(function*() {
    registry.dirty = false
    const current_ = yield* Ref.get(settings)
    const at = now()
    const run = runnable(
      registry.order.flatMap((id) => {
        const entry = entries.get(id)
        if (entry === undefined) return []
        return [{
          id,
          wanted: isWanted(entry),
          forced: entry.forced || entry.checkOnly || entry.metadataOnly,
          complete: isComplete(entry),
          running: entry.run !== undefined,
          stalled: isStalled(entry, at, current_)
        }]
      }),
      current_
    )
    for (const id of registry.order) {
      const entry = entries.get(id)!
      if (entry.run !== undefined && !run.has(id)) yield* stopRun(entry)
    }
    registry.waiting = 0
    for (const id of registry.order) {
      const entry = entries.get(id)!
      if (entry.run === undefined && run.has(id)) yield* startRun(entry)
      else if (entry.run === undefined && isWanted(entry)) registry.waiting++
    }
  })

  let lastSave = now()
  const saveInterval = Duration.toMillis(o.save ?? Duration.seconds(30))
  /**
   * Once a second: samples the running torrents that are not quiet (a quiet one once more, when it turns quiet),
   * counts their time downloading and seeding, applies seed limits, and reconciles the queue if anything moved. A
   * quiet torrent is passed over but every `QUIET_VISIT_MS` (for its time counters and its idle seeding limit):
   * a thousand idle seeds cost a thousand plain reads a second.
   */
  const tick = Effect.gen(function*() {
    const current_ = yield* Ref.get(settings)
    const at = now()
    for (const entry of entries.values()) {
      const run = entry.run
      if (run === undefined) continue
      const quiet = run.torrent?.quiet() ?? false
      if (quiet && run.quietSampled && at - run.visitedAt < QUIET_VISIT_MS) continue
      if (!quiet || !run.quietSampled) yield* sample(entry)
      run.quietSampled = quiet
      countTime(entry, run, at)
      if (seedLimitReached(entry, current_)) {
        entry.record = { ...entry.record, paused: true, finished: true }
        touch(entry)
      }
    }
    if (registry.dirty || registry.waiting > 0) yield* reconcile
    if (registry.removed.length > 0) registry.removed = registry.removed.filter((gone) => now() - gone.at < RECENT_MS)
    if (now() - lastSave >= saveInterval) {
      const since = lastSave
      lastSave = now()
      for (const entry of entries.values()) {
        if (entry.run !== undefined && entry.changedAt >= since) yield* saveQuietly(entry)
      }
      yield* saveSession.pipe(Effect.catchAll((error) => Effect.logWarning(error.message)))
    }
  })

  return { reconcile, tick }
}
