import type {
  AddOptions,
  EncryptionMode,
  FileChoices,
  SessionSettings,
  SessionSettingsPatch,
  TorrentSettings,
  TorrentSettingsPatch
} from "./Client.js"
import { ClientError } from "./Client.js"
import type { TorrentRecord } from "./ClientState.js"
import type { EncryptionPolicy } from "../peer/encryption.js"
import type { FilePriority } from "../session/selection.js"

/**
 * The session's file priorities for a torrent's settings (unwanted: skipped; Transmission's -1/0/1: low/normal/
 * high), or undefined when the settings do not cover `fileCount` files (a magnet's before its metadata came).
 */
export const filePriorities = (settings: TorrentSettings, fileCount: number): Array<FilePriority> | undefined =>
  settings.wanted.length !== fileCount ? undefined : settings.wanted.map((wanted, index) => {
    if (!wanted) return "skip"
    const priority = settings.priorities[index] ?? 0
    return priority < 0 ? "low" : priority > 0 ? "high" : "normal"
  })

/** The settings with a choice for each of `fileCount` files: a magnet's, all wanted at normal, once its metadata came. */
export const sizedFor = (settings: TorrentSettings, fileCount: number): TorrentSettings =>
  settings.wanted.length === fileCount ? settings : {
    ...settings,
    wanted: Array.from({ length: fileCount }, (_, i) => settings.wanted[i] ?? true),
    priorities: Array.from({ length: fileCount }, (_, i) => settings.priorities[i] ?? 0)
  }

/** Transmission's defaults, with speeds in bytes per second. */
export const defaultSessionSettings = (downloadDir: string): SessionSettings => ({
  downloadDir,
  startAddedTorrents: true,
  downloadQueueEnabled: true,
  downloadQueueSize: 5,
  seedQueueEnabled: false,
  seedQueueSize: 10,
  queueStalledEnabled: true,
  queueStalledMinutes: 30,
  speedLimitDown: 100 * 1024,
  speedLimitDownEnabled: false,
  speedLimitUp: 100 * 1024,
  speedLimitUpEnabled: false,
  altSpeedDown: 50 * 1024,
  altSpeedUp: 50 * 1024,
  altSpeedEnabled: false,
  seedRatioLimit: 2,
  seedRatioLimited: false,
  idleSeedingLimit: 30,
  idleSeedingLimitEnabled: false,
  peerLimitGlobal: 200,
  peerLimitPerTorrent: 50,
  peerPort: 51413,
  encryption: "preferred",
  dhtEnabled: true,
  pexEnabled: true
})

/** Saved settings over the defaults: fields of another type or unknown to this version are dropped. */
export const restoreSettings = (
  defaults: SessionSettings,
  saved: Readonly<Record<string, unknown>> | undefined
): SessionSettings => {
  if (saved === undefined) return defaults
  const result: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(defaults)) {
    if (typeof saved[key] === typeof value) result[key] = saved[key]
  }
  return result as unknown as SessionSettings
}

const invalid = (detail: string) => new ClientError({ reason: "InvalidArgument", detail })

const NON_NEGATIVE: ReadonlyArray<keyof SessionSettings> = [
  "downloadQueueSize",
  "seedQueueSize",
  "queueStalledMinutes",
  "speedLimitDown",
  "speedLimitUp",
  "altSpeedDown",
  "altSpeedUp",
  "seedRatioLimit",
  "idleSeedingLimit",
  "peerLimitGlobal",
  "peerLimitPerTorrent",
  "peerPort"
]

/**
 * Settings of the one peer session every torrent shares, fixed when it starts: reported, but a change would be
 * a lie (the session would go on as it was), so `patchSession` refuses one.
 */
const SET_AT_START: ReadonlyArray<readonly ["peerPort" | "dhtEnabled" | "pexEnabled", string]> = [
  ["peerPort", "the peer port"],
  ["dhtEnabled", "the DHT"],
  ["pexEnabled", "PEX"]
]

/**
 * The session's policy for Transmission's `encryption`: its "tolerated" (plaintext preferred, encryption taken) is
 * nearest to our `disable` (plaintext only).
 */
export const encryptionPolicy: Readonly<Record<EncryptionMode, EncryptionPolicy>> = {
  required: "require",
  preferred: "prefer",
  tolerated: "disable"
}

