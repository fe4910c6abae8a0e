/** A modal dialog on the native `<dialog>`: focus kept inside, Escape closes, the title labels it. */
import type { ComponentChildren } from "preact"
import { useEffect, useRef } from "preact/hooks"

export const Modal = (p: { title: string; onClose: () => void; children: ComponentChildren }) => {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    if (dialog !== null && !dialog.open) dialog.showModal()
  }, [])
  const id = `dialog-${p.title.replace(/\W+/g, "-").toLowerCase()}`
  return (
    <dialog
      ref={ref}
      aria-labelledby={id}
      onCancel={(e) => {
        e.preventDefault()
        p.onClose()
      }}
    >
      <h2 id={id}>{p.title}</h2>
      {p.children}
    </dialog>
  )
}

/** A dialog form's closing row: Cancel, and the submit button (its text, disabled while `busy`). */
export const FormButtons = (p: { onCancel: () => void; submit: string; disabled?: boolean }) => (
  <div class="buttons">
    <button type="button" onClick={p.onCancel}>Cancel</button>
    <button type="submit" class="primary" disabled={p.disabled === true}>{p.submit}</button>
  </div>
)
