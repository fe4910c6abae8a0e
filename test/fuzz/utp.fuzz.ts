/** Fuzzing the uTP packet decoder (BEP 29) with random, valid and mutated packets. */
import { describe } from "vitest"
import { decodePacket, encodePacket, HEADER_LENGTH } from "../../src/peer/utp/packet.js"
import { packetArb } from "../peer/utp/arbitraries.js"
import { ensure, fuzzInputs, fuzzTarget } from "./fuzz.js"

describe("fuzz: uTP", () => {
  fuzzTarget("uTP packet decoder", fuzzInputs(packetArb.map(encodePacket), 128), (bytes) => {
    const decoded = decodePacket(bytes)
    if (typeof decoded === "string") return false
    // What decodes encodes back to a packet of the same length (extensions may come back in another order) that
    // decodes to the same packet.
    const again = encodePacket(decoded)
    ensure(again.length === bytes.length, "a decoded packet encodes to as many bytes")
    ensure(again.length >= HEADER_LENGTH + decoded.payload.length, "the payload lies after the header")
    const twice = decodePacket(again)
    ensure(typeof twice !== "string" && twice.payload.length === decoded.payload.length, "re-encoding decodes")
    return true
  })
})
