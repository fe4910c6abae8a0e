import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, TestClock } from "effect"
import type { Endpoint } from "../../../src/net/Datagram.js"
import * as Dual from "../../../src/peer/transport/Dual.js"
import { type Connection, Transport, TransportError } from "../../../src/peer/transport/Transport.js"

/**
 * A transport that records its calls: dials to the hosts in `reachable` connect at once, to `silent` ones never
 * (until interrupted), others are refused; listens succeed unless `listenFails`. Connections record their close.
 */
const fake = (
  name: "tcp" | "utp",
  options: { readonly reachable: ReadonlyArray<string>; readonly silent?: ReadonlyArray<string>; readonly listenFails?: boolean }
) => {
  const log: Array<string> = []
  const transport = Transport.of({
    connect: (to: Endpoint) =>
      Effect.suspend(() => {
        log.push(`connect ${to.host}`)
        if (options.silent?.includes(to.host)) return Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => log.push(`abandoned ${to.host}`))))
        return options.reachable.includes(to.host)
          ? Effect.acquireRelease(
            Effect.succeed({ remote: to, transport: name } as unknown as Connection),
            () => Effect.sync(() => log.push(`closed ${to.host}`))
          )
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

/** `connect` run on the test clock past the uTP head start. */
const connectPastHeadStart = (dual: Transport["Type"], host: string) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.exit(dual.connect({ host, port: 1 })))
    yield* TestClock.adjust("500 millis")
    return yield* Fiber.join(fiber)
  })

describe("Dual: TCP and uTP side by side", () => {
  it.scoped("a peer that answers over uTP gets uTP; TCP is not tried", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["a"] })
      const utp = fake("utp", { reachable: ["a"] })
      const dual = Dual.make(tcp.transport, utp.transport)
      expect((yield* dual.connect({ host: "a", port: 1 })).transport).toBe("utp")
      expect(tcp.log).toEqual([])
    }))

  it.scoped("uTP refused: TCP after the head start, and remembered for the next dial", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["b"] })
      const utp = fake("utp", { reachable: [] })
      const dual = Dual.make(tcp.transport, utp.transport)
      const exit = yield* connectPastHeadStart(dual, "b")
      expect(Exit.isSuccess(exit) && exit.value.transport).toBe("tcp")
      // Known now: TCP at once, uTP not tried again.
      expect((yield* dual.connect({ host: "b", port: 1 })).transport).toBe("tcp")
      expect(utp.log).toEqual(["connect b"])
      expect(tcp.log).toEqual(["connect b", "connect b"])
    }))

  it.scoped("uTP silent: TCP after the head start wins, and the uTP attempt is abandoned", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["c"] })
      const utp = fake("utp", { reachable: [], silent: ["c"] })
      const exit = yield* connectPastHeadStart(Dual.make(tcp.transport, utp.transport), "c")
      expect(Exit.isSuccess(exit) && exit.value.transport).toBe("tcp")
      expect(utp.log).toEqual(["connect c", "abandoned c"])
    }))

  it.scoped("a peer reachable over neither fails with both reasons", () =>
    Effect.gen(function*() {
      const dual = Dual.make(fake("tcp", { reachable: [] }).transport, fake("utp", { reachable: [] }).transport)
      const exit = yield* connectPastHeadStart(dual, "d")
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("utp: utp refused; tcp: tcp refused")
    }))

  it.scoped("listens on both at the port TCP got; if uTP cannot, the TCP listener closes too", () =>
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
    }))
})
