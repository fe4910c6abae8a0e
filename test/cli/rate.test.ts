import { describe, expect, it } from "@effect/vitest"
import { parseRate } from "../../src/cli/options.js"

describe("--download-limit / --upload-limit RATE", () => {
  it("reads bytes per second with K, M and G suffixes (1024-based), any case, an optional B and /s", () => {
    expect(parseRate("65536")).toBe(65536)
    expect(parseRate("500K")).toBe(500 * 1024)
    expect(parseRate("4M")).toBe(4 * 1024 * 1024)
    expect(parseRate("1.5m")).toBe(1.5 * 1024 * 1024)
    expect(parseRate("2G")).toBe(2 * 1024 ** 3)
    expect(parseRate("300KB/s")).toBe(300 * 1024)
    expect(parseRate("1MiB")).toBe(1024 * 1024)
  })

  it("refuses what is not a positive rate", () => {
    for (const text of ["", "0", "0K", "-1M", "5Q", "M", "1e6", "4 M B", "1.2.3K"]) expect(parseRate(text)).toBeUndefined()
  })
})
