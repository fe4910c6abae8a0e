/**
 * Adding torrents: magnet links or URLs pasted (one a line), .torrent files chosen or dropped (sent as base64
 * `metainfo`), into a download folder (the daemon's by default), started or not.
 */
import { useState } from "preact/hooks"
import { FormButtons, Modal } from "./modal.js"
import { fileToBase64, type RpcClient } from "./rpc.js"

export const AddDialog = (p: {
  rpc: RpcClient
  files: ReadonlyArray<File>
  downloadDir: string
  onClose: () => void
}) => {
  const [links, setLinks] = useState("")
  const [files, setFiles] = useState<ReadonlyArray<File>>(p.files)
  const [dir, setDir] = useState(p.downloadDir)
  const [start, setStart] = useState(true)
  const [busy, setBusy] = useState(false)
  const [problems, setProblems] = useState<ReadonlyArray<string>>([])

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    const common = { paused: !start, ...(dir.trim() === "" ? {} : { "download-dir": dir.trim() }) }
    const failed: Array<string> = []
    const add = async (what: string, args: Record<string, unknown>) => {
      try {
        await p.rpc.call("torrent-add", { ...args, ...common })
      } catch (error) {
        failed.push(`${what}: ${(error as Error).message}`)
      }
    }
    for (const link of links.split(/\s+/).filter((l) => l !== "")) await add(link, { filename: link })
    for (const file of files) await add(file.name, { metainfo: await fileToBase64(file) })
    setBusy(false)
    if (failed.length === 0) p.onClose()
    else setProblems(failed)
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
          <input type="text" name="download-dir" value={dir} onInput={(e) => setDir(e.currentTarget.value)} />
        </label>
        <label class="row">
          <input type="checkbox" checked={start} onChange={(e) => setStart(e.currentTarget.checked)} />
          Start when added
        </label>
        {problems.length > 0 && (
          <ul class="problem" role="alert">{problems.map((text) => <li>{text}</li>)}</ul>
        )}
        <FormButtons onCancel={p.onClose} submit={busy ? "Adding…" : "Add"} disabled={busy || nothing} />
      </form>
    </Modal>
  )
}
