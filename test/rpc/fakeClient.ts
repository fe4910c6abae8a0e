/**
 * A test double of the Client: torrents in memory, every call recorded, so RPC tests can check what reached the
 * Client and what the RPC made of its answers.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import {
  type Added,
  type AddOptions,
  type AddSource,
  type Client,
  ClientError,
  type Selector,
  type SessionSettings,
  type TorrentSnapshot
} from "../../src/client/Client.js"
import { defaultSessionSettings } from "../../src/client/settings.js"

export const snapshot = (id: number, overrides: Partial<TorrentSnapshot> = {}): TorrentSnapshot => ({
  id,
  hashString: id.toString(16).padStart(40, "a"),
  name: `torrent-${id}`,
  status: "downloading",
  error: 0,
  errorString: "",
  stalledReason: "",
  isStalled: false,
  secondsDownloading: 0,
  secondsSeeding: 0,
  isFinished: false,
  isPrivate: false,
  totalSize: 1_000_000,
  sizeWhenDone: 1_000_000,
  leftUntilDone: 500_000,
  haveValid: 500_000,
  haveUnchecked: 0,
  percentDone: 0.5,
  recheckProgress: 0,
  metadataPercentComplete: 1,
  downloadedEver: 500_000,
  uploadedEver: 0,
  corruptEver: 0,
  uploadRatio: 0,
  rateDownload: 1234,
  rateUpload: 0,
  eta: 405,
  peersConnected: 2,
  diskQueueBytes: 16384,
  peersSendingToUs: 1,
  peersGettingFromUs: 0,
  webseeds: [],
  webseedsSendingToUs: 0,
  peersKnown: 5,
  downloadDir: "/data",
  addedDate: 1_700_000_000_000,
  doneDate: 0,
  activityDate: 1_700_000_100_000,
  startDate: 1_700_000_000_000,
  queuePosition: id - 1,
  magnetLink: `magnet:?xt=urn:btih:${id.toString(16).padStart(40, "a")}`,
  pieceCount: 4,
  pieceSize: 262_144,
  settings: {
    downloadLimit: 100_000,
    downloadLimited: false,
    uploadLimit: 50_000,
    uploadLimited: true,
    honorsSessionLimits: true,
    seedRatioMode: "global",
    seedRatioLimit: 2,
    seedIdleMode: "unlimited",
    seedIdleLimit: 30,
    peerLimit: 50,
    labels: ["linux"],
    wanted: [true, false],
    priorities: [0, 1]
  },
  files: [
    { index: 0, name: `torrent-${id}/a.bin`, length: 600_000, bytesCompleted: 500_000, wanted: true, priority: 0 },
    { index: 1, name: `torrent-${id}/b.bin`, length: 400_000, bytesCompleted: 0, wanted: false, priority: 1 }
  ],
  peers: [],
  trackers: [],
  ...overrides
})

/** The Client's defaults, with round kB/s speed limits so that replies read plainly. */
export const defaultSession: SessionSettings = {
  ...defaultSessionSettings("/data"),
  speedLimitDown: 100_000,
  speedLimitUp: 100_000,
  altSpeedDown: 50_000,
  altSpeedUp: 50_000
}

export interface FakeClient {
  readonly client: Client["Type"]
  /** Every call, as [method, ...arguments]. */
  readonly calls: Array<ReadonlyArray<unknown>>
  readonly torrents: Array<TorrentSnapshot>
}

const refs = (torrents: ReadonlyArray<TorrentSnapshot>, selector: Selector): Array<TorrentSnapshot> =>
  selector === "all" || selector === "recently-active"
    ? [...torrents]
    : torrents.filter((t) => selector.some((ref) => ref === t.id || ref === t.hashString))

export const makeFakeClient = (initial: ReadonlyArray<TorrentSnapshot> = [snapshot(1), snapshot(2)]): FakeClient => {
  const calls: Array<ReadonlyArray<unknown>> = []
  const torrents = [...initial]
  let session = defaultSession
  const record = (method: string) => (...args: ReadonlyArray<unknown>) =>
    Effect.sync(() => void calls.push([method, ...args]))
  const client: Client["Type"] = {
    port: 51413,
    freeSpace: (path: string) => Effect.succeed({ path, sizeBytes: 1_000_000_000, totalSize: 2_000_000_000 }),
    running: () => Effect.succeedNone,
    renamePath: (ref, path, name) =>
      Effect.sync(() => {
        calls.push(["renamePath", ref, path, name])
        return { id: typeof ref === "number" ? ref : 1, path, name }
      }),
    add: (source: AddSource, options?: AddOptions) =>
      Effect.suspend((): Effect.Effect<Added, ClientError> => {
        calls.push(["add", source, options])
        if (source._tag === "Path" && source.path.endsWith(".txt")) {
          return Effect.fail(new ClientError({ reason: "InvalidTorrent", detail: `${source.path} is not a torrent` }))
        }
        const existing = source._tag === "Magnet" ? torrents.find((t) => source.uri.includes(t.hashString)) : undefined
        if (existing !== undefined) {
          return Effect.succeed({ id: existing.id, hashString: existing.hashString, name: existing.name, duplicate: true })
        }
        const t = snapshot(torrents.length + 1)
        torrents.push(t)
        return Effect.succeed({ id: t.id, hashString: t.hashString, name: t.name, duplicate: false })
      }),
    list: (selector = "all", detail) =>
      Effect.sync(() => {
        calls.push(["list", selector, detail])
        return { torrents: refs(torrents, selector), removed: selector === "recently-active" ? [7] : [] }
      }),
    get: (ref) =>
      Effect.suspend(() => {
        const t = refs(torrents, [ref])[0]
        return t === undefined
          ? Effect.fail(new ClientError({ reason: "NotFound", detail: `no torrent ${ref}` }))
          : Effect.succeed(t)
      }),
    remove: record("remove"),
    start: record("start"),
    startNow: record("startNow"),
    stop: record("stop"),
    verify: record("verify"),
    reannounce: record("reannounce"),
    setLocation: record("setLocation"),
    set: (selector, patch) =>
      Effect.suspend(() => {
        calls.push(["set", selector, patch])
        return patch.peerLimit === 0
          ? Effect.fail(new ClientError({ reason: "InvalidArgument", detail: "peer-limit must be at least 1" }))
          : Effect.void
      }),
    queueMove: record("queueMove"),
    session: Effect.sync(() => session),
    setSession: (patch) =>
      Effect.sync(() => {
        calls.push(["setSession", patch])
        session = { ...session, ...patch }
        return session
      }),
    stats: Effect.succeed({
      activeTorrentCount: 2,
      pausedTorrentCount: 0,
      torrentCount: 2,
      downloadSpeed: 2468,
      uploadSpeed: 10,
      cumulative: { uploadedBytes: 5, downloadedBytes: 6, filesAdded: 2, secondsActive: 100, sessionCount: 3 },
      current: { uploadedBytes: 1, downloadedBytes: 2, filesAdded: 2, secondsActive: 10, sessionCount: 1 }
    }),
    events: Stream.empty
  }
  return { client, calls, torrents }
}
