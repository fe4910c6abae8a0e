import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { idsOf, listTable, parseCredentials } from "../../src/cli/commands/remote.js"

describe("bt's remote commands", () => {
  it.effect("take ids, info-hashes or all", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* idsOf(["1", "A".repeat(40)]), { ids: [1, "a".repeat(40)] })
      assert.deepStrictEqual(yield* idsOf(["3", "all"]), {})
      const bad = yield* Effect.flip(idsOf(["1", "abc"]))
      assert.strictEqual(bad.message, "abc: expected a torrent id, a 40-digit info-hash or all")
    }))

  it("split credentials at the first colon", () => {
    assert.deepStrictEqual(parseCredentials("user:pa:ss"), { username: "user", password: "pa:ss" })
    assert.strictEqual(parseCredentials("nocolon"), undefined)
    assert.strictEqual(parseCredentials(":pass"), undefined)
  })

  it("list a table with the reason a torrent is stuck under its row", () => {
    const row = {
      id: 12, hashString: "a".repeat(40), name: "debian.iso", status: 4, percentDone: 0.4567, sizeWhenDone: 1024 * 1024,
      rateDownload: 2048, rateUpload: 0, eta: 90, uploadRatio: 0.5, peersConnected: 3, error: 0,
      errorString: "no peers from any source"
    }
    assert.strictEqual(
      listTable([row]),
      [
        "ID  Done   Size   Down     Up     ETA  Ratio  Peers  Status       Name",
        "12  45.6%  1 MiB  2 KiB/s  0 B/s  2m   0.50   3      downloading  debian.iso",
        "    ! no peers from any source"
      ].join("\n")
    )
  })
})