/** The settings with `patch` applied, or why the patch makes no sense. */
export const patchSession = (
  settings: SessionSettings,
  patch: SessionSettingsPatch
): ClientError | SessionSettings => {
  for (const key of NON_NEGATIVE) {
    const value = patch[key]
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) {
      return invalid(`${key} must be a number, 0 or more`)
    }
  }
  if (patch.peerPort !== undefined && patch.peerPort > 65535) return invalid("peerPort must be at most 65535")
  for (const [key, what] of SET_AT_START) {
    const value = patch[key]
    if (value !== undefined && value !== settings[key]) {
      return invalid(`${what} is set when the peer session starts (bt daemon's options) and cannot change while it runs`)
    }
  }
  const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined))
  return { ...settings, ...defined }
}

/** A new torrent's settings: the session's defaults, then what `add` was given. */
export const initialTorrentSettings = (
  session: SessionSettings,
  fileCount: number,
  options: AddOptions
): TorrentSettings =>
  applyFileChoices({
    downloadLimit: session.speedLimitDown,
    downloadLimited: false,
    uploadLimit: session.speedLimitUp,
    uploadLimited: false,
    honorsSessionLimits: true,
    seedRatioMode: "global",
    seedRatioLimit: session.seedRatioLimit,
    seedIdleMode: "global",
    seedIdleLimit: session.idleSeedingLimit,
    peerLimit: options.peerLimit ?? session.peerLimitPerTorrent,
    labels: options.labels ?? [],
    wanted: Array.from({ length: fileCount }, () => true),
    priorities: Array.from({ length: fileCount }, () => 0 as const)
  }, options)

/** File choices by index; an empty list means every file (as Transmission). Indexes out of range are ignored. */
const applyFileChoices = (settings: TorrentSettings, patch: FileChoices): TorrentSettings => {
  const count = settings.wanted.length
  const indexes = (list: ReadonlyArray<number> | undefined) =>
    list === undefined ? [] : list.length === 0 ? Array.from({ length: count }, (_, i) => i) : list
  const wanted = [...settings.wanted]
  const priorities = [...settings.priorities]
  for (const i of indexes(patch.filesWanted)) if (i >= 0 && i < count) wanted[i] = true
  for (const i of indexes(patch.filesUnwanted)) if (i >= 0 && i < count) wanted[i] = false
  for (const i of indexes(patch.priorityHigh)) if (i >= 0 && i < count) priorities[i] = 1
  for (const i of indexes(patch.priorityNormal)) if (i >= 0 && i < count) priorities[i] = 0
  for (const i of indexes(patch.priorityLow)) if (i >= 0 && i < count) priorities[i] = -1
  return { ...settings, wanted, priorities }
}

const FILE_CHOICES = ["filesWanted", "filesUnwanted", "priorityHigh", "priorityNormal", "priorityLow"] as const

/** Whether `choices` chooses any file. */
export const choosesFiles = (choices: FileChoices): boolean => FILE_CHOICES.some((key) => choices[key] !== undefined)

/** The file choices of `options` alone (none: `undefined`). */
export const fileChoicesOf = (options: FileChoices): FileChoices | undefined =>
  choosesFiles(options)
    ? Object.fromEntries(FILE_CHOICES.flatMap((key) => options[key] === undefined ? [] : [[key, options[key]]]))
    : undefined

/** The torrent's own index of each file it lists (BEP 47 padding files are not listed), in order. */
export const listedIndexes = (files: ReadonlyArray<{ readonly padding: boolean }>): ReadonlyArray<number> =>
  files.flatMap((file, index) => file.padding ? [] : [index])

/**
 * `choices` renumbered from places in a torrent's listed files (`listed`: the torrent's own index of each, as
 * `listedIndexes` gives them) to the torrent's own file indexes, as the RPC numbers files. A place past the list is
 * dropped (a list of nothing else chooses nothing); an empty list still means every file.
 */
