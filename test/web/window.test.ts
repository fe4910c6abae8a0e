import { assert, describe, it } from "@effect/vitest"
import { OVERSCAN, scrollFor, visibleRange } from "../../web/src/window.js"

describe("web UI windowing", () => {
  it("renders the rows seen and a few more, leaving room for the rest", () => {
    const r = visibleRange(4000, 400, 40, 1000)
    assert.deepStrictEqual(r, { first: 100 - OVERSCAN, last: 110 + OVERSCAN, before: (100 - OVERSCAN) * 40, after: (1000 - 110 - OVERSCAN) * 40 })
    assert.strictEqual(r.before + (r.last - r.first) * 40 + r.after, 1000 * 40)
  })

  it("stays inside the list at both ends, when empty, and for odd inputs", () => {
    assert.deepStrictEqual(visibleRange(0, 400, 40, 5), { first: 0, last: 5, before: 0, after: 0 })
    assert.deepStrictEqual(visibleRange(0, 400, 40, 0), { first: 0, last: 0, before: 0, after: 0 })
    assert.deepStrictEqual(visibleRange(-50, -1, 40, 3), { first: 0, last: 3, before: 0, after: 0 })
    // Scrolled past the end (the list just shrank): nothing beyond it.
    const past = visibleRange(1_000_000, 400, 40, 50)
    assert.deepStrictEqual([past.last, past.after, past.first <= past.last], [50, 0, true])
  })

  it("scrolls just enough to show a row whole", () => {
    assert.strictEqual(scrollFor(400, 200, 40, 12), 400)
    assert.strictEqual(scrollFor(400, 200, 40, 5), 200)
    assert.strictEqual(scrollFor(400, 200, 40, 20), 20 * 40 + 40 - 200)
    assert.strictEqual(scrollFor(400, 200, 40, 14, 30), 14 * 40 + 40 - 200 + 30)
  })
})
