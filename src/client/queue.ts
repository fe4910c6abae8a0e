/**
 * Which torrents run, as Transmission's queue decides it. Pure: no Effect, no clock.
 *
 * A torrent the user wants running either runs or waits for a slot. Downloads and seeds have separate queues, each
 * of a size with a switch (Transmission's `download-queue-size` 5 on, `seed-queue-size` off). A torrent started with
 * "start now" (`forced`) runs outside the queue. A running torrent that is stalled (no payload for a while) keeps
 * running but holds no slot, so the next in line starts beside it. Running torrents are not pushed out by ones that
 * move ahead of them in the queue; only a smaller queue stops the ones furthest back.
 */

export interface QueueEntry {
  readonly id: number
  /** The user wants it running: not stopped, not failed. */
  readonly wanted: boolean
  /** Started past the queue. */
  readonly forced: boolean
  /** Every wanted piece is verified: it belongs to the seed queue. */
  readonly complete: boolean
  readonly running: boolean
  /** Running, yet nothing moved for the stalled time. */
  readonly stalled: boolean
}

export interface QueueLimits {
  readonly downloadQueueEnabled: boolean
  readonly downloadQueueSize: number
  readonly seedQueueEnabled: boolean
  readonly seedQueueSize: number
}

/** The ids that should run; every other torrent should not. `entries` are in queue order, the front first. */
export const runnable = (entries: ReadonlyArray<QueueEntry>, limits: QueueLimits): ReadonlySet<number> => {
  const run = new Set<number>()
  const fill = (complete: boolean, enabled: boolean, size: number) => {
    const queued = entries.filter((entry) => entry.wanted && !entry.forced && entry.complete === complete)
    if (!enabled) {
      for (const entry of queued) run.add(entry.id)
      return
    }
    const slots = Math.max(0, size)
    // Running torrents keep their slots, the front of the queue first; a smaller queue stops the ones furthest back.
    let used = 0
    for (const entry of queued) {
      if (!entry.running) continue
      if (entry.stalled || used < slots) run.add(entry.id)
      if (!entry.stalled && used < slots) used++
    }
    for (const entry of queued) {
      if (entry.running || used >= slots) continue
      run.add(entry.id)
      used++
    }
  }
  for (const entry of entries) if (entry.wanted && entry.forced) run.add(entry.id)
  fill(false, limits.downloadQueueEnabled, limits.downloadQueueSize)
  fill(true, limits.seedQueueEnabled, limits.seedQueueSize)
  return run
}

/** The queue order after moving `ids` to the top, up one, down one or to the bottom; other torrents keep order. */
export const moveInQueue = (
  order: ReadonlyArray<number>,
  ids: ReadonlyArray<number>,
  move: "top" | "up" | "down" | "bottom"
): ReadonlyArray<number> => {
  const moving = new Set(ids.filter((id) => order.includes(id)))
  const rest = order.filter((id) => !moving.has(id))
  const picked = order.filter((id) => moving.has(id))
  switch (move) {
    case "top":
      return [...picked, ...rest]
    case "bottom":
      return [...rest, ...picked]
    case "up": {
      const result = [...order]
      for (let i = 1; i < result.length; i++) {
        if (moving.has(result[i]!) && !moving.has(result[i - 1]!)) {
          ;[result[i - 1], result[i]] = [result[i]!, result[i - 1]!]
        }
      }
      return result
    }
    case "down": {
      const result = [...order]
      for (let i = result.length - 2; i >= 0; i--) {
        if (moving.has(result[i]!) && !moving.has(result[i + 1]!)) {
          ;[result[i], result[i + 1]] = [result[i + 1]!, result[i]!]
        }
      }
      return result
    }
  }
}

/** The order with `id` placed at `position` (clamped), for `torrent-set`'s `queuePosition`. */
export const placeInQueue = (order: ReadonlyArray<number>, id: number, position: number): ReadonlyArray<number> => {
  const rest = order.filter((other) => other !== id)
  const at = Math.max(0, Math.min(rest.length, Math.floor(position)))
  return [...rest.slice(0, at), id, ...rest.slice(at)]
}
