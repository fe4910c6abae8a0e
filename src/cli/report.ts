import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { PortMapper } from "../net/portmap/PortMapper.js"
import type { MagnetHandle, TorrentHandle } from "../session/index.js"
import { metadataLine, progressLine } from "./progress.js"

export type ReportMode = "tty" | "plain" | "json"

/** How to show progress: a live line on a terminal, a line every few seconds in a log, or JSON lines. */
export const reportMode = (json: boolean): ReportMode => (json ? "json" : process.stdout.isTTY === true ? "tty" : "plain")

const every: Record<ReportMode, Duration.DurationInput> = {
  tty: Duration.millis(500),
  plain: Duration.seconds(5),
  json: Duration.seconds(1)
}

/** The port mapping's status for JSON progress, when a PortMapper is there and was asked to map. */
const portMapping = Effect.flatMap(Effect.serviceOption(PortMapper), (mapper) =>
  Option.isNone(mapper)
    ? Effect.succeed({})
    : Effect.map(mapper.value.status, (status) => (status.state === "off" ? {} : { portMapping: status })))

/** Prints the torrent's progress now. */
export const printProgress = (handle: TorrentHandle, mode: ReportMode): Effect.Effect<void> =>
  Effect.flatMap(handle.progress, (progress) =>
    mode === "json"
      ? Effect.flatMap(portMapping, (mapping) => Console.log(JSON.stringify({ event: "progress", ...progress, ...mapping })))
      : mode === "tty"
      ? Effect.sync(() => process.stdout.write(`\r\x1b[K${progressLine(progress)}`))
      : Console.log(progressLine(progress)))

/** Prints progress on the mode's interval, in the background, until the scope closes. */
export const reportProgress = (handle: TorrentHandle, mode: ReportMode): Effect.Effect<void, never, Scope.Scope> =>
  printProgress(handle, mode).pipe(
    Effect.schedule(Schedule.spaced(every[mode])),
    Effect.ensuring(mode === "tty" ? Effect.sync(() => process.stdout.write("\r\x1b[K")) : Effect.void),
    Effect.forkScoped,
    Effect.asVoid
  )

/** Prints how the metadata fetch of a magnet link goes, on the mode's interval, until the scope closes. */
export const reportMetadata = (handle: MagnetHandle, mode: ReportMode): Effect.Effect<void, never, Scope.Scope> =>
  Effect.suspend(() => {
    const progress = handle.metadataProgress()
    return mode === "json"
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
