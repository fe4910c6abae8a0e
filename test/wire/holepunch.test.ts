import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { decodeHolepunch, encodeHolepunch, type HolepunchMessage, WireError } from "../../src/wire/index.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

describe("ut_holepunch (BEP 55)", () => {
  it("golden bytes: an IPv4 rendezvous, an IPv6 connect, an error with its code", () => {
    const rendezvous: HolepunchMessage = { type: "rendezvous", peer: { host: "192.0.2.7", port: 6881 }, errorCode: 0 }
    expect(hex(encodeHolepunch(rendezvous))).toBe("0000" + "c0000207" + "1ae1" + "00000000")
    const connect: HolepunchMessage = { type: "connect", peer: { host: "2001:db8::1", port: 51413 }, errorCode: 0 }
    expect(hex(encodeHolepunch(connect))).toBe("0101" + "20010db8000000000000000000000001" + "c8d5" + "00000000")
    const error: HolepunchMessage = { type: "error", peer: { host: "192.0.2.7", port: 6881 }, errorCode: 2 }
    expect(hex(encodeHolepunch(error))).toBe("0200" + "c0000207" + "1ae1" + "00000002")
    for (const message of [rendezvous, connect, error]) expect(decodeHolepunch(encodeHolepunch(message))).toEqual(message)
  })

  it("every truncation and one byte more is a typed error; unknown types and address types too", () => {
    const bytes = encodeHolepunch({ type: "connect", peer: { host: "192.0.2.7", port: 6881 }, errorCode: 0 })
    for (let cut = 0; cut < bytes.length; cut++) {
      // Cut after the port (8 bytes) is libtorrent's form, taken as error code 0; every other cut is an error.
      if (cut !== 8) expect(decodeHolepunch(bytes.subarray(0, cut))).toBeInstanceOf(WireError)
    }
    expect(decodeHolepunch(Uint8Array.from([...bytes, 0]))).toBeInstanceOf(WireError)
    expect(decodeHolepunch(Uint8Array.from([3, ...bytes.subarray(1)]))).toBeInstanceOf(WireError)
    expect(decodeHolepunch(Uint8Array.from([1, 2, ...bytes.subarray(2)]))).toBeInstanceOf(WireError)
    const portZero = Uint8Array.from(bytes)
    portZero.set([0, 0], 6)
    expect(decodeHolepunch(portZero)).toBeInstanceOf(WireError)
  })

  it("libtorrent 2.0's form, without the error code after the port, reads as code 0 (IPv4 and IPv6)", () => {
    // As libtorrent 2.0.8 sends a rendezvous and a connect (seen in test/interop/holepunch.test.ts).
    expect(decodeHolepunch(Buffer.from("0000" + "c0000207" + "1ae1", "hex"))).toEqual({
      type: "rendezvous",
      peer: { host: "192.0.2.7", port: 6881 },
      errorCode: 0
    })
    expect(decodeHolepunch(Buffer.from("0101" + "20010db8000000000000000000000001" + "c8d5", "hex"))).toEqual({
      type: "connect",
      peer: { host: "2001:db8::1", port: 51413 },
      errorCode: 0
    })
    expect(decodeHolepunch(Buffer.from("0101" + "20010db8000000000000000000000001" + "c8d5" + "00", "hex")))
      .toBeInstanceOf(WireError)
  })

  it("garbage never throws: a message or a WireError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const decoded = decodeHolepunch(bytes)
      if (!(decoded instanceof WireError)) expect(decodeHolepunch(encodeHolepunch(decoded))).toEqual(decoded)
    }))
  })
})
