import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import fc from "fast-check"
import { type Bencodable, encode } from "../../src/bencode/index.js"
import {
  DEFAULT_INTERVAL,
  decodeAnnounceResponse,
  decodeScrapeResponse,
  type ResponseProblem
} from "../../src/tracker/http/response.js"
import type { AnnounceResponse } from "../../src/tracker/index.js"

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"))
const latin1 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "latin1"))

const announceOk = (value: Bencodable | Uint8Array): AnnounceResponse => {
  const result = decodeAnnounceResponse(value instanceof Uint8Array ? value : encode(value))
  if (Either.isLeft(result)) throw new Error(`expected an answer, got ${result.left.reason}: ${result.left.detail}`)
  return result.right
}

const announceProblem = (value: Bencodable | Uint8Array): ResponseProblem => {
  const result = decodeAnnounceResponse(value instanceof Uint8Array ? value : encode(value))
  if (Either.isRight(result)) throw new Error("expected the answer to be rejected")
  return result.left
}

const scrapeOk = (value: Bencodable) => Either.getOrThrow(decodeScrapeResponse(encode(value)))

const scrapeProblem = (value: Bencodable | Uint8Array): ResponseProblem => {
  const result = decodeScrapeResponse(value instanceof Uint8Array ? value : encode(value))
  if (Either.isRight(result)) throw new Error("expected the scrape answer to be rejected")
  return result.left
}

/** 127.0.0.1:6881 and 10.0.0.2:65535. */
const compactV4 = hex("7f000001 1ae1  0a000002 ffff")
/** [2001:db8::1]:6881. */
const compactV6 = hex("2001 0db8 0000 0000 0000 0000 0000 0001 1ae1")

const full: Bencodable = {
  interval: 900,
  "min interval": 300,
  complete: 5,
  incomplete: 7,
  peers: compactV4,
  peers6: compactV6,
  "tracker id": "tid-1",
  "warning message": "slow down"
}

