/** Initiator against responder in memory: every way of cutting the bytes, both methods, with and without IA. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  type Cipher,
  keyPairFrom,
  MAX_PAD,
  type Methods,
  type Pad,
  selectMethod
} from "../../../src/peer/mse/index.js"
import { type Cuts, cutAt, type Direction, everyByte, noCuts, type RunOptions, runHandshake } from "./driver.js"

const infoHash = new Uint8Array(20).fill(0xab)
const otherHash = new Uint8Array(20).fill(0xcd)
const bytes = (text: string) => new Uint8Array(Buffer.from(text, "latin1"))
const btHandshake = new Uint8Array(68).map((_, i) => i)
const keyA = keyPairFrom(new Uint8Array(20).fill(1))
const keyB = keyPairFrom(new Uint8Array(20).fill(2))
const fixedPads = (lengths: Record<Pad, number>) => (pad: Pad) => lengths[pad]

interface Scenario {
  readonly cipher: Cipher
  readonly initialPayload: Uint8Array | undefined
}
const scenarios: ReadonlyArray<Scenario> = [
  { cipher: "rc4", initialPayload: btHandshake },
  { cipher: "rc4", initialPayload: undefined },
  { cipher: "plaintext", initialPayload: btHandshake },
  { cipher: "plaintext", initialPayload: undefined }
]
const only = (cipher: Cipher): Methods => ({ plaintext: cipher === "plaintext", rc4: cipher === "rc4" })

const options = (scenario: Scenario, pads: Record<Pad, number>, cuts: Cuts): RunOptions => ({
  initiator: {
    infoHash,
    provide: { plaintext: true, rc4: true },
    ...(scenario.initialPayload === undefined ? {} : { initialPayload: scenario.initialPayload }),
    keyPair: keyA,
    padLength: fixedPads(pads)
  },
  responder: {
    findTorrent: [otherHash, infoHash],
    select: selectMethod(only(scenario.cipher), scenario.cipher),
    keyPair: keyB,
    padLength: fixedPads(pads)
  },
  payloadFromInitiator: bytes("interested, please"),
  payloadFromResponder: bytes("a bitfield and a piece"),
  cuts
})

/** Checks a run ended with both sides done on the scenario's method, each having got the other's payload. */
const expectAgreed = (scenario: Scenario, run: ReturnType<typeof runHandshake>) => {
  expect(run.initiator.error).toBeUndefined()
  expect(run.responder.error).toBeUndefined()
  expect(run.initiator.done?.cipher).toBe(scenario.cipher)
  expect(run.responder.done?.cipher).toBe(scenario.cipher)
  expect(run.responder.done?.infoHash).toEqual(infoHash)
  const ia = scenario.initialPayload ?? new Uint8Array(0)
  expect(run.responder.done?.initialPayloadLength).toBe(ia.length)
  expect(Buffer.from(run.responder.received).toString("latin1")).toBe(
    Buffer.from(ia).toString("latin1") + "interested, please"
  )
  expect(Buffer.from(run.initiator.received).toString("latin1")).toBe("a bitfield and a piece")
}

const name = (s: Scenario) => `${s.cipher}, ${s.initialPayload === undefined ? "no IA" : "IA"}`
const smallPads = { A: 5, B: 7, C: 3, D: 4 }

