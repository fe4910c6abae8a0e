import type { Selector, TorrentRef } from "./Client.js"
import type { Entry } from "./entry.js"

/** How long a removed torrent's id is reported by `recently-active`, and a changed torrent counts as recent. */
export const RECENT_MS = 60_000

/** The client's torrents and the counters its parts share: plain mutable data, changed under the client's lock. */
export interface Registry {
  readonly entries: Map<number, Entry>
  readonly byHash: Map<string, number>
  order: ReadonlyArray<number>
  removed: Array<{ readonly id: number; readonly at: number }>
  nextId: number
  /**
   * Something changed that the queue may care about since the last `reconcile`: the tick reconciles only then
   * (or while torrents wait for a slot, where time alone can free one), so a thousand quiet seeds cost no pass.
   */
  dirty: boolean
  /** Torrents wanted but not running after the last `reconcile`: waiting in the queue. */
  waiting: number
  /** This session's transfer counters. */
  readonly current: { uploadedBytes: number; downloadedBytes: number; filesAdded: number }
}

/** An empty registry, with the ways to find torrents in it and to mark one changed. */
export const makeRegistry = (now: () => number) => {
  const registry: Registry = {
    entries: new Map(),
    byHash: new Map(),
    order: [],
    removed: [],
    nextId: 1,
    dirty: true,
    waiting: 0,
    current: { uploadedBytes: 0, downloadedBytes: 0, filesAdded: 0 }
  }
  const { entries, byHash } = registry

  const touch = (entry: Entry) => {
    entry.changedAt = now()
    registry.dirty = true
    wakeUp(entry)
  }
  /** The next tick looks at it even if it is quiet (its settings or the session's changed). */
  const wakeUp = (entry: Entry) => {
    if (entry.run !== undefined) entry.run.quietSampled = false
  }

  const find = (ref: TorrentRef): Entry | undefined => {
    const id = typeof ref === "number" ? ref : byHash.get(ref.toLowerCase())
    return id === undefined ? undefined : entries.get(id)
  }
  /** The torrents selected, in queue order; unknown ids and hashes are skipped. */
  const select = (selector: Selector): ReadonlyArray<Entry> => {
    const all = registry.order.map((id) => entries.get(id)!)
    if (selector === "all") return all
    if (selector === "recently-active") return all.filter((entry) => now() - entry.changedAt < RECENT_MS)
    const chosen = new Set(selector.map(find).filter((entry) => entry !== undefined))
    return all.filter((entry) => chosen.has(entry))
  }

  return { registry, touch, wakeUp, find, select }
}
