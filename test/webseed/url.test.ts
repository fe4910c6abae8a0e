import { describe, expect, it } from "@effect/vitest"
import { fileUrl, isPrivateHost, parseWebSeedUrl, publicToPrivate } from "../../src/webseed/index.js"

const file = (path: ReadonlyArray<string>, offset = 0, length = 10) => ({ path, length, offset, padding: false })
const single = { layout: "single" as const, name: "big file.iso", files: [file(["big file.iso"])] }
const multi = {
  layout: "multi" as const,
  name: "My Album",
  files: [file(["cd 1", "01 #intro?.flac"]), file(["100%", "a/b"]), file(["ünï"])]
}
const url = (text: string) => {
  const parsed = parseWebSeedUrl(text)
  if (typeof parsed === "string") throw new Error(parsed)
  return parsed
}

describe("web seed URLs (BEP 19)", () => {
  it("single file: the URL itself, or with the name appended when it ends in /", () => {
    expect(fileUrl(url("http://example.com/files/big.iso"), single, 0)).toBe("http://example.com/files/big.iso")
    expect(fileUrl(url("http://example.com/files/"), single, 0)).toBe("http://example.com/files/big%20file.iso")
  })

  it("multi-file: the URL as a folder, then the name and each path part percent-encoded", () => {
    const base = url("http://example.com/seed/")
    expect(fileUrl(base, multi, 0)).toBe("http://example.com/seed/My%20Album/cd%201/01%20%23intro%3F.flac")
    // A `/` inside a path component is that component's, not a folder: it is encoded.
    expect(fileUrl(base, multi, 1)).toBe("http://example.com/seed/My%20Album/100%25/a%2Fb")
    expect(fileUrl(base, multi, 2)).toBe("http://example.com/seed/My%20Album/%C3%BCn%C3%AF")
    // Without the trailing slash, one is added; a query stays after the path.
    expect(fileUrl(url("http://example.com/seed?k=1"), multi, 2)).toBe("http://example.com/seed/My%20Album/%C3%BCn%C3%AF?k=1")
  })

  it("takes http and https only", () => {
    expect(parseWebSeedUrl("ftp://example.com/x")).toBe("uses ftp, not HTTP")
    expect(parseWebSeedUrl("not a url")).toBe("is not a URL")
    expect(parseWebSeedUrl("http://user:pw@example.com/")).toBe("carries a user name or password")
    expect(parseWebSeedUrl("https://example.com/")).toBeInstanceOf(URL)
  })

  it("tells private hosts from public ones", () => {
    for (const host of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.9.9", "[::1]", "[fd00::1]", "[fe80::1]", "localhost", "a.localhost", "[::ffff:10.0.0.1]", "0.0.0.0"]) {
      expect(isPrivateHost(host), host).toBe(true)
    }
    for (const host of ["8.8.8.8", "172.32.0.1", "example.com", "[2001:db8::1]", "[::ffff:8.8.8.8]"]) {
      expect(isPrivateHost(host), host).toBe(false)
    }
    expect(publicToPrivate(new URL("http://example.com/"), new URL("http://127.0.0.1/"))).toBe(true)
    expect(publicToPrivate(new URL("http://127.0.0.1/"), new URL("http://10.0.0.1/"))).toBe(false)
    expect(publicToPrivate(new URL("http://example.com/"), new URL("http://8.8.8.8/"))).toBe(false)
  })
})
