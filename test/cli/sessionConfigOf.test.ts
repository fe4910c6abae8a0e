import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import { sessionConfigOf, type SwarmArgs } from "../../src/cli/options.js"
import { defaultSessionConfig } from "../../src/session/SessionConfig.js"

const args = (maxPeers: number): SwarmArgs => ({
  peer: [],
  noDht: true,
  dhtBootstrap: [],
  bind: [],
  encryption: "prefer" as const,
  transport: "tcp" as const,
  port: 0,
  maxPeers,
  downloadLimit: Option.none(),
  uploadLimit: Option.none()
})

describe("sessionConfigOf", () => {
  it("raises the session's connection cap to --max-peers when it asks for more (issue #22: 500 peers were held at 200)", () => {
    expect(sessionConfigOf(args(500)).maxConnections).toBe(500)
    expect(sessionConfigOf(args(500)).maxPeers).toBe(500)
  })

  it("leaves the cap at its default for --max-peers at or under it", () => {
    expect(sessionConfigOf(args(50)).maxConnections).toBeUndefined()
    expect(sessionConfigOf(args(defaultSessionConfig.maxConnections)).maxConnections).toBeUndefined()
  })
})