describe("MSE handshake in memory", () => {
  for (const scenario of scenarios) {
    it(`${name(scenario)}: in one piece each way`, () => {
      const run = runHandshake(options(scenario, smallPads, noCuts))
      expectAgreed(scenario, run)
      if (scenario.cipher === "rc4") {
        // The payload is not on the wire in the clear.
        expect(Buffer.from(run.wire.toResponder).includes("interested, please")).toBe(false)
      } else {
        expect(Buffer.from(run.wire.toResponder).includes("interested, please")).toBe(true)
      }
    })

    it(`${name(scenario)}: one byte at a time`, () => {
      const run = runHandshake(options(scenario, smallPads, everyByte))
      expectAgreed(scenario, run)
    })

    it(`${name(scenario)}: at every split point of each direction`, () => {
      const whole = runHandshake(options(scenario, smallPads, noCuts))
      for (const direction of ["toResponder", "toInitiator"] as const satisfies ReadonlyArray<Direction>) {
        for (let at = 1; at < whole.wire[direction].length; at++) {
          expectAgreed(scenario, runHandshake(options(scenario, smallPads, cutAt(direction, at))))
        }
      }
    })
  }

  it("with the largest pads, at every split point around the markers' bounds", () => {
    const pads = { A: MAX_PAD, B: MAX_PAD, C: MAX_PAD, D: MAX_PAD }
    const whole = runHandshake(options(scenarios[0]!, pads, noCuts))
    expectAgreed(scenarios[0]!, whole)
    for (const direction of ["toResponder", "toInitiator"] as const) {
      for (let at = 90; at < 96 + MAX_PAD + 60; at++) {
        expectAgreed(scenarios[0]!, runHandshake(options(scenarios[0]!, pads, cutAt(direction, at))))
      }
    }
  })

  it("agrees under random chunkings, pads and payloads (fast-check)", () => {
    const padArb = fc.integer({ min: 0, max: MAX_PAD })
    fc.assert(
      fc.property(
        fc.constantFrom(...scenarios),
        fc.record({ A: padArb, B: padArb, C: padArb, D: padArb }),
        fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
        fc.array(fc.nat({ max: 1500 }), { maxLength: 12 }),
        fc.array(fc.nat({ max: 1500 }), { maxLength: 12 }),
        (base, pads, initialPayload, toResponder, toInitiator) => {
          const scenario = { ...base, initialPayload }
          const cuts = { toResponder: new Set(toResponder), toInitiator: new Set(toInitiator) }
          const run = runHandshake(options(scenario, pads, (direction, offset) => cuts[direction].has(offset)))
          expectAgreed(scenario, run)
          // Held bytes stay within the bounds: 96 + 512 + 20 before a marker, then at most IA and fixed fields.
          expect(run.responder.maxBuffered).toBeLessThanOrEqual(96 + MAX_PAD + 20 + 20 + 14 + 2 + (initialPayload?.length ?? 0))
          expect(run.initiator.maxBuffered).toBeLessThanOrEqual(96 + MAX_PAD + 8 + 6)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("negotiates what both sides allow", () => {
    const cases: ReadonlyArray<readonly [Methods, Methods, Cipher, Cipher | undefined]> = [
      [{ plaintext: true, rc4: true }, { plaintext: true, rc4: true }, "rc4", "rc4"],
      [{ plaintext: true, rc4: true }, { plaintext: true, rc4: true }, "plaintext", "plaintext"],
      [{ plaintext: false, rc4: true }, { plaintext: true, rc4: true }, "plaintext", "rc4"],
      [{ plaintext: true, rc4: false }, { plaintext: true, rc4: true }, "rc4", "plaintext"],
      [{ plaintext: true, rc4: false }, { plaintext: false, rc4: true }, "rc4", undefined],
      [{ plaintext: false, rc4: true }, { plaintext: true, rc4: false }, "plaintext", undefined]
    ]
    for (const [provide, allow, prefer, expected] of cases) {
      const base = options(scenarios[0]!, smallPads, noCuts)
      const run = runHandshake({
        ...base,
        initiator: { ...base.initiator, provide },
        responder: { ...base.responder, select: selectMethod(allow, prefer) }
      })
      if (expected === undefined) {
        expect(run.responder.error).toMatch(/no method we accept/)
        expect(run.initiator.done).toBeUndefined()
      } else {
        expect(run.initiator.done?.cipher).toBe(expected)
        expect(run.responder.done?.cipher).toBe(expected)
      }
    }
  })

  it("finds the torrent through a lookup by obfuscated info-hash", () => {
    const base = options(scenarios[0]!, smallPads, noCuts)
    const seen: Array<Uint8Array> = []
    const run = runHandshake({
      ...base,
      responder: {
        ...base.responder,
        findTorrent: (obfuscated) => {
          seen.push(obfuscated)
          return infoHash
        }
      }
    })
    expectAgreed(scenarios[0]!, run)
    expect(seen).toHaveLength(1)
  })

  it("sends random pads of 0 to 512 bytes by default", () => {
    const lengths = new Set<number>()
    for (let i = 0; i < 20; i++) {
      const run = runHandshake({
        initiator: { infoHash, provide: { plaintext: false, rc4: true } },
        responder: { findTorrent: [infoHash], select: selectMethod({ plaintext: false, rc4: true }, "rc4") }
      })
      expect(run.initiator.done?.cipher).toBe("rc4")
      const first = run.wire.toResponder.length
      expect(first).toBeGreaterThanOrEqual(96 + 40 + 16)
      expect(first).toBeLessThanOrEqual(96 + MAX_PAD + 40 + 16 + MAX_PAD)
      lengths.add(first)
    }
    expect(lengths.size).toBeGreaterThan(1)
  })
})
