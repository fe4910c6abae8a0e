import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { PortMapper } from "../net/portmap/index.js"
import { type MagnetHandle, Session, type TorrentHandle } from "../session/index.js"
import { metadataLine, progressLine, type Shown, stalledReason } from "./progress.js"
import { Quiet } from "./quiet.js"
import { RateWindow } from "./RateWindow.js"

export type ReportMode = "tty" | "plain" | "json"

/** How to show progress: a live line on a terminal, a line every few seconds in a log, or JSON lines. */
export const reportMode = (json: boolean): ReportMode => (json ? "json" : process.stdout.isTTY === true ? "tty" : "plain")

const every: Record<ReportMode, Duration.DurationInput> = {
  tty: Duration.millis(500),
  plain: Duration.seconds(5),
  json: Duration.seconds(1)
}

/** A live progress report: its latest figures, and a way to stop it before printing something else. */
export interface ProgressReport {
  /** The progress now, with rates over the report's window. */
  readonly latest: Effect.Effect<Shown>
  /** Stops the report, clearing the live line on a terminal; stopping twice is harmless. */
  readonly stop: Effect.Effect<void>
}

/** The JSON line of a progress: the session's fields, the rates measured over the window, the ETA in seconds. */
const progressJson = (shown: Shown, extra: object) =>
  JSON.stringify({
    event: "progress",
    ...shown.progress,
    ...extra,
    downloadRate: Math.round(shown.downloadRate),
    uploadRate: Math.round(shown.uploadRate),
    eta: Number.isFinite(shown.eta) ? Math.round(shown.eta) : null,
    ...(stalledReason(shown) === undefined ? {} : { reason: stalledReason(shown) })
  })

/** The port mapping's status and what it ignored (`rejected`) for JSON progress, when a PortMapper is there and was asked to map. */
const portMapping: Effect.Effect<object> = Effect.flatMap(Effect.serviceOption(PortMapper), (mapper) =>
  Option.isNone(mapper)
    ? Effect.succeed({})
    : Effect.map(
      Effect.all([mapper.value.status, mapper.value.rejected]),
      ([status, rejected]) => (status.state === "off" ? {} : { portMapping: { ...status, rejected } })
    ))

/** Our own addresses as the swarm tells them, for JSON progress, when there is a Session. */
const externalAddress: Effect.Effect<object> = Effect.flatMap(Effect.serviceOption(Session), (session) =>
  Option.isNone(session)
    ? Effect.succeed({})
    : Effect.map(session.value.externalAddresses, (externalAddress) => ({ externalAddress })))

/**
 * Prints progress on the mode's interval, in the background, until stopped or the scope closes. Rates are
 * measured here, over a window of the last two seconds (or the interval between log lines, if longer), from the totals the torrent reports: the first line after
 * a second of transfer shows that second's rate, and a seeder's upload rate is what its upload total did.
 */
export const reportProgress = (handle: TorrentHandle, mode: ReportMode): Effect.Effect<ProgressReport, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Two seconds, so the line follows a transfer that starts or stops within two seconds (a 5 s window showed a
    // seeder's first peer at a fifth of its rate, and a rate for 5 s after it left); a log line every 5 s covers
    // all the time since the line before.
    const window = Math.max(2_000, Duration.toMillis(every[mode]))
    const down = new RateWindow(window)
    const up = new RateWindow(window)
    const latest = Effect.zipWith(handle.progress, Clock.currentTimeMillis, (progress, now): Shown => {
      down.add(now, progress.downloaded)
      up.add(now, progress.uploaded)
      return {
        progress,
        downloadRate: down.rate,
        uploadRate: up.rate,
        eta: down.eta(progress.wantedLength - progress.wantedVerified)
      }
    })
    let shown = false
    const print = (line: Shown) =>
      mode === "json"
        ? Effect.flatMap(
          Effect.zipWith(portMapping, externalAddress, (mapping, addresses) => ({ ...mapping, ...addresses })),
          (extra) => Console.log(progressJson(line, extra))
        )
        : mode === "tty"
        ? Effect.sync(() => {
          shown = true
          // One line that fits, or the next write could not take its place.
          process.stdout.write(`\r\x1b[K${progressLine(line).slice(0, ((process.stdout.columns ?? 0) > 20 ? process.stdout.columns : 100) - 1)}`)
        })
        : Console.log(progressLine(line))
    yield* latest // the first sample: the window starts now
    const quiet = yield* Quiet
    const fiber = yield* Effect.sleep(every[mode]).pipe(
      Effect.zipRight(latest),
      Effect.flatMap((line) => quiet ? Effect.void : print(line)),
      Effect.forever,
      Effect.forkScoped
    )
    const stop = Fiber.interrupt(fiber).pipe(
      Effect.zipRight(Effect.sync(() => {
        if (shown) process.stdout.write("\r\x1b[K")
        shown = false
      }))
    )
    yield* Effect.addFinalizer(() => stop)
    return { latest, stop }
  })

/** Prints how the metadata fetch of a magnet link goes, on the mode's interval, until the scope closes. */
export const reportMetadata = (handle: MagnetHandle, mode: ReportMode): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Quiet, (quiet) => {
    const progress = handle.metadataProgress()
    return quiet
      ? Effect.void
      : mode === "json"
      ? Console.log(JSON.stringify({ event: "metadata", ...progress }))
      : mode === "tty"
      ? Effect.sync(() => process.stdout.write(`\r\x1b[K${metadataLine(progress)}`))
      : Console.log(metadataLine(progress))
  }).pipe(
    Effect.schedule(Schedule.spaced(every[mode])),
    Effect.ensuring(mode === "tty" ? Effect.sync(() => process.stdout.write("\r\x1b[K")) : Effect.void),
    Effect.forkScoped,
    Effect.asVoid
  )

/** Parses a duration such as `90`, `30s`, `15m`, `2h` or `1d` (a bare number is seconds). */
export const parseDuration = (text: string): Duration.Duration | undefined => {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(text.trim())
  if (match === null) return undefined
  const value = Number(match[1])
  const unit = match[2] ?? "s"
  return Duration.seconds(value * { s: 1, m: 60, h: 3600, d: 86400 }[unit]!)
}
