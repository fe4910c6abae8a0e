import { describe, expect, it } from "@effect/vitest"
import { addressKey, BanList } from "../../src/session/BanList.js"

const HOUR = 3_600_000

const make = (capacity = 100) => {
  let now = 0
  const bans = new BanList({ now: () => now, banMs: HOUR, maxBanMs: 4 * HOUR, strikesToBan: 3, capacity })
  return { bans, advance: (ms: number) => (now += ms) }
}

describe("BanList: bans and strikes by IP address", () => {
  it("bans an address (any port) for an hour, then lets it back", () => {
    const { advance, bans } = make()
    expect(bans.ban("10.0.0.1")).toBe(HOUR)
    expect(bans.isBanned("10.0.0.1")).toBe(true)
    expect(bans.isBanned("10.0.0.2")).toBe(false)
    advance(HOUR - 1)
    expect(bans.refuse("10.0.0.1")).toBe(true)
    expect(bans.refusals("10.0.0.1")).toBe(1)
    advance(1)
    expect(bans.isBanned("10.0.0.1")).toBe(false)
    expect(bans.refuse("10.0.0.1")).toBe(false)
  })

  it("doubles a repeated ban up to the longest", () => {
    const { bans } = make()
    expect([1, 2, 3, 4].map(() => bans.ban("10.0.0.1") / HOUR)).toEqual([1, 2, 4, 4])
  })

  it("bans at the third strike; strikes of other addresses are their own", () => {
    const { bans } = make()
    expect(bans.strike("10.0.0.1")).toEqual({ strikes: 1, banned: false })
    expect(bans.strike("10.0.0.2")).toEqual({ strikes: 1, banned: false })
    expect(bans.strike("10.0.0.1")).toEqual({ strikes: 2, banned: false })
    expect(bans.strike("10.0.0.1")).toEqual({ strikes: 3, banned: true })
    expect(bans.isBanned("10.0.0.1")).toBe(true)
    expect(bans.isBanned("10.0.0.2")).toBe(false)
  })

  it("treats an IPv4-mapped IPv6 address as its IPv4 address", () => {
    const { bans } = make()
    bans.ban("::FFFF:192.0.2.7")
    expect(bans.isBanned("192.0.2.7")).toBe(true)
    expect(addressKey("2001:db8::1")).toBe("2001:db8::1")
  })

  it("stays bounded: past its capacity the oldest bans are forgotten", () => {
    const { bans } = make(1000)
    for (let i = 0; i < 5000; i++) bans.ban(`10.0.${i >> 8}.${i & 255}`)
    for (let i = 0; i < 5000; i++) bans.strike(`10.1.${i >> 8}.${i & 255}`)
    expect(bans.size).toBe(1000)
    expect(bans.isBanned("10.0.0.0")).toBe(false)
    expect(bans.isBanned(`10.0.${4999 >> 8}.${4999 & 255}`)).toBe(true)
  })
})
