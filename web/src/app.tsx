/**
 * The page: a header with the totals and global actions, the filters, the torrent list, and the dialogs. It polls
 * the RPC every two seconds: a full `torrent-get` now and then, `recently-active` in between (only the torrents
 * that changed, and the ids removed), `session-stats` each time, `session-get` and `free-space` now and then.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks"
import { AddDialog } from "./add.js"
import { Details } from "./details.js"
import {
  filterTorrents,
  formatBytes,
  formatRate,
  labelsOf,
  LIST_FIELDS,
  type ListFilter,
  mergeTorrents,
  type Sort,
  sortTorrents,
  STATUS_FILTERS,
  type StatusFilter,
  type Torrent
} from "./format.js"
import { LabelsDialog } from "./labels.js"
import { TorrentList } from "./list.js"
import { RemoveDialog } from "./remove.js"
import type { RpcClient } from "./rpc.js"
import { type Session, SettingsDialog } from "./settings.js"

const POLL_MS = 2000
/** Every this many polls the whole list is fetched again (a safety net under `recently-active`). */
const FULL_EVERY = 15

interface Stats {
  readonly downloadSpeed: number
  readonly uploadSpeed: number
}

/** Moves in the queue of the torrents chosen: the method's suffix, the button's text, its label. */
const QUEUE_MOVES = [
  ["top", "⤒", "Move to the top of the queue"],
  ["up", "↑", "Move up the queue"],
  ["down", "↓", "Move down the queue"],
  ["bottom", "⤓", "Move to the bottom of the queue"]
] as const

type Dialog = "add" | "remove" | "settings" | "labels" | undefined

