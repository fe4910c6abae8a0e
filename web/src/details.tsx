/**
 * One torrent's details in tabs: general information (the stalled reason in plain words, hashes, dates, folder,
 * magnet link to copy, pieces as a bar), its files (wanted and priority, changed with `torrent-set`; an open link
 * to the daemon's stream of each), its peers, its trackers, and its options (speed limits, seed ratio, peers). Polled on its own while open, asking only for what the tab shown needs (the file names once).
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { FileTree } from "./files.js"
import { errorKind, formatBytes, formatDate, formatPercent, formatRate } from "./format.js"
import { type Limits, LIMIT_FIELDS } from "./limits.js"
import { Options } from "./options.js"
import type { RpcClient } from "./rpc.js"
import { applyFileSet, type FileChoice, type FileEntry, type FileSet } from "./tree.js"

interface Peer {
  readonly address: string; readonly port: number; readonly clientName: string; readonly flagStr: string
  readonly rateToClient: number; readonly rateToPeer: number; readonly progress: number
  readonly isEncrypted: boolean; readonly isUTP: boolean; readonly isIncoming: boolean
}
interface TrackerStat {
  readonly id: number; readonly announce: string; readonly tier: number; readonly lastAnnounceSucceeded: boolean
  readonly hasAnnounced: boolean; readonly lastAnnounceResult: string; readonly lastAnnounceTime: number
  readonly lastAnnouncePeerCount: number; readonly nextAnnounceTime: number; readonly seederCount: number
  readonly leecherCount: number
}
interface Detail {
  readonly id: number; readonly name: string; readonly hashString: string; readonly magnetLink: string
  readonly downloadDir: string; readonly totalSize: number; readonly pieceCount: number; readonly pieceSize: number
  readonly addedDate: number; readonly doneDate: number; readonly activityDate: number; readonly error: number
  readonly errorString: string; readonly isStalled: boolean; readonly isPrivate: boolean; readonly pieces: string
  readonly percentDone: number; readonly files: ReadonlyArray<FileEntry>; readonly fileStats: ReadonlyArray<FileChoice>
  readonly peers: ReadonlyArray<Peer>; readonly trackerStats: ReadonlyArray<TrackerStat>
  readonly limits: Limits | undefined
}
/** Asked for every time; the heavier fields only for the tab shown. */
const BASE_FIELDS = [
  "id", "name", "hashString", "magnetLink", "downloadDir", "totalSize", "pieceCount", "pieceSize", "addedDate",
  "doneDate", "activityDate", "error", "errorString", "isStalled", "isPrivate", "percentDone"
]
const TAB_FIELDS: Readonly<Record<Tab, ReadonlyArray<string>>> = {
  General: ["pieces"],
  Files: ["fileStats"],
  Peers: ["peers"],
  Trackers: ["trackerStats"],
  Options: LIMIT_FIELDS
}
type FileStat = FileChoice & { readonly bytesCompleted: number }
/** A reply: the base fields and those of the tab asked for. */
type Reply = Omit<Detail, "files" | "fileStats" | "peers" | "trackerStats" | "pieces" | "limits"> & Partial<Detail> & {
  readonly fileStats?: ReadonlyArray<FileStat>
} & Partial<Limits>

/** Past this many files the Files tab polls their progress every 10 s rather than 2 s (each poll lists them all). */
const MANY_FILES = 5000

const TABS = ["General", "Files", "Peers", "Trackers", "Options"] as const
type Tab = (typeof TABS)[number]


/**
 * Where file `index` (its place in `files`) is streamed: the daemon's `streamUrl`, made relative to the page, since
 * the daemon numbers files counting padding ones; else the path built from the place (an older bt).
 */
