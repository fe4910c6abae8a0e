/**
 * The torrent list: a table with sortable columns and rows selected by mouse (click, Ctrl/⌘-click, Shift-click),
 * by checkbox, or by keyboard (arrows, Page Up/Down, Home and End move, Shift+arrows extend, Space toggles, Ctrl+A
 * selects all, Enter opens the details, Delete removes). One row at a time takes the Tab stop (a roving tabindex). Only the rows in view (and a
 * few around them) are in the page, so that thousands of torrents scroll and update smoothly: every row is one
 * line high (ROW_HEIGHT), the rest of the list is room left above and below.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { useWindow } from "./virtual.js"
import { scrollFor } from "./window.js"
import {
  errorKind,
  formatBytes,
  formatEta,
  formatPercent,
  formatRate,
  formatRatio,
  rangeIds,
  type Sort,
  type SortKey,
  Status,
  statusText,
  type Torrent
} from "./format.js"

const COLUMNS: ReadonlyArray<readonly [SortKey, string, string]> = [
  ["name", "Name", "name"],
  ["size", "Size", "num"],
  ["progress", "Progress", "progress"],
  ["status", "Status", "status"],
  ["rateDownload", "Down", "num"],
  ["rateUpload", "Up", "num"],
  ["eta", "ETA", "num narrow-hide"],
  ["peers", "Peers", "num narrow-hide"],
  ["ratio", "Ratio", "num narrow-hide"]
]

/** Every row's height in px (style.css holds them to it). */
const ROW_HEIGHT = 40
/** The sticky header's height in px, kept clear when scrolling a row into view. */
const HEADER_HEIGHT = 32

interface Props {
  readonly torrents: ReadonlyArray<Torrent>
  readonly sort: Sort
  readonly onSort: (sort: Sort) => void
  readonly selected: ReadonlySet<number>
  readonly onSelect: (ids: ReadonlySet<number>) => void
  readonly onOpen: (id: number) => void
  readonly onRemove: () => void
  readonly onToggle: (ids: ReadonlyArray<number>, start: boolean) => void
}