export const App = ({ rpc }: { rpc: RpcClient }) => {
  const [torrents, setTorrents] = useState<ReadonlyMap<number, Torrent>>(new Map())
  const [loaded, setLoaded] = useState(false)
  const [stats, setStats] = useState<Stats>({ downloadSpeed: 0, uploadSpeed: 0 })
  const [session, setSession] = useState<Session | undefined>(undefined)
  const [freeSpace, setFreeSpace] = useState<number | undefined>(undefined)
  const [problem, setProblem] = useState("")
  const [filter, setFilter] = useState<ListFilter>({ status: "all", label: "", search: "" })
  const [sort, setSort] = useState<Sort>({ key: "queue", descending: false })
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set())
  const [details, setDetails] = useState<number | undefined>(undefined)
  const [dialog, setDialog] = useState<Dialog>(undefined)
  const [dropped, setDropped] = useState<ReadonlyArray<File>>([])
  const tick = useRef(0)
  const timer = useRef<number | undefined>(undefined)
  const held = useRef<ReadonlyMap<number, Torrent>>(torrents)
  held.current = torrents

  const poll = useCallback(async () => {
    window.clearTimeout(timer.current)
    const n = tick.current++
    const full = n % FULL_EVERY === 0
    try {
      const reply = await rpc.call<{ torrents: Array<Torrent>; removed?: Array<number> }>("torrent-get", {
        fields: LIST_FIELDS,
        ...(full ? {} : { ids: "recently-active" })
      })
      setTorrents(mergeTorrents(held.current, reply.torrents, reply.removed ?? [], full))
      setLoaded(true)
      setStats(await rpc.call<Stats>("session-stats"))
      if (full) {
        const s = await rpc.call<Session>("session-get")
        setSession(s)
        const free = await rpc.call<{ "size-bytes": number }>("free-space", { path: s["download-dir"] }).catch(() => undefined)
        setFreeSpace(free?.["size-bytes"])
      }
      setProblem("")
    } catch (error) {
      // Fetch everything again once the daemon answers: it may have restarted with other ids.
      tick.current = 0
      setProblem(`${(error as Error).message}. Trying again…`)
    }
    timer.current = window.setTimeout(() => void poll(), POLL_MS)
  }, [rpc])

  /** Polls at once, fetching everything (after an action, so that it shows without waiting). */
  const refresh = useCallback(() => {
    tick.current = 0
    void poll()
  }, [poll])

  useEffect(() => {
    void poll()
    return () => window.clearTimeout(timer.current)
  }, [poll])

  /** Runs an action on the RPC, says what went wrong if it did, and refreshes. */
  const act = useCallback(async (method: string, args: Record<string, unknown>) => {
    try {
      await rpc.call(method, args)
    } catch (error) {
      setProblem((error as Error).message)
    }
    refresh()
  }, [rpc, refresh])

  // Keys anywhere outside a field: "/" goes to the search box, Ctrl/⌘+O opens the add dialog.
  useEffect(() => {
    const keys = (e: KeyboardEvent) => {
      const inField = (e.target as HTMLElement).closest("input, textarea, select, dialog") !== null
      if (e.key === "/" && !inField) {
        e.preventDefault()
        document.querySelector<HTMLInputElement>('input[type="search"]')?.focus()
      } else if (e.key.toLowerCase() === "o" && (e.ctrlKey || e.metaKey) && !inField) {
        e.preventDefault()
        setDialog("add")
      }
    }
    document.addEventListener("keydown", keys)
    return () => document.removeEventListener("keydown", keys)
  }, [])

  // The rates in the tab's title, to be seen from another tab.
  useEffect(() => {
    const down = formatRate(stats.downloadSpeed)
    const up = formatRate(stats.uploadSpeed)
    document.title = down === "" && up === "" ? "bt" : `↓ ${down || "0"} ↑ ${up || "0"} – bt`
  }, [stats])

  // Dropping .torrent files anywhere on the page opens the add dialog with them.
  useEffect(() => {
    const over = (e: DragEvent) => {
      if (e.dataTransfer?.types.includes("Files")) e.preventDefault()
    }
    const drop = (e: DragEvent) => {
      const files = [...(e.dataTransfer?.files ?? [])]
      if (files.length === 0) return
      e.preventDefault()
      setDropped(files)
      setDialog("add")
    }
    document.addEventListener("dragover", over)
    document.addEventListener("drop", drop)
    return () => {
      document.removeEventListener("dragover", over)
      document.removeEventListener("drop", drop)
    }
  }, [])

  const all = useMemo(() => [...torrents.values()], [torrents])
  const labels = useMemo(() => labelsOf(all), [all])
  const shown = useMemo(() => sortTorrents(filterTorrents(all, filter), sort), [all, filter, sort])
  const chosen = [...selected].filter((id) => torrents.has(id))
  const none = chosen.length === 0
  const altOn = session?.["alt-speed-enabled"] === true

  return (
    <div class="app">
      <header class="bar">
        <h1>bt</h1>
        <div class="actions" role="toolbar" aria-label="Torrent actions">
          <button type="button" onClick={() => setDialog("add")} aria-keyshortcuts="Control+O">Add…</button>
          <button type="button" disabled={none} onClick={() => void act("torrent-start", { ids: chosen })}>Start</button>
          <button type="button" disabled={none} onClick={() => void act("torrent-stop", { ids: chosen })}>Stop</button>
          <button type="button" disabled={none} onClick={() => setDialog("remove")}>Remove…</button>
          <button type="button" disabled={none} onClick={() => void act("torrent-verify", { ids: chosen })}>Verify</button>
          <button type="button" disabled={none} onClick={() => setDialog("labels")}>Labels…</button>
        </div>
        <div class="actions" role="toolbar" aria-label="Queue">
          {QUEUE_MOVES.map(([move, text, label]) => (
            <button type="button" disabled={none} aria-label={label} title={label} onClick={() => void act(`queue-move-${move}`, { ids: chosen })}>
              {text}
            </button>
          ))}
        </div>
        <div class="totals" aria-live="off">
          <span title="Download rate, all torrents">↓ {formatRate(stats.downloadSpeed) || "0 B/s"}</span>
          <span title="Upload rate, all torrents">↑ {formatRate(stats.uploadSpeed) || "0 B/s"}</span>
          {freeSpace !== undefined && <span title={session?.["download-dir"]}>{formatBytes(freeSpace)} free</span>}
          <button
            type="button"
            aria-pressed={altOn}
            title="Alternative speed limits"
            disabled={session === undefined}
            onClick={() => void act("session-set", { "alt-speed-enabled": !altOn })}
          >
            Alt speed {altOn ? "on" : "off"}
          </button>
          <button type="button" disabled={session === undefined} onClick={() => setDialog("settings")}>Settings…</button>
        </div>
      </header>
      {problem !== "" && <p class="problem" role="alert">{problem}</p>}
      <div class="filters">
        <label>
          Show{" "}
          <select
            value={filter.status}
            onChange={(e) => setFilter({ ...filter, status: e.currentTarget.value as StatusFilter })}
          >
            {STATUS_FILTERS.map(([value, text]) => <option value={value}>{text}</option>)}
          </select>
        </label>
        <label>
          Label{" "}
          <select value={filter.label} onChange={(e) => setFilter({ ...filter, label: e.currentTarget.value })}>
            <option value="">Any</option>
            {labels.map((l) => <option value={l}>{l}</option>)}
          </select>
        </label>
        <input
          type="search"
          placeholder="Search names  ( / )"
          aria-label="Search torrents by name"
          aria-keyshortcuts="/"
          value={filter.search}
          onInput={(e) => setFilter({ ...filter, search: e.currentTarget.value })}
        />
        <span class="count">{loaded ? `${shown.length} of ${all.length}` : "Loading…"}</span>
      </div>
      <main class={details === undefined ? "main" : "main with-details"}>
        <TorrentList
          torrents={shown}
          sort={sort}
          onSort={setSort}
          selected={selected}
          onSelect={setSelected}
          onOpen={setDetails}
          onRemove={() => setDialog("remove")}
          onToggle={(ids, start) => void act(start ? "torrent-start" : "torrent-stop", { ids })}
        />
        {details !== undefined && torrents.has(details) && (
          <Details
            key={details}
            rpc={rpc}
            id={details}
            streams={session?.version?.endsWith("(bt)") === true}
            onClose={() => setDetails(undefined)} onProblem={setProblem} />
        )}
      </main>
      {dialog === "add" && (
        <AddDialog
          rpc={rpc}
          files={dropped}
          downloadDir={session?.["download-dir"] ?? ""}
          onClose={() => {
            setDialog(undefined)
            setDropped([])
            refresh()
          }}
        />
      )}
      {dialog === "remove" && (
        <RemoveDialog
          names={chosen.map((id) => torrents.get(id)?.name ?? `#${id}`)}
          onCancel={() => setDialog(undefined)}
          onRemove={(deleteData) => {
            setDialog(undefined)
            setSelected(new Set())
            void act("torrent-remove", { ids: chosen, "delete-local-data": deleteData })
          }}
        />
      )}
      {dialog === "labels" && (
        <LabelsDialog
          count={chosen.length}
          labels={torrents.get(chosen[0] ?? -1)?.labels ?? []}
          onCancel={() => setDialog(undefined)}
          onSave={(labels) => {
            setDialog(undefined)
            void act("torrent-set", { ids: chosen, labels })
          }}
        />
      )}
      {dialog === "settings" && session !== undefined && (
        <SettingsDialog
          session={session}
          onCancel={() => setDialog(undefined)}
          onSave={(patch) => {
            setDialog(undefined)
            void act("session-set", patch)
          }}
        />
      )}
    </div>
  )
}
