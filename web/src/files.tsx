/**
 * A torrent's files as a tree: a wanted checkbox (three states for a folder), the size, what is done, the priority
 * and, where the daemon streams, an open link per file. Windowed: only the rows in view are in the page, so a torrent
 * of 50,000 files stays responsive; a search narrows the tree. Used by the details and by the add dialog.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks"
import { formatBytes, formatPercent } from "./format.js"
import { type FileChoice, type FileEntry, type FileRow, fileRows, type FileSet } from "./tree.js"
import { useWindow } from "./virtual.js"

/** Every row's height in px (style.css holds them to it). */
const ROW_HEIGHT = 30

const PRIORITIES = [[-1, "Low"], [0, "Normal"], [1, "High"]] as const
const PRIORITY_KEY: Readonly<Record<number, keyof FileSet>> = { [-1]: "priority-low", 0: "priority-normal", 1: "priority-high" }

/** A checkbox that can show "some": a folder whose files are partly wanted. */
const TriState = (p: { label: string; state: FileRow["wanted"]; onChange: (checked: boolean) => void }) => {
  const ref = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (ref.current !== null) ref.current.indeterminate = p.state === "some"
  })
  return (
    <input
      ref={ref}
      type="checkbox"
      aria-label={p.label}
      checked={p.state === "all"}
      aria-checked={p.state === "some" ? "mixed" : p.state === "all"}
      onChange={(e) => p.onChange(e.currentTarget.checked)}
    />
  )
}

export const FileTree = (p: {
  files: ReadonlyArray<FileEntry>
  choices: ReadonlyArray<FileChoice | undefined>
  onSet: (set: FileSet) => void
  /** The URL that opens file `index` (the daemon's stream), if it has one. */
  link?: ((index: number) => string) | undefined
  /** Show how much of each file is done (not before adding). */
  done?: boolean
}) => {
  const [search, setSearch] = useState("")
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set())
  const scroller = useRef<HTMLDivElement>(null)
  const needle = search.toLowerCase()
  const rows = useMemo(() => {
    if (needle === "") return fileRows(p.files, p.choices, collapsed)
    const hits = p.files.flatMap((f, i) => (f.name.toLowerCase().includes(needle) ? [i] : []))
    return fileRows(hits.map((i) => p.files[i]!), hits.map((i) => p.choices[i]), new Set())
      .map((r) => ({ ...r, indexes: r.indexes.map((k) => hits[k]!) }))
  }, [p.files, p.choices, collapsed, needle])
  const range = useWindow(scroller, rows.length, ROW_HEIGHT)
  const toggle = (path: string) => {
    const next = new Set(collapsed)
    if (!next.delete(path)) next.add(path)
    setCollapsed(next)
  }
  const done = p.done !== false
  return (
    <div>
      {p.files.length > 20 && (
        <input type="search" aria-label="Search files" placeholder="Search files" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
      )}
      <div class="tree" ref={scroller} role="region" aria-label="Files">
        <table class="files" aria-rowcount={rows.length + 1}>
          <thead>
            <tr aria-rowindex={1}>
              <th>Get</th><th>File</th><th class="num">Size</th>{done && <th class="num">Done</th>}<th>Priority</th>
              {p.link !== undefined && <th><span class="visually-hidden">Open</span></th>}
            </tr>
          </thead>
          <tbody>
            {range.before > 0 && <tr class="space" aria-hidden="true" style={{ height: `${range.before}px` }} />}
            {rows.slice(range.first, range.last).map((r, at) => (
              <tr key={r.path} aria-rowindex={range.first + at + 2} class={(range.first + at) % 2 === 1 ? "even" : ""}>
                <td>
                  <TriState
                    label={`Download ${r.path}`}
                    state={r.wanted}
                    onChange={(checked) => p.onSet({ [checked ? "files-wanted" : "files-unwanted"]: r.indexes })}
                  />
                </td>
                <td class="path" title={r.path}>
                  <span style={{ paddingLeft: `${r.depth * 1.2}em` }}>
                    {r.folder
                      ? (
                        <button type="button" class="link" aria-expanded={!collapsed.has(r.path)} onClick={() => toggle(r.path)}>
                          {collapsed.has(r.path) ? "▸" : "▾"} {r.name}/
                        </button>
                      )
                      : r.name}
                  </span>
                </td>
                <td class="num">{formatBytes(r.length)}</td>
                {done && <td class="num">{formatPercent(r.length > 0 ? r.bytesCompleted / r.length : 1)}</td>}
                <td>
                  <select
                    aria-label={`Priority of ${r.path}`}
                    value={r.priority ?? ""}
                    onChange={(e) => p.onSet({ [PRIORITY_KEY[Number(e.currentTarget.value)]!]: r.indexes })}
                  >
                    {r.priority === undefined && <option value="">Mixed</option>}
                    {PRIORITIES.map(([v, t]) => <option value={v}>{t}</option>)}
                  </select>
                </td>
                {p.link !== undefined && (
                  <td>
                    {!r.folder && (
                      <a href={p.link(r.indexes[0]!)} target="_blank" rel="noopener" aria-label={`Open ${r.path}`}>Open</a>
                    )}
                  </td>
                )}
              </tr>
            ))}
            {range.after > 0 && <tr class="space" aria-hidden="true" style={{ height: `${range.after}px` }} />}
          </tbody>
        </table>
      </div>
      {p.files.length === 0 && <p class="note">No file list yet (a magnet link shows its files once the metadata arrives).</p>}
    </div>
  )
}
