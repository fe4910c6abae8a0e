/**
 * A torrent's own options, read from `torrent-get` and sent back with `torrent-set` (only what changed): its speed
 * limits, whether the session's limits hold it too, its seed ratio (the session's, its own, or none) and its peers.
 */
import { useState } from "preact/hooks"
import { type Limits, limitsPatch } from "./limits.js"

const RATIO_MODES = [[0, "The session's"], [1, "Its own"], [2, "None: seed for ever"]] as const

export const Options = (p: { limits: Limits; onSet: (patch: Record<string, unknown>) => void }) => {
  const [draft, setDraft] = useState<Limits>(p.limits)
  const set = <K extends keyof Limits>(key: K, value: Limits[K]) => setDraft({ ...draft, [key]: value })
  const number = (key: "downloadLimit" | "uploadLimit" | "seedRatioLimit" | "peer-limit", text: string, disabled: boolean, step = 1) => (
    <label>
      {text}{" "}
      <input
        type="number"
        min={0}
        step={step}
        value={draft[key]}
        disabled={disabled}
        onInput={(e) => {
          const value = e.currentTarget.valueAsNumber
          if (Number.isFinite(value) && value >= 0) set(key, value)
        }}
      />
    </label>
  )
  const changed = limitsPatch(p.limits, draft)
  return (
    <form
      class="settings"
      aria-label="Options of this torrent"
      onSubmit={(e) => {
        e.preventDefault()
        p.onSet(changed)
      }}
    >
      <div class="setting">
        <input type="checkbox" aria-label="Use: Download limit (kB/s)" checked={draft.downloadLimited} onChange={(e) => set("downloadLimited", e.currentTarget.checked)} />
        {number("downloadLimit", "Download limit (kB/s)", !draft.downloadLimited)}
      </div>
      <div class="setting">
        <input type="checkbox" aria-label="Use: Upload limit (kB/s)" checked={draft.uploadLimited} onChange={(e) => set("uploadLimited", e.currentTarget.checked)} />
        {number("uploadLimit", "Upload limit (kB/s)", !draft.uploadLimited)}
      </div>
      <label class="row">
        <input type="checkbox" checked={draft.honorsSessionLimits} onChange={(e) => set("honorsSessionLimits", e.currentTarget.checked)} />
        The session's speed limits hold it too
      </label>
      <label class="field">
        Stop seeding at a ratio
        <select value={draft.seedRatioMode} onChange={(e) => set("seedRatioMode", Number(e.currentTarget.value))}>
          {RATIO_MODES.map(([v, t]) => <option value={v}>{t}</option>)}
        </select>
      </label>
      <div class="setting">{number("seedRatioLimit", "Its own ratio", draft.seedRatioMode !== 1, 0.1)}</div>
      <div class="setting">{number("peer-limit", "Peers at most", false)}</div>
      <div class="buttons">
        <button type="button" disabled={Object.keys(changed).length === 0} onClick={() => setDraft(p.limits)}>Undo</button>
        <button type="submit" class="primary" disabled={Object.keys(changed).length === 0}>Save options</button>
      </div>
    </form>
  )
}
