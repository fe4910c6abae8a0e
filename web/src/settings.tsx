/** The settings that matter, read from `session-get` and sent back with `session-set` (only what changed). */
import { useState } from "preact/hooks"
import { FormButtons, Modal } from "./modal.js"

/** `session-get`'s answer, classic names; only what the page reads. */
export interface Session {
  readonly "download-dir": string
  readonly "alt-speed-enabled": boolean
  readonly "speed-limit-down": number
  readonly "speed-limit-down-enabled": boolean
  readonly "speed-limit-up": number
  readonly "speed-limit-up-enabled": boolean
  readonly "alt-speed-down": number
  readonly "alt-speed-up": number
  readonly "download-queue-enabled": boolean
  readonly "download-queue-size": number
  readonly "seed-queue-enabled": boolean
  readonly "seed-queue-size": number
  readonly "peer-port": number
  readonly "peer-limit-global": number
  readonly encryption: string
  readonly "dht-enabled": boolean
  readonly version?: string
}

type Key = keyof Session
const NUMBERS: ReadonlyArray<readonly [Key, string, Key | undefined]> = [
  ["speed-limit-down", "Download limit (kB/s)", "speed-limit-down-enabled"],
  ["speed-limit-up", "Upload limit (kB/s)", "speed-limit-up-enabled"],
  ["alt-speed-down", "Alternative download limit (kB/s)", undefined],
  ["alt-speed-up", "Alternative upload limit (kB/s)", undefined],
  ["download-queue-size", "Download at once", "download-queue-enabled"],
  ["seed-queue-size", "Seed at once", "seed-queue-enabled"],
  ["peer-limit-global", "Peers at most, all torrents", undefined],
  ["peer-port", "Peer port (TCP and UDP)", undefined]
]

export const SettingsDialog = (p: {
  session: Session
  onCancel: () => void
  onSave: (patch: Record<string, unknown>) => void
}) => {
  const [draft, setDraft] = useState<Record<string, unknown>>({ ...p.session })
  const set = (key: Key, value: unknown) => setDraft({ ...draft, [key]: value })
  const save = (e: Event) => {
    e.preventDefault()
    const patch = Object.fromEntries(
      Object.entries(draft).filter(([k, v]) => v !== (p.session as unknown as Record<string, unknown>)[k])
    )
    p.onSave(patch)
  }
  return (
    <Modal title="Settings" onClose={p.onCancel}>
      <form onSubmit={save} class="settings">
        <label class="field">
          Download folder
          <input type="text" value={String(draft["download-dir"])} onInput={(e) => set("download-dir", e.currentTarget.value)} />
        </label>
        {NUMBERS.map(([key, text, toggle]) => (
          <div class="setting">
            {toggle !== undefined && (
              <input
                type="checkbox"
                aria-label={`Use: ${text}`}
                checked={draft[toggle] === true}
                onChange={(e) => set(toggle, e.currentTarget.checked)}
              />
            )}
            <label>
              {text}{" "}
              <input
                type="number"
                min={0}
                max={key === "peer-port" ? 65535 : undefined}
                value={Number(draft[key])}
                disabled={toggle !== undefined && draft[toggle] !== true}
                onInput={(e) => set(key, e.currentTarget.valueAsNumber)}
              />
            </label>
          </div>
        ))}
        <label class="field">
          Encryption
          <select value={String(draft.encryption)} onChange={(e) => set("encryption", e.currentTarget.value)}>
            <option value="required">Required</option>
            <option value="preferred">Preferred</option>
            <option value="tolerated">Tolerated (plain text allowed)</option>
          </select>
        </label>
        <label class="row">
          <input type="checkbox" checked={draft["dht-enabled"] === true} onChange={(e) => set("dht-enabled", e.currentTarget.checked)} />
          DHT (find peers without trackers)
        </label>
        <p class="note">{p.session.version === undefined ? "" : `Daemon: ${p.session.version}`}</p>
        <FormButtons onCancel={p.onCancel} submit="Save" />
      </form>
    </Modal>
  )
}
