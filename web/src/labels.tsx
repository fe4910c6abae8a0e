/** Setting the labels of the torrents chosen: a comma-separated list (Transmission's labels hold no commas). */
import { useState } from "preact/hooks"
import { parseLabels } from "./format.js"
import { FormButtons, Modal } from "./modal.js"

export const LabelsDialog = (p: {
  count: number
  labels: ReadonlyArray<string>
  onCancel: () => void
  onSave: (labels: ReadonlyArray<string>) => void
}) => {
  const [text, setText] = useState(p.labels.join(", "))
  return (
    <Modal title="Labels" onClose={p.onCancel}>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          p.onSave(parseLabels(text))
        }}
      >
        <label class="field">
          Labels of {p.count === 1 ? "this torrent" : `these ${p.count} torrents`}, separated by commas
          <input type="text" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <FormButtons onCancel={p.onCancel} submit="Save" />
      </form>
    </Modal>
  )
}
