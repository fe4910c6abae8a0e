import { assert, describe, it } from "@effect/vitest"
import {
  filterTorrents,
  formatBytes,
  formatEta,
  formatPercent,
  formatRate,
  formatRatio,
  labelsOf,
  mergeTorrents,
  parseLabels,
  rangeIds,
  sortTorrents,
  Status,
  statusText,
  type Torrent
} from "../../web/src/format.js"

const torrent = (id: number, patch: Partial<Torrent> = {}): Torrent => ({
  id, name: `t${id}`, status: Status.downloading, totalSize: 0, sizeWhenDone: 0, percentDone: 0, rateDownload: 0,
  rateUpload: 0, eta: -1, peersConnected: 0, uploadRatio: -1, error: 0, errorString: "", isStalled: false,
  labels: [], metadataPercentComplete: 1, recheckProgress: 0, queuePosition: id, addedDate: 0, ...patch
})

describe("web UI formatting", () => {
  it("sizes in SI units with three significant digits", () => {
    assert.strictEqual(formatBytes(0), "0 B")
    assert.strictEqual(formatBytes(999), "999 B")
    assert.strictEqual(formatBytes(1000), "1.00 kB")
    assert.strictEqual(formatBytes(1_500_000), "1.50 MB")
    assert.strictEqual(formatBytes(12_345_678_901), "12.3 GB")
    assert.strictEqual(formatBytes(456_000_000_000), "456 GB")
    assert.strictEqual(formatBytes(999_999), "1.00 MB")
    assert.strictEqual(formatBytes(-1), "–")
  })

  it("rates blank when idle", () => {
    assert.strictEqual(formatRate(0), "")
    assert.strictEqual(formatRate(2048), "2.05 kB/s")
  })

  it("ETAs in their two largest units; unknown blank, never infinite", () => {
    assert.strictEqual(formatEta(-1), "")
    assert.strictEqual(formatEta(-2), "∞")
    assert.strictEqual(formatEta(0), "0s")
    assert.strictEqual(formatEta(45), "45s")
    assert.strictEqual(formatEta(200), "3m 20s")
    assert.strictEqual(formatEta(7500), "2h 5m")
    assert.strictEqual(formatEta(3600), "1h")
    assert.strictEqual(formatEta(3 * 86400 + 4 * 3600 + 59), "3d 4h")
  })

  it("ratios and percentages", () => {
    assert.strictEqual(formatRatio(-1), "–")
    assert.strictEqual(formatRatio(-2), "∞")
    assert.strictEqual(formatRatio(1.234), "1.23")
    assert.strictEqual(formatRatio(12.34), "12.3")
    assert.strictEqual(formatPercent(0), "0 %")
    assert.strictEqual(formatPercent(0.5), "50.0 %")
    assert.strictEqual(formatPercent(0.99999), "99.9 %")
    assert.strictEqual(formatPercent(1), "100 %")
  })

  it("status words", () => {
    assert.strictEqual(statusText(torrent(1)), "Downloading")
    assert.strictEqual(statusText(torrent(1, { metadataPercentComplete: 0.5 })), "Fetching metadata")
    assert.strictEqual(statusText(torrent(1, { status: Status.stopped, percentDone: 1 })), "Finished")
    assert.strictEqual(statusText(torrent(1, { status: Status.stopped })), "Stopped")
    assert.strictEqual(statusText(torrent(1, { error: 3 })), "Error")
  })
})

describe("web UI list logic", () => {
  const list = [
    torrent(1, { name: "Debian ISO", sizeWhenDone: 300, labels: ["linux"], eta: 50 }),
    torrent(2, { name: "<script>alert(1)</script>", sizeWhenDone: 100, status: Status.seeding, rateUpload: 5, eta: -1 }),
    torrent(3, { name: "debian source", sizeWhenDone: 200, status: Status.stopped, labels: ["linux", "src"], eta: 10 }),
    torrent(4, { name: "broken", error: 2, errorString: "tracker said no", eta: -2 })
  ]

  it("filters by status, label and every search word", () => {
    const ids = (f: Parameters<typeof filterTorrents>[1]) => filterTorrents(list, f).map((t) => t.id)
    assert.deepStrictEqual(ids({ status: "all", label: "", search: "" }), [1, 2, 3, 4])
    assert.deepStrictEqual(ids({ status: "downloading", label: "", search: "" }), [1, 4])
    assert.deepStrictEqual(ids({ status: "seeding", label: "", search: "" }), [2])
    assert.deepStrictEqual(ids({ status: "stopped", label: "", search: "" }), [3])
    assert.deepStrictEqual(ids({ status: "error", label: "", search: "" }), [4])
    assert.deepStrictEqual(ids({ status: "active", label: "", search: "" }), [2])
    assert.deepStrictEqual(ids({ status: "all", label: "src", search: "" }), [3])
    assert.deepStrictEqual(ids({ status: "all", label: "", search: "DEBIAN  iso" }), [1])
    assert.deepStrictEqual(labelsOf(list), ["linux", "src"])
    assert.deepStrictEqual(parseLabels(" linux, iso,,linux ,"), ["linux", "iso"])
    assert.deepStrictEqual(parseLabels(""), [])
  })

  it("sorts either way, unknown ETAs last, ties in queue order", () => {
    const by = (key: Parameters<typeof sortTorrents>[1]["key"], descending = false) =>
      sortTorrents(list, { key, descending }).map((t) => t.id)
    assert.deepStrictEqual(by("size"), [4, 2, 3, 1])
    assert.deepStrictEqual(by("size", true), [1, 3, 2, 4])
    assert.deepStrictEqual(by("eta"), [3, 1, 2, 4])
    assert.deepStrictEqual(by("name"), [2, 4, 1, 3])
    assert.deepStrictEqual(by("queue", true), [4, 3, 2, 1])
  })

  it("ranges for shift-selection in the order shown", () => {
    assert.deepStrictEqual(rangeIds([5, 3, 9, 1], 3, 1), [3, 9, 1])
    assert.deepStrictEqual(rangeIds([5, 3, 9, 1], 1, 5), [5, 3, 9, 1])
    assert.deepStrictEqual(rangeIds([5, 3, 9, 1], 7, 9), [9])
  })

  it("merges a recently-active reply; a full reply replaces the list", () => {
    const held = new Map(list.map((t) => [t.id, t]))
    const next = mergeTorrents(held, [{ id: 1, percentDone: 0.5 }, { id: 9, name: "new" }], [2], false)
    assert.deepStrictEqual([...next.keys()].sort(), [1, 3, 4, 9])
    assert.strictEqual(next.get(1)!.percentDone, 0.5)
    assert.strictEqual(next.get(1)!.name, "Debian ISO")
    assert.strictEqual(next.get(9)!.eta, -1)
    assert.deepStrictEqual([...mergeTorrents(held, [{ id: 3 }], [], true).keys()], [3])
  })
})