describe("decodeAnnounceResponse: answers", () => {
  it("decodes a complete answer with compact IPv4 and IPv6 peers", () => {
    expect(announceOk(full)).toEqual({
      interval: 900,
      minInterval: 300,
      peers: [
        { host: "127.0.0.1", port: 6881 },
        { host: "10.0.0.2", port: 65535 },
        { host: "2001:db8::1", port: 6881 }
      ],
      complete: 5,
      incomplete: 7,
      warning: "slow down",
      trackerId: "tid-1"
    })
  })

  it("reads BEP 24's external ip: 4 or 16 bytes; any other length is left out", () => {
    expect(announceOk({ "external ip": hex("cb007109") }).externalIp).toBe("203.0.113.9")
    expect(announceOk({ "external ip": compactV6.subarray(0, 16) }).externalIp).toBe("2001:db8::1")
    expect(announceOk({ "external ip": hex("cb0071") })).not.toHaveProperty("externalIp")
    expect(announceOk({ "external ip": 5 })).not.toHaveProperty("externalIp")
  })

  it("decodes a minimal answer: defaults for everything the tracker left out", () => {
    expect(announceOk({})).toEqual({
      interval: DEFAULT_INTERVAL,
      minInterval: undefined,
      peers: [],
      complete: undefined,
      incomplete: undefined,
      warning: undefined,
      trackerId: undefined
    })
    expect(DEFAULT_INTERVAL).toBe(1800)
  })

  it("decodes dictionary peers, with or without a peer id", () => {
    const answer = announceOk({
      interval: 60,
      peers: [
        { ip: "192.168.1.5", port: 51413, "peer id": new Uint8Array(20).fill(0xff) },
        { ip: "2001:db8::7", port: 6881 },
        { ip: "10.0.0.9", port: 1, "peer id": "-XX0001-abcdefghijkl" }
      ]
    })
    expect(answer.peers).toEqual([
      { host: "192.168.1.5", port: 51413 },
      { host: "2001:db8::7", port: 6881 },
      { host: "10.0.0.9", port: 1 }
    ])
  })

  it("skips dictionary peers that are malformed or on port 0", () => {
    const answer = announceOk({
      peers: [
        { ip: "10.0.0.1", port: 0 },
        { ip: "10.0.0.2", port: 65536 },
        { ip: "10.0.0.3", port: -1 },
        { ip: "10.0.0.4", port: "6881" },
        { ip: "10.0.0.5" },
        { port: 6881 },
        { ip: 1234, port: 6881 },
        { ip: "", port: 6881 },
        { ip: "\u0000\u0001", port: 6881 },
        "10.0.0.6:6881",
        6881,
        [],
        { ip: "10.0.0.7", port: 6881 }
      ]
    })
    expect(answer.peers).toEqual([{ host: "10.0.0.7", port: 6881 }])
  })

  it("mixes dictionary peers and peers6", () => {
    const answer = announceOk({ peers: [{ ip: "10.0.0.1", port: 6881 }], peers6: compactV6 })
    expect(answer.peers).toEqual([{ host: "10.0.0.1", port: 6881 }, { host: "2001:db8::1", port: 6881 }])
  })

  it("takes peers6 alone, and ignores a peers6 that is not a string", () => {
    expect(announceOk({ peers6: compactV6 }).peers).toEqual([{ host: "2001:db8::1", port: 6881 }])
    expect(announceOk({ peers: compactV4, peers6: [compactV6] }).peers).toHaveLength(2)
  })

  it("skips compact entries on port 0", () => {
    const answer = announceOk({
      peers: hex("7f000001 0000  7f000002 1ae1"),
      peers6: hex("0000 0000 0000 0000 0000 0000 0000 0001 0000")
    })
    expect(answer.peers).toEqual([{ host: "127.0.0.2", port: 6881 }])
  })

  it("drops duplicates within and across the peer lists", () => {
    const answer = announceOk({
      peers: hex("7f000001 1ae1  7f000001 1ae1  7f000001 1ae2"),
      peers6: hex("2001 0db8 0000 0000 0000 0000 0000 0001 1ae1  2001 0db8 0000 0000 0000 0000 0000 0001 1ae1")
    })
    expect(answer.peers).toEqual([
      { host: "127.0.0.1", port: 6881 },
      { host: "127.0.0.1", port: 6882 },
      { host: "2001:db8::1", port: 6881 }
    ])
    const dictionaries = announceOk({
      peers: [{ ip: "10.0.0.1", port: 6881 }, { ip: "10.0.0.1", port: 6881, "peer id": "x" }]
    })
    expect(dictionaries.peers).toEqual([{ host: "10.0.0.1", port: 6881 }])
  })

  it("ignores a trailing partial compact entry", () => {
    expect(announceOk({ peers: hex("7f000001 1ae1 7f00") }).peers).toEqual([{ host: "127.0.0.1", port: 6881 }])
  })

  it("reads min interval, even when larger than interval", () => {
    const answer = announceOk({ interval: 60, "min interval": 600 })
    expect(answer.interval).toBe(60)
    expect(answer.minInterval).toBe(600)
  })

  it("ignores negative or non-integer counts and durations", () => {
    const answer = announceOk({
      interval: -5,
      "min interval": -1,
      complete: -3,
      incomplete: "7",
      peers: compactV4
    })
    expect(answer.interval).toBe(DEFAULT_INTERVAL)
    expect(answer.minInterval).toBeUndefined()
    expect(answer.complete).toBeUndefined()
    expect(answer.incomplete).toBeUndefined()
    expect(answer.peers).toHaveLength(2)
    expect(announceOk({ interval: "900" }).interval).toBe(DEFAULT_INTERVAL)
    expect(announceOk({ interval: 0, complete: 0, incomplete: 0 })).toMatchObject({
      interval: 0,
      complete: 0,
      incomplete: 0
    })
  })

  it("keeps the tracker id as text to echo back, and ignores one that is not a string", () => {
    expect(announceOk({ "tracker id": "abc 123" }).trackerId).toBe("abc 123")
    expect(announceOk({ "tracker id": 42 }).trackerId).toBeUndefined()
  })

  it("ignores keys it does not know", () => {
    expect(announceOk({ peers: compactV4, "external ip": hex("01020304"), extra: { a: [1] } }).peers).toHaveLength(2)
  })
})

