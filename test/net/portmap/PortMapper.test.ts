import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Option, Scope, TestClock } from "effect"
import * as NodeDatagram from "../../../src/net/NodeDatagram.js"
import { Gateway, layerFixed } from "../../../src/net/portmap/Gateway.js"
import { make, type PortMapperConfig, type PortMapStatus } from "../../../src/net/portmap/PortMapper.js"
import { fakeIgd, fakePmpGateway } from "./fakes.js"

const LOOPBACK = { gateway: "127.0.0.1", local: "127.0.0.1" }
const platform = Layer.mergeAll(NodeDatagram.layer, NodeHttpClient.layer)

/** Real time passing, for sockets, while the TestClock stands still. */
const realWait = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/**
 * Waits (on the wall clock, bounded) for `done`, moving the TestClock by `step` between looks so that retransmission
 * timers and searches run. A step of 0 only waits.
 */
const until = (done: () => Effect.Effect<boolean>, step: Duration.DurationInput = 0, what = "the condition") =>
  Effect.gen(function*() {
    for (let i = 0; i < 300; i++) {
      if (yield* done()) return
      yield* realWait(10)
      if (Duration.toMillis(step) > 0) yield* TestClock.adjust(step)
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

/** A PortMapper over the platform and a fixed (or absent) gateway, mapping `port` in its own scope. */
const start = (config: Partial<PortMapperConfig>, gateway: Layer.Layer<Gateway> = layerFixed(LOOPBACK)) =>
  Effect.gen(function*() {
    const mapper = yield* make(config).pipe(Effect.provide(Layer.merge(platform, gateway)))
    const scope = yield* Scope.make()
    yield* mapper.map(6881).pipe(Scope.extend(scope))
    const statusIs = (state: PortMapStatus["state"]) => () => Effect.map(mapper.status, (s) => s.state === state)
    return { mapper, scope, statusIs }
  })

describe("PortMapper against a fake PCP / NAT-PMP gateway on 127.0.0.1", () => {
  it.scoped("PCP: maps TCP and UDP, learns the external address, renews at half the lease, deletes on exit", () =>
    Effect.gen(function*() {
      const gw = yield* fakePmpGateway({ speaks: "pcp", grant: 600 })
      const { mapper, scope, statusIs } = yield* start({ gatewayPort: gw.port, methods: ["pcp", "natpmp"] })
      yield* until(statusIs("mapped"))
      expect(yield* mapper.status).toEqual({
        state: "mapped",
        method: "pcp",
        externalAddress: "203.0.113.7",
        ports: [
          { protocol: "tcp", internalPort: 6881, externalPort: 7881, lifetime: 600 },
          { protocol: "udp", internalPort: 6881, externalPort: 7881, lifetime: 600 }
        ]
      })
      expect(gw.requests.map((r) => [r.version, r.protocol, r.lifetime])).toEqual([[2, "tcp", 3600], [2, "udp", 3600]])

      // Nothing before half the granted lifetime; both renewed at it, asking for the external port granted.
      yield* TestClock.adjust("299 seconds")
      yield* realWait(50)
      expect(gw.requests.length).toBe(2)
      yield* TestClock.adjust("1 second")
      yield* until(() => Effect.succeed(gw.requests.length === 4), 0, "the renewals")
      expect(gw.requests.slice(2).map((r) => [r.protocol, r.externalPort, r.lifetime])).toEqual([
        ["tcp", 7881, 3600],
        ["udp", 7881, 3600]
      ])

      yield* Scope.close(scope, Exit.void)
      expect(gw.requests.slice(4).map((r) => [r.protocol, r.lifetime])).toEqual([["tcp", 0], ["udp", 0]])
    }))

  it.scoped("a gateway that never answers the delete holds up exit for unmapTimeout (2 s), no longer", () =>
    Effect.gen(function*() {
      const gw = yield* fakePmpGateway({ speaks: "pcp", silentOnDelete: true })
      const { scope, statusIs } = yield* start({ gatewayPort: gw.port, methods: ["pcp"] })
      yield* until(statusIs("mapped"))
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      let waited = 0
      while (closing.unsafePoll() === null && waited < 10_000) {
        yield* realWait(10)
        yield* TestClock.adjust("250 millis")
        waited += 250
      }
      expect(closing.unsafePoll()).not.toBeNull()
      // Retransmitting both deletes to the end would take 7.5 s of the clock.
      expect(waited).toBeLessThanOrEqual(2_500)
      expect(gw.requests.filter((r) => r.lifetime === 0).length).toBeGreaterThanOrEqual(1)
    }))

  it.scoped("a NAT-PMP-only gateway: PCP is refused as an unknown version, NAT-PMP maps", () =>
    Effect.gen(function*() {
      const gw = yield* fakePmpGateway({ speaks: "natpmp" })
      const { mapper, scope, statusIs } = yield* start({ gatewayPort: gw.port, methods: ["pcp", "natpmp"] })
      yield* until(statusIs("mapped"))
      const status = yield* mapper.status
      expect(status).toMatchObject({ method: "natpmp", externalAddress: "203.0.113.7" })
      expect(status.ports.map((p) => [p.protocol, p.externalPort])).toEqual([["tcp", 7881], ["udp", 7881]])
      expect(gw.requests.map((r) => [r.version, r.protocol])).toEqual([[2, "tcp"], [0, "tcp"], [0, "udp"], [0, "external"]])
      yield* Scope.close(scope, Exit.void)
      expect(gw.requests.slice(4).map((r) => [r.version, r.protocol, r.lifetime, r.externalPort])).toEqual([
        [0, "tcp", 0, 0],
        [0, "udp", 0, 0]
      ])
    }))

  it.scoped("answers from anyone but the gateway are ignored and counted; a silent gateway costs 4 sends, then quiet for 30 min", () =>
    Effect.gen(function*() {
      const gw = yield* fakePmpGateway({ speaks: "pcp", answerFromElsewhere: true })
      const { mapper, statusIs } = yield* start({ gatewayPort: gw.port, methods: ["pcp"] })
      yield* until(statusIs("unavailable"), "250 millis")
      expect((yield* mapper.status).error).toBe("port mapping: the gateway 127.0.0.1 did not answer a TCP mapping")
      expect(gw.requests.length).toBe(4)
      // Each of the 4 sends was answered from elsewhere; those that came while the socket was open were counted.
      const { notFromGateway } = yield* mapper.rejected
      expect(notFromGateway).toBeGreaterThanOrEqual(1)
      expect(notFromGateway).toBeLessThanOrEqual(4)
      yield* TestClock.adjust("29 minutes")
      yield* realWait(50)
      expect(gw.requests.length).toBe(4)
      yield* TestClock.adjust("1 minute")
      yield* until(() => Effect.succeed(gw.requests.length === 5), 0, "the retry after 30 minutes")
    }))

  it.scoped("no default gateway: one look, status unavailable, no retries", () =>
    Effect.gen(function*() {
      let looks = 0
      const none = Layer.succeed(Gateway, Gateway.of({ route: Effect.sync(() => (looks++, Option.none())) }))
      const { mapper, statusIs } = yield* start({}, none)
      yield* until(statusIs("unavailable"))
      expect(yield* mapper.status).toEqual({
        state: "unavailable",
        ports: [],
        error: "port mapping: no default gateway, so no port mapping"
      })
      yield* TestClock.adjust("3 hours")
      yield* realWait(30)
      expect(looks).toBe(1)
    }))
})

describe("PortMapper against a fake UPnP IGD (SSDP + HTTP + SOAP) on 127.0.0.1", () => {
  const upnpOnly = (ssdpPort: number): Partial<PortMapperConfig> => ({
    methods: ["upnp"],
    ssdp: { host: "127.0.0.1", port: ssdpPort }
  })

  it.scoped("searches, reads the description, maps TCP and UDP, gets the external address, deletes on exit", () =>
    Effect.gen(function*() {
      const igd = yield* fakeIgd()
      const { mapper, scope, statusIs } = yield* start(upnpOnly(igd.ssdpPort))
      yield* until(statusIs("mapped"), "500 millis")
      expect(yield* mapper.status).toEqual({
        state: "mapped",
        method: "upnp",
        externalAddress: "203.0.113.7",
        ports: [
          { protocol: "tcp", internalPort: 6881, externalPort: 6881, lifetime: 3600 },
          { protocol: "udp", internalPort: 6881, externalPort: 6881, lifetime: 3600 }
        ]
      })
      expect(igd.searches.length).toBe(2)
      expect(igd.searches[0]).toContain("ST: urn:schemas-upnp-org:device:InternetGatewayDevice:2")
      expect(igd.calls.map((c) => [c.action, c.args.NewProtocol, c.args.NewLeaseDuration, c.args.NewInternalClient])).toEqual([
        ["AddPortMapping", "TCP", "3600", "127.0.0.1"],
        ["AddPortMapping", "UDP", "3600", "127.0.0.1"],
        ["GetExternalIPAddress", undefined, undefined, undefined]
      ])
      yield* TestClock.adjust("30 minutes")
      yield* until(() => Effect.succeed(igd.calls.length === 5), 0, "the renewals")
      yield* Scope.close(scope, Exit.void)
      expect(igd.calls.slice(5).map((c) => [c.action, c.args.NewProtocol, c.args.NewExternalPort])).toEqual([
        ["DeletePortMapping", "TCP", "6881"],
        ["DeletePortMapping", "UDP", "6881"]
      ])
    }))

  it.scoped("a router that takes only permanent leases (error 725) gets permanent mappings", () =>
    Effect.gen(function*() {
      const igd = yield* fakeIgd({ onlyPermanent: true, serviceType: "urn:schemas-upnp-org:service:WANPPPConnection:1" })
      const { mapper, statusIs } = yield* start(upnpOnly(igd.ssdpPort))
      yield* until(statusIs("mapped"), "500 millis")
      expect((yield* mapper.status).ports.map((p) => p.lifetime)).toEqual([0, 0])
      expect(igd.calls.slice(0, 4).map((c) => c.args.NewLeaseDuration)).toEqual(["3600", "0", "3600", "0"])
    }))

  it.scoped("an SSDP answer naming another host is ignored and counted", () =>
    Effect.gen(function*() {
      const igd = yield* fakeIgd({ locationHost: "127.0.0.2" })
      const { mapper, statusIs } = yield* start(upnpOnly(igd.ssdpPort))
      yield* until(statusIs("unavailable"), "500 millis")
      expect((yield* mapper.status).error).toBe("port mapping: no UPnP gateway answered the SSDP search")
      expect(igd.calls).toEqual([])
      expect((yield* mapper.rejected).ssdpMisdirected).toBeGreaterThanOrEqual(1)
      expect((yield* mapper.rejected).oversized).toBe(0)
    }))

  it.scoped("a device description of a megabyte is refused and counted", () =>
    Effect.gen(function*() {
      const igd = yield* fakeIgd({ description: "<root>" + " ".repeat(1024 * 1024) + "</root>" })
      const { mapper, statusIs } = yield* start(upnpOnly(igd.ssdpPort))
      yield* until(statusIs("unavailable"), "500 millis")
      expect((yield* mapper.status).error).toMatch(/rootDesc\.xml is larger than 64 KiB$/)
      expect(yield* mapper.rejected).toMatchObject({ oversized: 1, ssdpMisdirected: 0 })
    }))
})
