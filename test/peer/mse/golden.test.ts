/**
 * Our handshake bytes against those of a second implementation of the spec (golden.py: Python's pow, hashlib, and
 * OpenSSL's RC4), with the same private keys and pads: each of our machines is fed the other implementation's
 * messages and must answer its bytes exactly.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  keyPairFrom,
  MseInitiator,
  MseResponder,
  type Pad,
  selectMethod
} from "../../../src/peer/mse/index.js"
import golden from "./golden.json" with { type: "json" }

const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"))
const hex = (bytes: Uint8Array | undefined) => bytes === undefined ? "" : Buffer.from(bytes).toString("hex")

describe("MSE golden handshakes", () => {
  for (const vector of golden) {
    const pads = (overrides: Partial<Record<Pad, number>>) => (pad: Pad) => overrides[pad] ?? vector.padLengths[pad]
    const Yb = vector.step2.slice(0, 192)
    const Ya = vector.step1.slice(0, 192)
    const cipher = vector.select === 2 ? "rc4" : "plaintext"

    it(`${vector.name}: our initiator answers their responder's bytes with theirs`, () => {
      const initiator = new MseInitiator({
        infoHash: fromHex(vector.infoHash),
        provide: { plaintext: true, rc4: true },
        initialPayload: fromHex(vector.initialPayload),
        keyPair: keyPairFrom(fromHex(vector.xa)),
        padLength: pads({ A: 0 })
      })
      expect(hex(initiator.start())).toBe(Ya)
      const step3 = initiator.receive(fromHex(vector.step2))
      expect(step3.error).toBeUndefined()
      expect(hex(step3.send)).toBe(vector.step3)
      const step4 = initiator.receive(fromHex(vector.step4 + vector.payloadBOnWire))
      expect(step4.error).toBeUndefined()
      expect(step4.send).toBeUndefined()
      expect(step4.done?.cipher).toBe(cipher)
      expect(hex(step4.done?.rest)).toBe(vector.payloadB)
      expect(hex(step4.done?.encrypt(fromHex(vector.payloadA)))).toBe(vector.payloadAOnWire)
    })

    it(`${vector.name}: our responder answers their initiator's bytes with theirs`, () => {
      const responder = new MseResponder({
        findTorrent: [new Uint8Array(20), fromHex(vector.infoHash)],
        select: selectMethod({ plaintext: cipher === "plaintext", rc4: cipher === "rc4" }, cipher),
        keyPair: keyPairFrom(fromHex(vector.xb)),
        padLength: pads({ B: 0 })
      })
      const step2 = responder.receive(fromHex(vector.step1))
      expect(step2.error).toBeUndefined()
      expect(hex(step2.send)).toBe(Yb)
      const step4 = responder.receive(fromHex(vector.step3 + vector.payloadAOnWire))
      expect(step4.error).toBeUndefined()
      expect(hex(step4.send)).toBe(vector.step4)
      expect(step4.done?.cipher).toBe(cipher)
      expect(hex(step4.done?.infoHash)).toBe(vector.infoHash)
      expect(step4.done?.initialPayloadLength).toBe(vector.initialPayload.length / 2)
      expect(hex(step4.done?.rest)).toBe(vector.initialPayload + vector.payloadA)
      expect(hex(step4.done?.encrypt(fromHex(vector.payloadB)))).toBe(vector.payloadBOnWire)
    })
  }
})
