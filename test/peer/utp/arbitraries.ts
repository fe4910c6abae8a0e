/** fast-check arbitraries shared by the uTP tests and its fuzz target. */
import fc from "fast-check"
import type { Packet, PacketType } from "../../../src/peer/utp/packet.js"

const packetType = fc.constantFrom<PacketType>("data", "fin", "state", "reset", "syn")
const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
/** Any packet, extensions included. */
export const packetArb: fc.Arbitrary<Packet> = fc.record(
  {
    type: packetType,
    connectionId: u16,
    timestamp: u32,
    timestampDifference: u32,
    windowSize: u32,
    seqNr: u16,
    ackNr: u16,
    selectiveAck: fc.integer({ min: 1, max: 63 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 })),
    extensions: fc.array(
      fc.record({ type: fc.integer({ min: 2, max: 255 }), data: fc.uint8Array({ maxLength: 255 }) }),
      { minLength: 1, maxLength: 4 }
    ),
    payload: fc.uint8Array({ maxLength: 1400 })
  },
  { requiredKeys: ["type", "connectionId", "timestamp", "timestampDifference", "windowSize", "seqNr", "ackNr", "payload"] }
)
