/**
 * A torrent's files as a tree of folders, flattened into the rows shown (folders first, then files, each by name;
 * a collapsed folder hides what is under it). Pure, so that test/web runs it under Node.
 */

export interface FileEntry {
  readonly name: string
  readonly length: number
  readonly bytesCompleted: number
  /** bt's own: the path the daemon streams the file at (its own file numbering, which counts padding files). */
  readonly streamUrl?: string
}
export interface FileChoice { readonly wanted: boolean; readonly priority: number }

export interface FileRow {
  /** The path from the torrent's root, "/"-separated: a folder's or a file's. */
  readonly path: string
  readonly name: string
  readonly depth: number
  readonly folder: boolean
  /** The indexes of the files at or under this row, for `torrent-set`'s files-wanted and priority lists. */
  readonly indexes: ReadonlyArray<number>
  readonly length: number
  readonly bytesCompleted: number
  readonly wanted: "all" | "some" | "none"
  /** A file's priority (-1 low, 0 normal, 1 high); a folder's when all its files share one. */
  readonly priority: number | undefined
}

interface Folder { readonly folders: Map<string, Folder>; readonly files: Array<number> }

const newFolder = (): Folder => ({ folders: new Map(), files: [] })

export const fileRows = (
  files: ReadonlyArray<FileEntry>,
  choices: ReadonlyArray<FileChoice | undefined>,
  collapsed: ReadonlySet<string>
): Array<FileRow> => {
  const root = newFolder()
  files.forEach((file, index) => {
    const parts = file.name.split("/")
    let at = root
    for (const part of parts.slice(0, -1)) {
      let next = at.folders.get(part)
      if (next === undefined) at.folders.set(part, (next = newFolder()))
      at = next
    }
    at.files.push(index)
  })
  const rows: Array<FileRow> = []
  const byName = (a: string, b: string) => a.localeCompare(b)
  const base = (index: number) => files[index]!.name.split("/").pop()!
  /** Adds the rows under `folder` (unless hidden) and returns the indexes of every file below it. */
  const walk = (folder: Folder, prefix: string, depth: number, hidden: boolean): Array<number> => {
    const all: Array<number> = []
    for (const name of [...folder.folders.keys()].sort(byName)) {
      const path = prefix === "" ? name : `${prefix}/${name}`
      const at = rows.length
      const under = walk(folder.folders.get(name)!, path, depth + 1, hidden || collapsed.has(path))
      if (!hidden) rows.splice(at, 0, summary(path, name, depth, under))
      all.push(...under)
    }
    for (const index of [...folder.files].sort((a, b) => byName(base(a), base(b)))) {
      if (!hidden) rows.push({ ...summary(files[index]!.name, base(index), depth, [index]), folder: false })
      all.push(index)
    }
    return all
  }
  const summary = (path: string, name: string, depth: number, indexes: ReadonlyArray<number>): FileRow => {
    let length = 0
    let bytesCompleted = 0
    let wanted = 0
    const priorities = new Set<number>()
    for (const i of indexes) {
      length += files[i]!.length
      bytesCompleted += files[i]!.bytesCompleted
      if (choices[i]?.wanted ?? true) wanted++
      priorities.add(choices[i]?.priority ?? 0)
    }
    return {
      path, name, depth, folder: true, indexes, length, bytesCompleted,
      wanted: wanted === indexes.length ? "all" : wanted === 0 ? "none" : "some",
      priority: priorities.size === 1 ? [...priorities][0] : undefined
    }
  }
  walk(root, "", 0, false)
  return rows
}

/** A change of file choices, as `torrent-set` (and `torrent-add`) take it: file indexes under each key. */
export type FileSet = Partial<Record<
  "files-wanted" | "files-unwanted" | "priority-low" | "priority-normal" | "priority-high",
  ReadonlyArray<number>
>>

/** The choices with `set` applied (for files not yet sent to the daemon: the add dialog's). */
export const applyFileSet = (choices: ReadonlyArray<FileChoice>, set: FileSet): Array<FileChoice> => {
  const next = [...choices]
  const each = (key: keyof FileSet, change: (c: FileChoice) => FileChoice) => {
    for (const i of set[key] ?? []) if (next[i] !== undefined) next[i] = change(next[i]!)
  }
  each("files-wanted", (c) => ({ ...c, wanted: true }))
  each("files-unwanted", (c) => ({ ...c, wanted: false }))
  each("priority-low", (c) => ({ ...c, priority: -1 }))
  each("priority-normal", (c) => ({ ...c, priority: 0 }))
  each("priority-high", (c) => ({ ...c, priority: 1 }))
  return next
}

/** What to send once the files are chosen: the unwanted ones and the priorities other than normal (or nothing). */
export const choicesToSet = (choices: ReadonlyArray<FileChoice>): FileSet => {
  const where = (test: (c: FileChoice) => boolean) => choices.flatMap((c, i) => (test(c) ? [i] : []))
  const set: Record<string, ReadonlyArray<number>> = {
    "files-unwanted": where((c) => !c.wanted),
    "priority-low": where((c) => c.priority < 0),
    "priority-high": where((c) => c.priority > 0)
  }
  return Object.fromEntries(Object.entries(set).filter(([, list]) => list.length > 0))
}
