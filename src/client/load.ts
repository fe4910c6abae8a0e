import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import { parseMagnet, parseMetadata, type TorrentInfo } from "../metainfo/index.js"
import { Bitfield } from "../piece/index.js"
import type { ResumeStore } from "../resume/index.js"
import type { TorrentSettings } from "./Client.js"
import type { TorrentRecord } from "./ClientState.js"
import type { Entry } from "./entry.js"
import type { TorrentLimits } from "./limits.js"
import { applyRenames } from "./rename.js"
import { withFilesKnown } from "./settings.js"

/** The torrent's metadata from the ResumeStore, if saved and still hashing to its info-hash. */
const savedInfo = (resume: ResumeStore["Type"], record: TorrentRecord) =>
  Effect.map(resume.loadMetadata(record.hash), (bytes) => {
    if (bytes._tag === "None" || createHash("sha1").update(bytes.value).digest("hex") !== record.hash) return undefined
    const info = Either.getOrUndefined(parseMetadata(bytes.value, { trackers: record.trackers, source: record.name }))
    return info === undefined ? undefined : applyRenames(info, record.renames ?? [])
  })

/** The verified pieces the ResumeStore holds for it, if any fit. */
const savedPieces = (resume: ResumeStore["Type"], hash: string, info: TorrentInfo | undefined) =>
  info === undefined
    ? Effect.succeed(undefined)
    : Effect.map(resume.load(hash), (state) =>
      state._tag === "Some" && state.value.pieceCount === info.pieceCount
        ? Bitfield.fromBytes(state.value.bitfield, info.pieceCount)
        : undefined)

/**
 * The saved torrents as entries, in their saved queue order, none running. A torrent whose metadata is lost or
 * damaged comes back as its magnet link (fetched again from peers); one whose record contradicts another is skipped.
 */
export const loadEntries = (
  records: ReadonlyArray<TorrentRecord>,
  resume: ResumeStore["Type"],
  limitsFor: (settings: TorrentSettings) => TorrentLimits
): Effect.Effect<ReadonlyArray<Entry>> =>
  Effect.gen(function*() {
    const entries: Array<Entry> = []
    const ids = new Set<number>()
    const hashes = new Set<string>()
    for (const record of [...records].sort((a, b) => a.queuePosition - b.queuePosition)) {
      const magnet = parseMagnet(record.magnet)
      if (Either.isLeft(magnet) || hashes.has(record.hash) || ids.has(record.id)) {
        yield* Effect.logWarning(`skipping the saved torrent ${record.name} (${record.hash}): its record is inconsistent`)
        continue
      }
      const info = yield* savedInfo(resume, record)
      entries.push({
        // Its metadata came but the record saying so was not written: the choices it was added with apply now.
        record: info !== undefined && record.pendingFiles !== undefined ? withFilesKnown(record, info.files) : record,
        magnet: magnet.right,
        info,
        run: undefined,
        forced: false,
        checkOnly: false,
        metadataOnly: false,
        error: undefined,
        pieces: yield* savedPieces(resume, record.hash, info),
        changedAt: 0,
        limits: limitsFor(record.settings),
        trackers: []
      })
      ids.add(record.id)
      hashes.add(record.hash)
    }
    return entries
  })
