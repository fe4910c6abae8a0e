import { describe, expect, it } from "@effect/vitest"
import { moveInQueue, placeInQueue, type QueueEntry, runnable } from "../../src/client/queue.js"

const limits = { downloadQueueEnabled: true, downloadQueueSize: 2, seedQueueEnabled: false, seedQueueSize: 1 }
const entry = (id: number, over: Partial<QueueEntry> = {}): QueueEntry => ({
  id,
  wanted: true,
  forced: false,
  complete: false,
  running: false,
  stalled: false,
  ...over
})
const run = (entries: ReadonlyArray<QueueEntry>, over = {}) => [...runnable(entries, { ...limits, ...over })].sort()

describe("queue", () => {
  it("fills the download slots in queue order; stopped torrents take none", () => {
    expect(run([entry(1), entry(2, { wanted: false }), entry(3), entry(4)])).toEqual([1, 3])
  })

  it("runs every download when the queue is off, and seeds apart from downloads", () => {
    expect(run([entry(1), entry(2), entry(3)], { downloadQueueEnabled: false })).toEqual([1, 2, 3])
    expect(run([entry(1), entry(2), entry(3, { complete: true }), entry(4, { complete: true })])).toEqual([1, 2, 3, 4])
    expect(run([entry(3, { complete: true }), entry(4, { complete: true })], { seedQueueEnabled: true })).toEqual([3])
  })

  it("lets a stalled torrent run without holding a slot", () => {
    expect(run([entry(1, { running: true, stalled: true }), entry(2), entry(3)])).toEqual([1, 2, 3])
  })

  it("does not push out a running torrent for one moved ahead of it, but a smaller queue stops the last", () => {
    expect(run([entry(3), entry(1, { running: true }), entry(2, { running: true })])).toEqual([1, 2])
    expect(run([entry(1, { running: true }), entry(2, { running: true })], { downloadQueueSize: 1 })).toEqual([1])
  })

  it("runs forced torrents past the queue", () => {
    expect(run([entry(1), entry(2), entry(3, { forced: true })], { downloadQueueSize: 0 })).toEqual([3])
  })

  it("moves torrents to the top, up, down and to the bottom, keeping the others' order", () => {
    expect(moveInQueue([1, 2, 3, 4], [3, 4], "top")).toEqual([3, 4, 1, 2])
    expect(moveInQueue([1, 2, 3, 4], [2, 3], "up")).toEqual([2, 3, 1, 4])
    expect(moveInQueue([1, 2, 3, 4], [1, 3], "down")).toEqual([2, 1, 4, 3])
    expect(moveInQueue([1, 2, 3, 4], [1], "bottom")).toEqual([2, 3, 4, 1])
    expect(moveInQueue([1, 2, 3], [1], "up")).toEqual([1, 2, 3])
    expect(moveInQueue([1, 2, 3], [9], "top")).toEqual([1, 2, 3])
    expect(placeInQueue([1, 2, 3], 3, 0)).toEqual([3, 1, 2])
    expect(placeInQueue([1, 2, 3], 1, 99)).toEqual([2, 3, 1])
  })
})
