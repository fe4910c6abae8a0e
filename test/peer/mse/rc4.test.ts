import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Rc4 } from "../../../src/peer/mse/rc4.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const fromHex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"))
const latin1 = (text: string) => new Uint8Array(Buffer.from(text, "latin1"))
const keystream = (key: Uint8Array, length: number, drop = 0) => new Rc4(key, drop).process(new Uint8Array(length))

describe("RC4 known answers", () => {
  it("encrypts the classic vectors", () => {
    expect(hex(new Rc4(latin1("Key")).process(latin1("Plaintext")))).toBe("bbf316e8d940af0ad3")
    expect(hex(new Rc4(latin1("Wiki")).process(latin1("pedia")))).toBe("1021bf0420")
    expect(hex(new Rc4(latin1("Secret")).process(latin1("Attack at dawn")))).toBe("45a01f645fc35b383552544b9bf5")
  })

  // RFC 6229 section 2: 16 keystream bytes at each offset. The 128-bit rows are as printed in the RFC; the 40-bit
  // rows as OpenSSL's RC4 gives them (its offset-0 row is the RFC's).
  const offsets = [0, 16, 240, 256, 496, 512, 752, 768, 1008, 1024, 1520, 1536, 2032, 2048, 3056, 3072, 4080, 4096]
  const vectors: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["0102030405", [
      "b2396305f03dc027ccc3524a0a1118a8", "6982944f18fc82d589c403a47a0d0919",
      "28cb1132c96ce286421dcaadb8b69eae", "1cfcf62b03eddb641d77dfcf7f8d8c93",
      "42b7d0cdd918a8a33dd51781c81f4041", "6459844432a7da923cfb3eb4980661f6",
      "ec10327bde2beefd18f9277680457e22", "eb62638d4f0ba1fe9fca20e05bf8ff2b",
      "45129048e6a0ed0b56b490338f078da5", "30abbcc7c20b01609f23ee2d5f6bb7df",
      "3294f744d8f9790507e70f62e5bbceea", "d8729db41882259bee4f825325f5a130",
      "1eb14a0c13b3bf47fa2a0ba93ad45b8b", "cc582f8ba9f265e2b1be9112e975d2d7",
      "f2e30f9bd102ecbf75aaade9bc35c43c", "ec0e11c479dc329dc8da7968fe965681",
      "068326a2118416d21f9d04b2cd1ca050", "ff25b58995996707e51fbdf08b34d875"
    ]],
    ["0102030405060708090a0b0c0d0e0f10", [
      "9ac7cc9a609d1ef7b2932899cde41b97", "5248c4959014126a6e8a84f11d1a9e1c",
      "065902e4b620f6cc36c8589f66432f2b", "d39d566bc6bce3010768151549f3873f",
      "b6d1e6c4a5e4771cad79538df295fb11", "c68c1d5c559a974123df1dbc52a43b89",
      "c5ecf88de897fd57fed301701b82a259", "eccbe13de1fcc91c11a0b26c0bc8fa4d",
      "e7a72574f8782ae26aabcf9ebcd66065", "bdf0324e6083dcc6d3cedd3ca8c53c16",
      "b40110c4190b5622a96116b0017ed297", "ffa0b514647ec04f6306b892ae661181",
      "d03d1bc03cd33d70dff9fa5d71963ebd", "8a44126411eaa78bd51e8d87a8879bf5",
      "fabeb76028ade2d0e48722e46c4615a3", "c05d88abd50357f935a63c59ee537623",
      "ff38265c1642c1abe8d3c2fe5e572bf8", "a36a4c301ae8ac13610ccbc12256cacc"
    ]]
  ]
  for (const [key, rows] of vectors) {
    it(`gives RFC 6229's keystream for key ${key}`, () => {
      const stream = keystream(fromHex(key), 4112)
      offsets.forEach((offset, i) => expect(hex(stream.subarray(offset, offset + 16))).toBe(rows[i]))
    })

    it(`with the first 1024 bytes dropped, starts at RFC 6229's offset 1024 for key ${key}`, () => {
      const stream = keystream(fromHex(key), 3088, 1024)
      offsets.filter((offset) => offset >= 1024).forEach((offset) =>
        expect(hex(stream.subarray(offset - 1024, offset - 1024 + 16))).toBe(rows[offsets.indexOf(offset)])
      )
    })
  }
})

describe("RC4 streaming", () => {
  const key = fromHex("0102030405060708090a0b0c0d0e0f10")

  it("gives the same bytes however the input is cut, in place or into another buffer, or skipped", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat({ max: 600 }), { maxLength: 8 }), fc.boolean(), (data, cuts, inPlace) => {
        const whole = new Rc4(key, 1024).process(data, new Uint8Array(data.length))
        const rc4 = new Rc4(key, 1024)
        const points = [...new Set(cuts.map((cut) => cut % (data.length + 1)))].sort((a, b) => a - b)
        const out = new Uint8Array(data.length)
        let from = 0
        for (const to of [...points, data.length]) {
          const piece = data.slice(from, to)
          out.set(inPlace ? rc4.process(piece) : rc4.process(piece, new Uint8Array(piece.length)), from)
          from = to
        }
        expect(out).toEqual(whole)
        const skipped = new Rc4(key, 1024)
        skipped.skip(points[0] ?? 0)
        expect(skipped.process(data.slice(points[0] ?? 0))).toEqual(whole.subarray(points[0] ?? 0))
      })
    )
  })

  it("gives a byte at a time's keystream for long inputs at every alignment of input and output", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 700 }), fc.nat({ max: 3 }), fc.nat({ max: 3 }), (data, inAt, outAt) => {
        const one = new Rc4(key, 1024)
        const expected = data.map((byte) => one.process(Uint8Array.of(byte))[0]!)
        const input = new Uint8Array(data.length + 4).subarray(inAt, inAt + data.length)
        input.set(data)
        const output = new Uint8Array(data.length + 4).subarray(outAt, outAt + data.length)
        expect(new Rc4(key, 1024).process(input, output)).toEqual(expected)
        expect(new Rc4(key, 1024).process(input)).toEqual(expected)
      })
    )
  })

  it("decrypts what it encrypts", () => {
    const data = latin1("the same key stream both ways")
    const sealed = new Rc4(key, 1024).process(data, new Uint8Array(data.length))
    expect(sealed).not.toEqual(data)
    expect(new Rc4(key, 1024).process(sealed)).toEqual(data)
  })

  it("refuses an empty key or one over 256 bytes (a caller's mistake)", () => {
    expect(() => new Rc4(new Uint8Array(0))).toThrow(RangeError)
    expect(() => new Rc4(new Uint8Array(257))).toThrow(RangeError)
  })
})