export const TorrentList = (p: Props) => {
  const [focused, setFocused] = useState<number | undefined>(undefined)
  const anchor = useRef<number | undefined>(undefined)
  const body = useRef<HTMLTableSectionElement>(null)
  const scroller = useRef<HTMLDivElement>(null)
  /** A row to focus once it is rendered (moving by keyboard to a row out of view). */
  const pendingFocus = useRef<number | undefined>(undefined)
  const ids = p.torrents.map((t) => t.id)
  const tabStop = focused !== undefined && ids.includes(focused) ? focused : ids[0]
  const range = useWindow(scroller, p.torrents.length, ROW_HEIGHT)

  const focusRow = (id: number) => {
    setFocused(id)
    const element = scroller.current
    if (element !== null) {
      element.scrollTop = scrollFor(element.scrollTop, element.clientHeight, ROW_HEIGHT, ids.indexOf(id), HEADER_HEIGHT)
    }
    pendingFocus.current = id
  }
  useEffect(() => {
    const id = pendingFocus.current
    const row = id === undefined ? null : body.current?.querySelector<HTMLElement>(`tr[data-id="${id}"]`)
    if (row != null) {
      pendingFocus.current = undefined
      row.focus()
    }
  })

  const click = (e: MouseEvent, id: number) => {
    if ((e.target as HTMLElement).closest("input")) return
    setFocused(id)
    if (e.shiftKey && anchor.current !== undefined) {
      p.onSelect(new Set(rangeIds(ids, anchor.current, id)))
      return
    }
    anchor.current = id
    if (e.ctrlKey || e.metaKey) {
      const next = new Set(p.selected)
      if (!next.delete(id)) next.add(id)
      p.onSelect(next)
    } else {
      p.onSelect(new Set([id]))
    }
  }

  const toggle = (id: number) => {
    const next = new Set(p.selected)
    if (!next.delete(id)) next.add(id)
    anchor.current = id
    p.onSelect(next)
  }

  const key = (e: KeyboardEvent, id: number) => {
    const at = ids.indexOf(id)
    const move = (to: number) => {
      const target = ids[Math.max(0, Math.min(ids.length - 1, to))]
      if (target === undefined) return
      e.preventDefault()
      focusRow(target)
      if (e.shiftKey) {
        anchor.current ??= id
        p.onSelect(new Set(rangeIds(ids, anchor.current, target)))
      } else if (!e.ctrlKey && !e.metaKey) {
        anchor.current = target
        p.onSelect(new Set([target]))
      }
    }
    if (e.key === "ArrowDown") move(at + 1)
    else if (e.key === "ArrowUp") move(at - 1)
    else if (e.key === "PageDown" || e.key === "PageUp") {
      const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? 0) / ROW_HEIGHT) - 2)
      move(at + (e.key === "PageDown" ? page : -page))
    } else if (e.key === "Home") move(0)
    else if (e.key === "End") move(ids.length - 1)
    else if (e.key === " ") {
      e.preventDefault()
      toggle(id)
    } else if (e.key === "Enter") p.onOpen(id)
    else if (e.key === "Delete") p.onRemove()
    else if (e.key.toLowerCase() === "a" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault()
      p.onSelect(new Set(ids))
    }
  }

  const allChosen = ids.length > 0 && ids.every((id) => p.selected.has(id))
  return (
    <div class="list" role="region" aria-label="Torrents" ref={scroller}>
      <table role="grid" aria-multiselectable="true" aria-label="Torrents" aria-rowcount={p.torrents.length + 1}>
        <thead>
          <tr aria-rowindex={1}>
            <th class="check">
              <input
                type="checkbox"
                aria-label="Select all shown"
                checked={allChosen}
                onChange={() => p.onSelect(allChosen ? new Set() : new Set(ids))}
              />
            </th>
            {COLUMNS.map(([k, title, cls]) => {
              const on = p.sort.key === k
              return (
                <th class={cls} aria-sort={on ? (p.sort.descending ? "descending" : "ascending") : "none"}>
                  <button type="button" onClick={() => p.onSort({ key: k, descending: on && !p.sort.descending })}>
                    {title}
                    {on ? (p.sort.descending ? " ▾" : " ▴") : ""}
                  </button>
                </th>
              )
            })}
            <th class="narrow-hide"><span class="visually-hidden">Start or stop</span></th>
          </tr>
        </thead>
        <tbody ref={body}>
          {range.before > 0 && <tr class="space" aria-hidden="true" style={{ height: `${range.before}px` }} />}
          {p.torrents.slice(range.first, range.last).map((t, at) => {
            const index = range.first + at
            const chosen = p.selected.has(t.id)
            const stopped = t.status === Status.stopped
            const why = t.errorString !== "" ? `${errorKind(t.error) || "Note"}: ${t.errorString}` : ""
            return (
              <tr
                key={t.id}
                data-id={t.id}
                class={`${chosen ? "chosen" : ""} ${index % 2 === 1 ? "even" : ""}`}
                aria-selected={chosen}
                aria-rowindex={index + 2}
                tabIndex={t.id === tabStop ? 0 : -1}
                onClick={(e) => click(e, t.id)}
                onDblClick={() => p.onOpen(t.id)}
                onKeyDown={(e) => key(e, t.id)}
                onFocus={() => setFocused(t.id)}
              >
                <td class="check">
                  <input type="checkbox" aria-label={`Select ${t.name}`} checked={chosen} onChange={() => toggle(t.id)} />
                </td>
                <td class="name">
                  <button type="button" class="link" onClick={() => p.onOpen(t.id)} tabIndex={-1} title={t.name}>{t.name}</button>
                  {why !== "" && <div class={t.error !== 0 ? "why error" : "why"} title={why}>{why}</div>}
                </td>
                <td class="num">{formatBytes(t.sizeWhenDone)}</td>
                <td class="progress">
                  <progress max={1} value={t.status === Status.checking ? t.recheckProgress : t.percentDone} aria-label={`${t.name} progress`} />
                  <span>{formatPercent(t.percentDone)}</span>
                </td>
                <td class="status">{statusText(t)}</td>
                <td class="num">{formatRate(t.rateDownload)}</td>
                <td class="num">{formatRate(t.rateUpload)}</td>
                <td class="num narrow-hide">{formatEta(t.eta)}</td>
                <td class="num narrow-hide">{t.peersConnected}</td>
                <td class="num narrow-hide">{formatRatio(t.uploadRatio)}</td>
                <td class="narrow-hide">
                  <button
                    type="button"
                    class="small"
                    tabIndex={-1}
                    aria-label={`${stopped ? "Start" : "Stop"} ${t.name}`}
                    onClick={() => p.onToggle([t.id], stopped)}
                  >
                    {stopped ? "Start" : "Stop"}
                  </button>
                </td>
              </tr>
            )
          })}
          {range.after > 0 && <tr class="space" aria-hidden="true" style={{ height: `${range.after}px` }} />}
        </tbody>
      </table>
      {p.torrents.length === 0 && <p class="empty">No torrents here. Add one, or drop a .torrent file on the page.</p>}
    </div>
  )
}
