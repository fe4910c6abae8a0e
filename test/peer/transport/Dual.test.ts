import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { Endpoint } from "../../../src/net/Datagram.js"
import * as Dual from "../../../src/peer/transport/Dual.js"
import { type Connection, Transport, TransportError } from "../../../src/peer/transport/Transport.js"

/** A transport that records its calls: dials succeed to the hosts in `reachable`, listens unless `listenFails`. */
const fake = (name: "tcp" | "utp", options: { readonly reachable: ReadonlyArray<string>; readonly listenFails?: boolean }) => {
  const log: Array<string> = []
  const transport = Transport.of({
    connect: (to: Endpoint) =>
      Effect.suspend(() => {
        log.push(`connect ${to.host}`)
        return options.reachable.includes(to.host)
          ? Effect.succeed({ remote: to, transport: name } as unknown as Connection)
          : Effect.fail(new TransportError({ reason: "Connect", detail: `${name} refused` }))
      }),
    listen: (at) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          log.push(`listen ${at.port}`)
          return options.listenFails
            ? Effect.fail(new TransportError({ reason: "Listen", detail: `${name} port in use` }))
            : Effect.succeed({ local: { host: at.host, port: at.port === 0 ? 40001 : at.port } })
        }),
        () => Effect.sync(() => log.push("unlisten"))
      )
  })
  return { transport, log }
}

describe("Dual: TCP and uTP side by side", () => {
  it.effect("dials uTP first, falls back to TCP, and remembers which worked", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["a", "b"] })
      const utp = fake("utp", { reachable: ["a"] })
      const dual = Dual.make(tcp.transport, utp.transport)
      expect((yield* dual.connect({ host: "a", port: 1 })).transport).toBe("utp")
      expect((yield* dual.connect({ host: "b", port: 1 })).transport).toBe("tcp")
      expect((yield* dual.connect({ host: "b", port: 1 })).transport).toBe("tcp")
      expect(utp.log).toEqual(["connect a", "connect b"])
      expect(tcp.log).toEqual(["connect b", "connect b"])
    }).pipe(Effect.scoped))

  it.effect("a peer reachable over neither fails with both reasons", () =>
    Effect.gen(function*() {
      const dual = Dual.make(fake("tcp", { reachable: [] }).transport, fake("utp", { reachable: [] }).transport)
      const exit = yield* Effect.exit(dual.connect({ host: "c", port: 1 }))
      expect(exit).toMatchObject({ _tag: "Failure" })
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("utp: utp refused; tcp: tcp refused")
    }).pipe(Effect.scoped))

  it.effect("listens on both at the port TCP got; if uTP cannot, the TCP listener closes too", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: [] })
      const utp = fake("utp", { reachable: [] })
      const listener = yield* Dual.make(tcp.transport, utp.transport).listen({ host: "0.0.0.0", port: 0 }, () => {})
      expect(listener.local.port).toBe(40001)
      expect(utp.log).toEqual(["listen 40001"])

      const tcp2 = fake("tcp", { reachable: [] })
      const failing = Dual.make(tcp2.transport, fake("utp", { reachable: [], listenFails: true }).transport)
      const exit = yield* Effect.exit(failing.listen({ host: "0.0.0.0", port: 7000 }, () => {}))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(tcp2.log).toEqual(["listen 7000", "unlisten"])
    }).pipe(Effect.scoped))
})