const streamLink = (hash: string, index: number, streamUrl: string | undefined): string =>
  streamUrl === undefined ? `stream/${hash}/${index}` : streamUrl.replace(/^\//, "")

export const Details = (p: {
  rpc: RpcClient
  id: number
  /** The daemon streams files at /stream/<info-hash>/<file-index> (bt does; transmission-daemon does not). */
  streams: boolean
  onClose: () => void
  onProblem: (text: string) => void
}) => {
  const [detail, setDetail] = useState<Detail | undefined>(undefined)
  const [tab, setTab] = useState<Tab>("General")
  const [version, setVersion] = useState(0)
  /** The files' names and lengths, which never change: fetched once (once the metadata is here, for a magnet). */
  const names = useRef<ReadonlyArray<FileEntry>>([])
  /**
   * Changes begun (`begun`) and still in flight (`sending`): a poll reply asked for before the last change was
   * confirmed holds the old state, and drawing it would undo a click just made (the checkbox flips back).
   */
  const changes = useRef({ begun: 0, sending: 0 })
  useEffect(() => {
    let timer: number | undefined
    let live = true
    const poll = async () => {
      try {
        const asked = changes.current.sending > 0 ? -1 : changes.current.begun
        const fields = [...BASE_FIELDS, ...TAB_FIELDS[tab], ...(tab === "Files" && names.current.length === 0 ? ["files"] : [])]
        const reply = await p.rpc.call<{ torrents: Array<Reply> }>("torrent-get", { ids: [p.id], fields })
        const t = reply.torrents[0]
        if (t?.files !== undefined) names.current = t.files
        const stats = t?.fileStats ?? []
        if (live && t !== undefined && asked === changes.current.begun) {
          setDetail((held) => ({
            ...t,
            pieces: t.pieces ?? held?.pieces ?? "",
            peers: t.peers ?? held?.peers ?? [],
            trackerStats: t.trackerStats ?? held?.trackerStats ?? [],
            fileStats: stats.length > 0 ? stats : held?.fileStats ?? [],
            limits: t.downloadLimit !== undefined ? t as Limits : held?.limits,
            files: names.current.map((f, i) => ({ ...f, bytesCompleted: stats[i]?.bytesCompleted ?? f.bytesCompleted }))
          }))
        }
      } catch (error) {
        p.onProblem((error as Error).message)
      }
      if (live) timer = window.setTimeout(() => void poll(), tab === "Files" && names.current.length > MANY_FILES ? 10_000 : 2000)
    }
    void poll()
    return () => {
      live = false
      window.clearTimeout(timer)
    }
  }, [p.id, version, tab])

  const set = async (args: Record<string, unknown>) => {
    changes.current.begun++
    changes.current.sending++
    try {
      await p.rpc.call("torrent-set", { ids: [p.id], ...args })
    } catch (error) {
      p.onProblem((error as Error).message)
    } finally {
      changes.current.sending--
    }
    // Asked again at once: the daemon's word replaces the guess (and undoes it if the change was refused).
    setVersion((v) => v + 1)
  }
  /** File choices change on the page at once, before the daemon confirms them. */
  const setFiles = (args: FileSet) => {
    setDetail((held) => held && { ...held, fileStats: applyFileSet(held.fileStats, args) })
    void set(args)
  }

  return (
    <section class="details" aria-label={`Details of ${detail?.name ?? "torrent"}`}>
      <div class="details-head">
        <h2>{detail?.name ?? "…"}</h2>
        <button type="button" aria-label="Close details" onClick={p.onClose}>✕</button>
      </div>
      <div role="tablist" aria-label="Details">
        {TABS.map((t) => (
          <button type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>{t}</button>
        ))}
      </div>
      <div role="tabpanel" class="tabpanel">
        {detail === undefined ? <p>Loading…</p> : tab === "General"
          ? <General d={detail} />
          : tab === "Files"
          ? (
            <FileTree
              files={detail.files}
              choices={detail.fileStats}
              onSet={setFiles}
              link={p.streams ? (index) => streamLink(detail.hashString, index, detail.files[index]?.streamUrl) : undefined}
            />
          )
          : tab === "Peers"
          ? <Peers peers={detail.peers} />
          : tab === "Trackers"
          ? <Trackers trackers={detail.trackerStats} />
          : detail.limits === undefined ? <p>Loading…</p> : <Options limits={detail.limits} onSet={(args) => void set(args)} />}
      </div>
    </section>
  )
}

const General = ({ d }: { d: Detail }) => {
  const [copied, setCopied] = useState(false)
  const copy = () => {
    void navigator.clipboard?.writeText(d.magnetLink).then(() => setCopied(true), () => setCopied(false))
  }
  return (
    <div>
      {d.errorString !== "" && (
        <p class={d.error !== 0 ? "why error" : "why"} role="status">
          {d.error !== 0 ? `${errorKind(d.error)}: ` : d.isStalled ? "Stalled: " : ""}
          {d.errorString}
        </p>
      )}
      <PieceBar pieces={d.pieces} count={d.pieceCount} />
      <dl class="info">
        <dt>Have</dt><dd>{formatPercent(d.percentDone)} of {formatBytes(d.totalSize)}</dd>
        <dt>Pieces</dt><dd>{d.pieceCount} × {formatBytes(d.pieceSize)}</dd>
        <dt>Saved in</dt><dd class="path">{d.downloadDir}</dd>
        <dt>Info hash</dt><dd class="hash">{d.hashString}</dd>
        <dt>Private</dt><dd>{d.isPrivate ? "Yes (no DHT, no PEX)" : "No"}</dd>
        <dt>Added</dt><dd>{formatDate(d.addedDate)}</dd>
        <dt>Completed</dt><dd>{formatDate(d.doneDate) || "Not yet"}</dd>
        <dt>Last activity</dt><dd>{formatDate(d.activityDate)}</dd>
        <dt>Magnet link</dt>
        <dd class="magnet">
          <input type="text" readOnly value={d.magnetLink} aria-label="Magnet link" onFocus={(e) => e.currentTarget.select()} />
          <button type="button" onClick={copy}>{copied ? "Copied" : "Copy"}</button>
        </dd>
      </dl>
    </div>
  )
}

/** The pieces had, as a bar: each pixel column darker the more of its pieces are here. */
const PieceBar = ({ pieces, count }: { pieces: string; count: number }) => {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const canvas = ref.current
    const ctx = canvas?.getContext("2d")
    if (canvas == null || ctx == null || count === 0 || pieces === "") return
    const bits = Uint8Array.from(atob(pieces), (c) => c.charCodeAt(0))
    const width = canvas.width
    ctx.clearRect(0, 0, width, canvas.height)
    const color = getComputedStyle(canvas).color
    for (let x = 0; x < width; x++) {
      const from = Math.floor((x * count) / width)
      const to = Math.max(from + 1, Math.floor(((x + 1) * count) / width))
      let have = 0
      for (let i = from; i < to; i++) if (((bits[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) have++
      ctx.globalAlpha = have / (to - from)
      ctx.fillStyle = color
      ctx.fillRect(x, 0, 1, canvas.height)
    }
  }, [pieces, count])
  return <canvas class="pieces" ref={ref} width={600} height={12} role="img" aria-label="Pieces downloaded" />
}

const Peers = ({ peers }: { peers: ReadonlyArray<Peer> }) =>
  peers.length === 0 ? <p class="note">No peers connected.</p> : (
    <table>
      <thead>
        <tr><th>Address</th><th>Client</th><th>Flags</th><th class="num">Down</th><th class="num">Up</th><th class="num">Has</th><th>Transport</th></tr>
      </thead>
      <tbody>
        {peers.map((x) => (
          <tr key={`${x.address}:${x.port}`}>
            <td class="path">{x.address.includes(":") ? `[${x.address}]` : x.address}:{x.port}</td>
            <td>{x.clientName}</td>
            <td title="Transmission's peer flags">{x.flagStr}</td>
            <td class="num">{formatRate(x.rateToClient)}</td>
            <td class="num">{formatRate(x.rateToPeer)}</td>
            <td class="num">{formatPercent(x.progress)}</td>
            <td>{x.isUTP ? "uTP" : "TCP"}{x.isEncrypted ? ", encrypted" : ""}{x.isIncoming ? ", incoming" : ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )

const Trackers = ({ trackers }: { trackers: ReadonlyArray<TrackerStat> }) =>
  trackers.length === 0 ? <p class="note">No trackers (DHT and peer exchange only).</p> : (
    <ul class="trackers">
      {trackers.map((t) => (
        <li key={t.id}>
          <div class="path">Tier {t.tier + 1}: {t.announce}</div>
          <div>
            {!t.hasAnnounced ? "Not announced yet" : t.lastAnnounceSucceeded
              ? `OK, ${t.lastAnnouncePeerCount} peers at ${formatDate(t.lastAnnounceTime)}`
              : <span class="error">Failed: {t.lastAnnounceResult || "no answer"}</span>}
            {t.seederCount >= 0 && ` · ${t.seederCount} seeders, ${t.leecherCount} leechers`}
            {t.nextAnnounceTime > 0 && ` · next ${formatDate(t.nextAnnounceTime)}`}
          </div>
        </li>
      ))}
    </ul>
  )
