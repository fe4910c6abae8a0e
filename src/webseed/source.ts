import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { TorrentInfo } from "../metainfo/index.js"
import { Bitfield, BLOCK_SIZE, type BlockRequest } from "../piece/index.js"
import { RateMeter } from "../session/RateMeter.js"
import { blockRuns, splitAtFiles } from "./ranges.js"
import { fileUrl } from "./url.js"
import type { WebSeed } from "./WebSeed.js"
import { retryable, type WebSeedError } from "./WebSeedError.js"

/** What a web seed is doing: fetching, waiting for work, backing off after a failure, or set aside for good. */
export type WebSeedState = "active" | "idle" | "backoff" | "dropped"

/** What progress shows of a web seed. */
export interface WebSeedInfo {
  readonly url: string
  readonly state: WebSeedState
  /** Bytes per second, and payload bytes it sent that we kept. */
  readonly downloadRate: number
  readonly downloaded: number
  /** Why it is backing off or was set aside. */
  readonly reason?: string
}

/**
 * One web seed (BEP 19) of a torrent, as the swarm sees it: a seed that has every piece and is always unchoked. It
 * takes requests from the piece picker as a peer does (so its blocks verify, and are blamed, as a peer's do) but
 * fetches them as HTTP ranges. Plain state; `runWebSeed` drives it.
 */
export class WebSeedSource {
  readonly key: string
  readonly download: RateMeter
  downloaded = 0
  state: WebSeedState = "idle"
  reason: string | undefined
  /** Range requests in flight. */
  fetching = 0

  constructor(readonly url: URL, now: number) {
    this.key = url.href
    this.download = new RateMeter(now)
  }

  /** An HTTP range cannot be cut short by the block: a block that comes after it was cancelled is not taken. */
  cancel(_index: number, _begin: number, _length: number): void {}

  delivered(bytes: number): void {
    this.download.add(bytes)
    this.downloaded += bytes
  }

  get rate(): number {
    return this.download.rate
  }

  get dropped(): boolean {
    return this.state === "dropped"
  }

  /** Sets the URL aside for the rest of the run. */
  drop(reason: string): void {
    this.state = "dropped"
    this.reason = reason
  }

  info(): WebSeedInfo {
    return {
      url: this.key,
      state: this.state,
      downloadRate: this.state === "dropped" ? 0 : this.rate,
      downloaded: this.downloaded,
      ...(this.reason === undefined ? {} : { reason: this.reason })
    }
  }
}

/** What a web seed needs of the torrent's swarm. */
export interface WebSeedHost {
  readonly picker: {
    nextRun(peer: WebSeedSource, bits: Bitfield, max: number, now: number): Array<BlockRequest>
    requestRejected(peer: WebSeedSource, index: number, begin: number): void
    readonly pieceLength: number
    readonly pieceCount: number
  }
  now(): number
  backlogged(): boolean
  /** Adds the web seed as a peer with every piece; `removeWebSeed` takes it out and frees its requests. */
  addWebSeed(seed: WebSeedSource): void
  removeWebSeed(seed: WebSeedSource): void
  blockReceived(seed: WebSeedSource, index: number, begin: number, block: Uint8Array): void
  /** A fetch starts after a quiet time: periodic upkeep that sleeps without peers should run again. */
  wake(): void
}

/** How long a web seed with nothing to fetch waits before it looks again. */
const IDLE_POLL = Duration.seconds(2)
/** How long a web seed waits for the disk to catch up before it looks again. */
const BACKLOG_POLL = Duration.millis(50)

/**
 * Drives a web seed until the scope closes or it is set aside: `inFlight` workers each claim a run of adjacent
 * blocks from the picker (`rangeBytes` at most), fetch it as range requests cut at file boundaries, and hand its
 * blocks to the swarm as they complete. Blocks not delivered go back to the picker. A busy or unreachable server
 * is waited for on the `retry` schedule (or its `Retry-After`); any other failure sets the URL aside.
 */
