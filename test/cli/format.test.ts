import { describe, expect, it } from "@effect/vitest"
import { formatBytes } from "../../src/cli/format.js"
import { progressLine } from "../../src/cli/progress.js"
import type { TorrentProgress } from "../../src/session/index.js"

describe("formatBytes", () => {
  it("shows whole bytes below 1 KiB, however fractional the figure (a rate measured over a window is)", () => {
    expect(formatBytes(0)).toBe("0 B")
    expect(formatBytes(999)).toBe("999 B")
    expect(formatBytes(5000 / 7)).toBe("714 B")
    expect(formatBytes(1023.6)).toBe("1024 B")
    expect(formatBytes(1536)).toBe("1.50 KiB")
    expect(formatBytes(1234567)).toBe("1.18 MiB")
  })

  it("so a slow download's progress line reads as bytes a second", () => {
    const progress = {
      state: "downloading", pieceCount: 4, verifiedPieces: 0, checkedPieces: 4, totalLength: 4096, bytesVerified: 0,
      wantedLength: 4096, wantedVerified: 0, downloaded: 100, wasted: 0, uploaded: 0, downloadRate: 0, uploadRate: 0,
      peers: 1, peerList: [], trackers: []
    } as unknown as TorrentProgress
    const line = progressLine({ progress, downloadRate: 5000 / 7, uploadRate: 0, eta: 5.7 })
    expect(line).toContain("down 714 B/s")
  })
})