describe("decodeAnnounceResponse: tracker text", () => {
  it("strips control characters from a warning and keeps it on one line", () => {
    const answer = announceOk({ "warning message": "  line one\r\n\u001b[31mred\u0007\u007f\tend\u0000 " })
    expect(answer.warning).toBe("line one [31mred end")
  })

  it("strips C1 control characters (U+0080-U+009F), which some terminals obey", () => {
    // U+009B is the 8-bit CSI: "\u009b2J" clears the screen on a terminal that takes 8-bit controls.
    expect(announceOk({ "warning message": "a\u009b2Jb\u0085c" }).warning).toBe("a 2Jb c")
  })

  it("decodes UTF-8 and replaces invalid bytes", () => {
    expect(announceOk({ "warning message": "café ☕" }).warning).toBe("café ☕")
    expect(announceOk({ "warning message": hex("61 ff 62") }).warning).toBe("a\ufffdb")
  })

  it("bounds the length of tracker text", () => {
    const problem = announceProblem({ "failure reason": "x".repeat(10_000) })
    expect(problem.detail.length).toBeLessThan(400)
    expect(announceOk({ "warning message": "y".repeat(10_000) }).warning).toBe("y".repeat(300))
  })

  it("strips control characters from a failure reason", () => {
    const problem = announceProblem({ "failure reason": "bad\r\n\u001b]0;owned\u0007 torrent" })
    expect(problem).toEqual({ reason: "Rejected", detail: "the tracker refused: bad ]0;owned  torrent" })
  })

  it("strips control characters from a dictionary peer's address", () => {
    expect(announceOk({ peers: [{ ip: "\n10.0.0.1\r\n", port: 6881 }] }).peers).toEqual([
      { host: "10.0.0.1", port: 6881 }
    ])
  })
})

describe("decodeAnnounceResponse: refusals and garbage", () => {
  it("turns a failure reason into Rejected, whatever else the answer holds", () => {
    expect(announceProblem({ "failure reason": "unregistered torrent" })).toEqual({
      reason: "Rejected",
      detail: "the tracker refused: unregistered torrent"
    })
    expect(announceProblem({ ...(full as object), "failure reason": "passkey not found" })).toEqual({
      reason: "Rejected",
      detail: "the tracker refused: passkey not found"
    })
  })

  it("is Rejected even when the failure reason is not a string", () => {
    expect(announceProblem({ "failure reason": 17 })).toEqual({
      reason: "Rejected",
      detail: "the tracker refused: (no reason given)"
    })
  })

  it("is Decode for input that is not bencode", () => {
    for (const body of ["", "<html>404</html>", "d8:intervali900e", "i1", "d8:intervali900ee trailing", "de\n"]) {
      expect(announceProblem(latin1(body)).reason).toBe("Decode")
    }
  })

  it("is Decode for bencode that is not a dictionary", () => {
    for (const value of [42, "peers", [{ interval: 900 }], latin1("0:"), latin1("le")]) {
      expect(announceProblem(value)).toEqual({ reason: "Decode", detail: "the tracker's answer is not a dictionary" })
    }
  })

  it("is Decode when peers is neither a string nor a list", () => {
    expect(announceProblem({ peers: 6 }).reason).toBe("Decode")
    expect(announceProblem({ peers: { ip: "10.0.0.1", port: 6881 } }).reason).toBe("Decode")
  })

  it("gives Left for every truncation of a valid answer, and never throws", () => {
    const body = encode({ ...(full as object), peers: [{ ip: "10.0.0.1", port: 6881, "peer id": "abc" }] })
    expect(Either.isRight(decodeAnnounceResponse(body))).toBe(true)
    for (let end = 0; end < body.length; end++) {
      const result = decodeAnnounceResponse(body.subarray(0, end))
      expect(Either.isLeft(result), `truncated at ${end}`).toBe(true)
    }
  })

  it("never throws on random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const result = decodeAnnounceResponse(bytes)
      if (Either.isLeft(result)) expect(["Decode", "Rejected"]).toContain(result.left.reason)
    }), { numRuns: 2000 })
  })

  it("never throws on random bencode dictionaries with tracker keys", () => {
    const value: fc.Arbitrary<Bencodable> = fc.letrec<{ value: Bencodable }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.integer(),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom("ip", "port", "peer id", "x"), tie("value"), { maxKeys: 4 })
      )
    })).value
    const keys = fc.constantFrom(
      "interval",
      "min interval",
      "peers",
      "peers6",
      "complete",
      "incomplete",
      "tracker id",
      "warning message",
      "failure reason"
    )
    fc.assert(fc.property(fc.dictionary(keys, value, { maxKeys: 9 }), (dict) => {
      const result = decodeAnnounceResponse(encode(dict))
      if (Either.isRight(result)) {
        for (const peer of result.right.peers) {
          expect(Number.isInteger(peer.port) && peer.port > 0 && peer.port < 65536).toBe(true)
        }
      }
    }))
  })
})

