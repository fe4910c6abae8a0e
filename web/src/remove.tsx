/** Removing torrents: from the list only, or with their data, which asks to be confirmed by a second, plain button. */
import { useState } from "preact/hooks"
import { Modal } from "./modal.js"

export const RemoveDialog = (p: {
  names: ReadonlyArray<string>
  onCancel: () => void
  onRemove: (deleteData: boolean) => void
}) => {
  const [deleteData, setDeleteData] = useState(false)
  const what = p.names.length === 1 ? `“${p.names[0]}”` : `${p.names.length} torrents`
  return (
    <Modal title="Remove torrents" onClose={p.onCancel}>
      <p>Remove {what} from the list?</p>
      {p.names.length > 1 && (
        <ul class="names">
          {p.names.slice(0, 10).map((n) => <li>{n}</li>)}
          {p.names.length > 10 && <li>and {p.names.length - 10} more</li>}
        </ul>
      )}
      <label class="row">
        <input type="checkbox" checked={deleteData} onChange={(e) => setDeleteData(e.currentTarget.checked)} />
        Also delete the downloaded data from disk
      </label>
      {deleteData && <p class="warning" role="alert">The files will be deleted for good.</p>}
      <div class="buttons">
        <button type="button" onClick={p.onCancel}>Cancel</button>
        <button type="button" class={deleteData ? "danger" : "primary"} onClick={() => p.onRemove(deleteData)}>
          {deleteData ? "Remove and delete data" : "Remove"}
        </button>
      </div>
    </Modal>
  )
}
