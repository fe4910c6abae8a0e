/**
 * Adding torrents: magnet links or URLs pasted (one a line), .torrent files chosen or dropped (sent as base64
 * `metainfo`), into a download folder (the daemon's by default, its free space shown), started or not.
 *
 * Choosing the files first: every torrent is added stopped; the dialog then shows each one's files as the daemon
 * has them (a .torrent's at once; a magnet link's once its metadata arrives: bt fetches the metadata of a magnet
 * added stopped, and nothing else), and on "Start" sends the files left out and the priorities with `torrent-set`
 * and starts them. Cancelling there removes the torrents it added.
 */
import { useEffect, useState } from "preact/hooks"
import { FileTree } from "./files.js"
import { formatBytes } from "./format.js"
import { FormButtons, Modal } from "./modal.js"
import { fileToBase64, type RpcClient } from "./rpc.js"
import { applyFileSet, type FileChoice, choicesToSet, type FileEntry } from "./tree.js"

/** A torrent the dialog added, and its files once known. */
interface Added {
  readonly id: number
  readonly name: string
  readonly files: ReadonlyArray<FileEntry>
  readonly choices: ReadonlyArray<FileChoice>
}

type AddReply = Partial<Record<"torrent-added" | "torrent-duplicate", { id: number; name: string }>>