describe("decodeScrapeResponse", () => {
  const hashA = new Uint8Array(20).fill(0xaa)
  const hashB = Uint8Array.from({ length: 20 }, (_, i) => i)
  const files = (entries: ReadonlyArray<readonly [Uint8Array | string, Bencodable]>) =>
    new Map(entries.map(([key, value]) => [typeof key === "string" ? key : Buffer.from(key).toString("latin1"), value]))

  it("maps each info-hash, as hex, to its counts", () => {
    const result = scrapeOk({
      files: files([
        [hashA, { complete: 3, downloaded: 10, incomplete: 4, name: "x" }],
        [hashB, { complete: 0, downloaded: 0, incomplete: 1 }]
      ])
    })
    expect(result).toEqual(new Map([
      ["aa".repeat(20), { complete: 3, downloaded: 10, incomplete: 4 }],
      ["000102030405060708090a0b0c0d0e0f10111213", { complete: 0, downloaded: 0, incomplete: 1 }]
    ]))
  })

  it("counts missing or invalid as 0", () => {
    expect(scrapeOk({ files: files([[hashA, { complete: -1, incomplete: "2" }]]) })).toEqual(
      new Map([["aa".repeat(20), { complete: 0, downloaded: 0, incomplete: 0 }]])
    )
  })

  it("accepts an empty files dictionary", () => {
    expect(scrapeOk({ files: {} }).size).toBe(0)
  })

  it("ignores keys that are not 20 bytes and entries that are not dictionaries", () => {
    const result = scrapeOk({
      files: files([
        [new Uint8Array(19).fill(1), { complete: 1 }],
        [new Uint8Array(21).fill(2), { complete: 1 }],
        ["", { complete: 1 }],
        [hashB, 5],
        [hashA, { complete: 9 }]
      ])
    })
    expect([...result.keys()]).toEqual(["aa".repeat(20)])
  })

  it("is Rejected on a failure reason, even next to files", () => {
    expect(scrapeProblem({ "failure reason": "scrape disabled", files: files([[hashA, {}]]) })).toEqual({
      reason: "Rejected",
      detail: "the tracker refused: scrape disabled"
    })
  })

  it("is Decode when files is missing or not a dictionary", () => {
    expect(scrapeProblem({}).reason).toBe("Decode")
    expect(scrapeProblem({ files: [] }).reason).toBe("Decode")
    expect(scrapeProblem(latin1("d5:filesd")).reason).toBe("Decode")
    expect(scrapeProblem(7).reason).toBe("Decode")
  })

  it("never throws on random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      decodeScrapeResponse(bytes)
    }), { numRuns: 2000 })
  })
})