export const byTorrentIndex = <P extends FileChoices>(choices: P, listed: ReadonlyArray<number>): P => {
  const renumbered: Record<string, ReadonlyArray<number> | undefined> = {}
  for (const key of FILE_CHOICES) {
    const places = choices[key]
    if (places === undefined) continue
    const indexes = places.flatMap((place) => listed[place] === undefined ? [] : [listed[place]])
    // Every place past the list: no choice at all (an empty list would mean every file).
    renumbered[key] = places.length === 0 ? [...listed] : indexes.length === 0 ? undefined : indexes
  }
  const chosen = { ...choices, ...renumbered }
  for (const key of FILE_CHOICES) if (chosen[key] === undefined) delete chosen[key]
  return chosen
}

/** A magnet's file choices waiting for its metadata: `add`'s alone, or choices to apply in order. */
export type PendingFiles = FileChoices | ReadonlyArray<FileChoices>

const inOrder = (pending: PendingFiles): ReadonlyArray<FileChoices> => Array.isArray(pending) ? pending : [pending as FileChoices]

/** Each choice key's dimension and value, in the order `applyFileChoices` applies them. */
const CHOICE_VALUES = [
  ["filesWanted", "wanted", 1],
  ["filesUnwanted", "wanted", 0],
  ["priorityHigh", "priority", 1],
  ["priorityNormal", "priority", 0],
  ["priorityLow", "priority", -1]
] as const

/**
 * `pending` with `later` after it, as at most two choices that do the same once the files are known: one for every
 * file (an empty list), then one per listed place. Later choices win per place; one for every file replaces all
 * before it. Places stay as the RPC lists them (out of range ones are dropped when the files are known, as `add`'s).
 */
export const mergePending = (pending: PendingFiles | undefined, later: FileChoices): ReadonlyArray<FileChoices> => {
  const every: Partial<Record<"wanted" | "priority", number>> = {}
  const at = { wanted: new Map<number, number>(), priority: new Map<number, number>() }
  for (const choices of [...(pending === undefined ? [] : inOrder(pending)), later]) {
    for (const [key, dimension, value] of CHOICE_VALUES) {
      const places = choices[key]
      if (places === undefined) continue
      if (places.length === 0) {
        every[dimension] = value
        at[dimension].clear()
      }
      for (const place of places) at[dimension].set(place, value)
    }
  }
  const forEvery: Record<string, ReadonlyArray<number>> = {}
  const perPlace: Record<string, Array<number>> = {}
  for (const [key, dimension, value] of CHOICE_VALUES) {
    if (every[dimension] === value) forEvery[key] = []
    const places = [...at[dimension]].flatMap(([place, chosen]) => chosen === value && every[dimension] !== value ? [place] : [])
    if (places.length > 0) perPlace[key] = places.sort((x, y) => x - y)
  }
  return [forEvery, perPlace].filter((choices) => Object.keys(choices).length > 0)
}

/**
 * The record once its torrent's `files` are known: a choice for each file (all wanted at normal), then the choices
 * made before (a magnet's `pendingFiles`, from `add` and `set`) applied in order, and no longer pending.
 */
export const withFilesKnown = (
  record: TorrentRecord,
  files: ReadonlyArray<{ readonly padding: boolean }>
): TorrentRecord => {
  const { pendingFiles, ...rest } = record
  const listed = listedIndexes(files)
  const settings = inOrder(pendingFiles ?? []).reduce(
    (settings, choices) => applyFileChoices(settings, byTorrentIndex(choices, listed)),
    sizedFor(record.settings, files.length)
  )
  return { ...rest, settings }
}

/** A torrent's settings with `patch` applied, or why it makes no sense. */
export const patchTorrent = (
  settings: TorrentSettings,
  patch: TorrentSettingsPatch
): ClientError | TorrentSettings => {
  for (const key of ["downloadLimit", "uploadLimit", "seedRatioLimit", "seedIdleLimit", "peerLimit"] as const) {
    const value = patch[key]
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) return invalid(`${key} must be a number, 0 or more`)
  }
  const {
    filesUnwanted: _fu,
    filesWanted: _fw,
    priorityHigh: _ph,
    priorityLow: _pl,
    priorityNormal: _pn,
    queuePosition: _qp,
    trackerAdd: _ta,
    trackerRemove: _tr,
    ...plain
  } = patch
  const defined = Object.fromEntries(Object.entries(plain).filter(([, value]) => value !== undefined))
  return applyFileChoices({ ...settings, ...defined }, patch)
}
