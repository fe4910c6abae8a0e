import { describe, expect, it } from "@effect/vitest"
import { BLOCK_SIZE } from "../../src/piece/index.js"
import { Blame } from "../../src/session/Blame.js"
import { randomBytes } from "./fixtures.js"

const good = randomBytes(3 * BLOCK_SIZE - 100, 3)
/** `good` with the first byte of each given block flipped. */
const spoiled = (...blocks: Array<number>) => {
  const data = Uint8Array.from(good)
  for (const block of blocks) data[block * BLOCK_SIZE] = data[block * BLOCK_SIZE]! ^ 0xff
  return data
}

/** Records an attempt at piece 0: `senders[b]` sent block b; the piece arrives as `data`. */
const attempt = (blame: Blame<string>, senders: ReadonlyArray<string>, data: Uint8Array) => {
  senders.forEach((peer, block) => blame.received(peer, 0, block * BLOCK_SIZE))
  blame.completed(0, data)
}

describe("Blame", () => {
  it("convicts the only sender of a failed piece at once", () => {
    const blame = new Blame<string>()
    attempt(blame, ["a", "a", "a"], spoiled(1))
    expect(blame.failed(0)).toEqual(["a"])
    attempt(blame, ["b", "b", "b"], good)
    expect(blame.verified(0, good)).toEqual([])
  })

  it("convicts no one for a mixed failure, then whoever sent a block the good copy disagrees with", () => {
    const blame = new Blame<string>()
    attempt(blame, ["honest", "liar", "honest"], spoiled(1))
    expect(blame.failed(0)).toEqual([])
    attempt(blame, ["liar", "honest", "liar"], spoiled(0, 2))
    expect(blame.failed(0)).toEqual([])
    attempt(blame, ["other", "other", "other"], good)
    // Once per spoiled attempt; never the honest peer.
    expect(blame.verified(0, good)).toEqual(["liar", "liar"])
  })

  it("forgets a piece once it verified", () => {
    const blame = new Blame<string>()
    attempt(blame, ["honest", "liar", "honest"], spoiled(1))
    blame.failed(0)
    attempt(blame, ["honest", "honest", "honest"], good)
    expect(blame.verified(0, good)).toEqual(["liar"])
    attempt(blame, ["x", "y", "x"], good)
    expect(blame.verified(0, good)).toEqual([])
  })

  it("convicts no one when a mixed piece verifies with the same data", () => {
    const blame = new Blame<string>()
    // Failed for a reason not in the blocks' data as sent (say, the disk): no block differs from the good copy.
    attempt(blame, ["a", "b", "a"], good)
    expect(blame.failed(0)).toEqual([])
    attempt(blame, ["a", "a", "a"], good)
    expect(blame.verified(0, good)).toEqual([])
  })
})