export const AddDialog = (p: {
  rpc: RpcClient
  files: ReadonlyArray<File>
  downloadDir: string
  onClose: () => void
}) => {
  const [links, setLinks] = useState("")
  const [files, setFiles] = useState<ReadonlyArray<File>>(p.files)
  const [dir, setDir] = useState(p.downloadDir)
  const [free, setFree] = useState<string>("")
  const [start, setStart] = useState(true)
  const [choose, setChoose] = useState(false)
  const [busy, setBusy] = useState(false)
  const [problems, setProblems] = useState<ReadonlyArray<string>>([])
  /** Once added with "choose the files first": the torrents whose files are being chosen. */
  const [added, setAdded] = useState<ReadonlyArray<Added> | undefined>(undefined)

  // The free space where the data would go, asked once the folder stops changing.
  useEffect(() => {
    const path = dir.trim() || p.downloadDir
    const timer = window.setTimeout(() => {
      p.rpc.call<{ "size-bytes": number }>("free-space", { path }).then(
        (r) => setFree(`${formatBytes(r["size-bytes"])} free there`),
        () => setFree("")
      )
    }, 400)
    return () => window.clearTimeout(timer)
  }, [dir])

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    const common = { paused: choose || !start, ...(dir.trim() === "" ? {} : { "download-dir": dir.trim() }) }
    const failed: Array<string> = []
    const fresh: Array<Added> = []
    const add = async (what: string, args: Record<string, unknown>) => {
      try {
        const reply = await p.rpc.call<AddReply>("torrent-add", { ...args, ...common })
        const torrent = reply["torrent-added"]
        if (torrent !== undefined) fresh.push({ id: torrent.id, name: torrent.name, files: [], choices: [] })
        else if (choose) failed.push(`${what}: already in the list, unchanged`)
      } catch (error) {
        failed.push(`${what}: ${(error as Error).message}`)
      }
    }
    for (const link of links.split(/\s+/).filter((l) => l !== "")) await add(link, { filename: link })
    for (const file of files) await add(file.name, { metainfo: await fileToBase64(file) })
    setBusy(false)
    setProblems(failed)
    if (choose && fresh.length > 0) setAdded(fresh)
    else if (failed.length === 0) p.onClose()
  }

  if (added !== undefined) {
    return <ChooseFiles rpc={p.rpc} added={added} onAdded={setAdded} start={start} problems={problems} onClose={p.onClose} />
  }

  const nothing = links.trim() === "" && files.length === 0
  return (
    <Modal title="Add torrents" onClose={p.onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <label class="field">
          Magnet links or URLs, one a line
          <textarea
            name="links"
            rows={3}
            value={links}
            placeholder="magnet:?xt=urn:btih:…"
            onInput={(e) => setLinks(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          .torrent files
          <input
            type="file"
            name="files"
            accept=".torrent,application/x-bittorrent"
            multiple
            onChange={(e) => setFiles([...(e.currentTarget.files ?? [])])}
          />
        </label>
        {files.length > 0 && <ul class="names">{files.map((f) => <li>{f.name}</li>)}</ul>}
        <label class="field">
          Download folder (on the daemon's machine)
          <input type="text" name="download-dir" value={dir} onInput={(e) => setDir(e.currentTarget.value)} aria-describedby="add-free" />
          <span id="add-free" class="hint">{free}</span>
        </label>
        <label class="row">
          <input type="checkbox" checked={choose} onChange={(e) => setChoose(e.currentTarget.checked)} />
          Choose the files first
        </label>
        <label class="row">
          <input type="checkbox" checked={start} onChange={(e) => setStart(e.currentTarget.checked)} />
          Start when added
        </label>
        {problems.length > 0 && (
          <ul class="problem" role="alert">{problems.map((text) => <li>{text}</li>)}</ul>
        )}
        <FormButtons onCancel={p.onClose} submit={busy ? "Adding…" : choose ? "Next" : "Add"} disabled={busy || nothing} />
      </form>
    </Modal>
  )
}

const FILE_FIELDS = ["id", "name", "files"]

/** The second step: each added torrent's files, fetched until they are known, chosen, then applied. */
const ChooseFiles = (p: {
  rpc: RpcClient
  added: ReadonlyArray<Added>
  onAdded: (added: ReadonlyArray<Added>) => void
  start: boolean
  problems: ReadonlyArray<string>
  onClose: () => void
}) => {
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState("")
  const [tick, setTick] = useState(0)
  const problems = [...p.problems, ...(problem === "" ? [] : [problem])]
  const waiting = p.added.filter((t) => t.files.length === 0).map((t) => t.id)

  // Asks for the files of those still without them, every second, until all have theirs.
  useEffect(() => {
    if (waiting.length === 0) return
    let live = true
    const timer = window.setTimeout(async () => {
      try {
        const reply = await p.rpc.call<{ torrents: Array<{ id: number; name: string; files: Array<FileEntry> }> }>(
          "torrent-get",
          { ids: waiting, fields: FILE_FIELDS }
        )
        if (!live) return
        const got = new Map(reply.torrents.map((t) => [t.id, t]))
        p.onAdded(p.added.map((t) => {
          const now = got.get(t.id)
          return now === undefined || now.files.length === 0 || t.files.length > 0
            ? t
            : { ...t, name: now.name, files: now.files, choices: now.files.map(() => ({ wanted: true, priority: 0 })) }
        }))
        setProblem("")
      } catch (error) {
        setProblem((error as Error).message)
      }
      if (live) setTick((n) => n + 1)
    }, p.added.some((t) => t.files.length > 0) ? 1000 : 100)
    return () => {
      live = false
      window.clearTimeout(timer)
    }
  }, [p.added, tick])

  const apply = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    try {
      for (const t of p.added) {
        const set = choicesToSet(t.choices)
        if (Object.keys(set).length > 0) await p.rpc.call("torrent-set", { ids: [t.id], ...set })
      }
      if (p.start) await p.rpc.call("torrent-start", { ids: p.added.map((t) => t.id) })
      p.onClose()
    } catch (error) {
      setProblem((error as Error).message)
      setBusy(false)
    }
  }

  const cancel = async () => {
    await p.rpc.call("torrent-remove", { ids: p.added.map((t) => t.id), "delete-local-data": false }).catch(() => undefined)
    p.onClose()
  }

  return (
    <Modal title="Choose files" onClose={() => void cancel()}>
      <form onSubmit={(e) => void apply(e)} class="choose">
        {p.added.map((t) => (
          <section aria-label={`Files of ${t.name}`}>
            <h3>{t.name}</h3>
            {t.files.length === 0
              ? <p class="note" role="status">Waiting for the metadata from peers…</p>
              : (
                <FileTree
                  files={t.files}
                  choices={t.choices}
                  done={false}
                  onSet={(set) => p.onAdded(p.added.map((o) => (o.id === t.id ? { ...o, choices: applyFileSet(o.choices, set) } : o)))}
                />
              )}
          </section>
        ))}
        {waiting.length > 0 && p.start && (
          <p class="note">Starting now starts those still waiting with every file; choose theirs later in the details.</p>
        )}
        {problems.length > 0 && <ul class="problem" role="alert">{problems.map((text) => <li>{text}</li>)}</ul>}
        <div class="buttons">
          <button type="button" onClick={() => void cancel()}>Cancel (remove them)</button>
          <button type="submit" class="primary" disabled={busy}>{p.start ? "Start" : "Done"}</button>
        </div>
      </form>
    </Modal>
  )
}
