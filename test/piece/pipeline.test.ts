import { describe, expect, it } from "@effect/vitest"
import { BLOCK_SIZE, MAX_REQUEST_DEPTH, MIN_REQUEST_DEPTH, pipelineDepth, requestDepth } from "../../src/piece/index.js"

const MiB = 1024 * 1024

describe("pipeline depth", () => {
  it("covers the bandwidth-delay product of a long fat link: 10 MiB/s at 300 ms needs ~190 blocks", () => {
    const bdpBlocks = Math.ceil((10 * MiB * 0.3) / BLOCK_SIZE)
    expect(bdpBlocks).toBe(192)
    expect(requestDepth(10 * MiB)).toBeGreaterThanOrEqual(bdpBlocks)
    expect(pipelineDepth(10 * MiB, MIN_REQUEST_DEPTH, undefined)).toBeGreaterThanOrEqual(bdpBlocks)
    // And 20 MiB/s at 100 ms (128 blocks).
    expect(pipelineDepth(20 * MiB, MIN_REQUEST_DEPTH, 250)).toBeGreaterThanOrEqual(128)
  })

  it("never goes past the peer's reqq, nor below one request", () => {
    expect(pipelineDepth(10 * MiB, MIN_REQUEST_DEPTH, 50)).toBe(50)
    expect(pipelineDepth(0, MAX_REQUEST_DEPTH, 3)).toBe(3)
    expect(pipelineDepth(0, MIN_REQUEST_DEPTH, 1)).toBe(1)
    expect(pipelineDepth(0, MIN_REQUEST_DEPTH, 0)).toBe(1)
  })

  it("without a reqq: the rate's depth, or slow start's while larger, within MAX_REQUEST_DEPTH", () => {
    expect(pipelineDepth(0, MIN_REQUEST_DEPTH, undefined)).toBe(MIN_REQUEST_DEPTH)
    expect(pipelineDepth(0, 100, undefined)).toBe(100)
    expect(pipelineDepth(1e12, MIN_REQUEST_DEPTH, 2 ** 31)).toBe(MAX_REQUEST_DEPTH)
    expect(pipelineDepth(Number.NaN, MIN_REQUEST_DEPTH, undefined)).toBe(MIN_REQUEST_DEPTH)
  })
})