export const runWebSeed = (
  host: WebSeedHost,
  torrent: TorrentInfo,
  seed: WebSeedSource,
  webSeed: WebSeed["Type"]
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const config = webSeed.config
    const all = Bitfield.full(torrent.pieceCount)
    // Whole pieces, one at least: a piece the web seed starts is all its own (see `nextRun`).
    const perPiece = Math.ceil(torrent.pieceLength / BLOCK_SIZE)
    const maxBlocks = Math.max(1, Math.floor(config.rangeBytes / torrent.pieceLength)) * perPiece
    const retry = yield* Schedule.driver(config.retry)
    /** Held while backing off: the other workers wait at it. */
    const gate = yield* Effect.makeSemaphore(1)
    /** When the last back-off ended: a failure of a request sent before it belongs to the same outage. */
    let backedOffAt = -Infinity

    host.addWebSeed(seed)
    yield* Effect.addFinalizer(() => Effect.sync(() => host.removeWebSeed(seed)))

    /** Fetches `blocks`, handing each to the swarm when whole; those not delivered are released, however it ends. */
    const fetchBlocks = (blocks: ReadonlyArray<BlockRequest>) => {
      const runs = blockRuns(blocks, torrent.pieceLength, config.rangeBytes)
      let delivered = 0
      const ordered = runs.flatMap((run) => run.blocks)
      return Effect.forEach(runs, (run) => {
        let current = new Uint8Array(ordered[delivered]!.length)
        let filled = 0
        const onData = (chunk: Uint8Array) => {
          let at = 0
          while (at < chunk.length && !seed.dropped) {
            const take = Math.min(chunk.length - at, current.length - filled)
            current.set(chunk.subarray(at, at + take), filled)
            filled += take
            at += take
            if (filled === current.length) {
              const block = ordered[delivered]!
              delivered++
              host.blockReceived(seed, block.index, block.begin, current)
              if (delivered < ordered.length) current = new Uint8Array(ordered[delivered]!.length)
              filled = 0
            }
          }
        }
        return Effect.forEach(splitAtFiles(torrent.files, run.start, run.length), (span) =>
          span.padding
            ? Effect.sync(() => onData(new Uint8Array(span.length)))
            : webSeed.fetch({ url: fileUrl(seed.url, torrent, span.file), offset: span.offset, length: span.length }, onData),
          { discard: true })
      }, { discard: true }).pipe(
        Effect.ensuring(Effect.sync(() => {
          for (const block of ordered.slice(delivered)) host.picker.requestRejected(seed, block.index, block.begin)
        }))
      )
    }

    /** What went wrong, naming the file's URL when it is not the seed's own. */
    const describe = (error: WebSeedError) => error.url === seed.key ? error.detail : `${error.url}: ${error.detail}`

    /** A retryable failure: wait (once for all workers) on the schedule, or as long as the server asked. */
    const backOff = (error: WebSeedError, sentAt: number) =>
      gate.withPermits(1)(Effect.gen(function*() {
        if (sentAt < backedOffAt || seed.dropped) return
        seed.state = "backoff"
        seed.reason = describe(error)
        const asked = error.retryAfter
        if (asked !== undefined) {
          yield* Effect.sleep(Duration.min(Duration.seconds(asked), Duration.decode(config.maxRetryAfter)))
        } else {
          yield* retry.next(undefined).pipe(Effect.catchAll(() =>
            Effect.sync(() => seed.drop(`gave up after retrying: ${describe(error)}`))
          ))
        }
        backedOffAt = host.now()
        if (seed.state === "backoff") seed.state = "idle"
      }))

    const worker = Effect.gen(function*() {
      for (;;) {
        yield* gate.withPermits(1)(Effect.void)
        if (seed.dropped) return
        const now = host.now()
        if (host.backlogged()) {
          // The disk is behind: it catches up within moments, so look again soon.
          yield* Effect.sleep(BACKLOG_POLL)
          continue
        }
        const blocks = host.picker.nextRun(seed, all, maxBlocks, now)
        if (blocks.length === 0) {
          if (seed.fetching === 0) seed.state = "idle"
          yield* Effect.sleep(IDLE_POLL)
          continue
        }
        if (seed.fetching++ === 0) host.wake()
        seed.state = "active"
        const result = yield* Effect.either(fetchBlocks(blocks)).pipe(Effect.ensuring(Effect.sync(() => seed.fetching--)))
        if (result._tag === "Right") {
          yield* retry.reset
          if (seed.reason !== undefined && !seed.dropped) seed.reason = undefined
          continue
        }
        const error = result.left
        if (retryable(error.reason)) {
          yield* Effect.logDebug(error.message)
          yield* backOff(error, now)
        } else {
          if (!seed.dropped) seed.drop(describe(error))
          host.removeWebSeed(seed)
          return
        }
      }
    })

    yield* Effect.all(Array.from({ length: Math.max(1, config.inFlight) }, () => worker), {
      concurrency: "unbounded",
      discard: true
    })
    // Every worker stopped: the URL was set aside.
    yield* Effect.logWarning(`web seed ${seed.key} set aside: ${seed.reason ?? "unknown reason"}`)
  }).pipe(Effect.scoped, Effect.annotateLogs("webseed", seed.key))
