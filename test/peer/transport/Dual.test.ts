import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, TestClock } from "effect"
import type { Endpoint } from "../../../src/net/Datagram.js"
import * as Dual from "../../../src/peer/transport/Dual.js"
import { type Connection, type ConnectionHandlers, Transport, TransportError } from "../../../src/peer/transport/Transport.js"

/**
 * A transport that records its calls: dials to the hosts in `reachable` connect at once, to `silent` ones never
 * (until interrupted), others are refused; listens succeed unless `listenFails`. Connections record their close,
 * and keep the handlers they were started with in `started` (the test plays the peer through them).
 */
const fake = (
  name: "tcp" | "utp",
  options: { readonly reachable: ReadonlyArray<string>; readonly silent?: ReadonlyArray<string>; readonly listenFails?: boolean }
) => {
  const log: Array<string> = []
  const started: Array<ConnectionHandlers> = []
  const transport = Transport.of({
    connect: (to: Endpoint) =>
      Effect.suspend(() => {
        log.push(`connect ${to.host}`)
        if (options.silent?.includes(to.host)) return Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => log.push(`abandoned ${to.host}`))))
        return options.reachable.includes(to.host)
          ? Effect.acquireRelease(
            Effect.succeed({
              remote: to,
              transport: name,
              start: (h: ConnectionHandlers) => started.push(h),
              write: (bytes: Uint8Array) => log.push(`write ${to.host} ${bytes.join(",")}`) > 0,
              pause: () => {},
              destroy: () => log.push(`destroy ${to.host}`)
            } as unknown as Connection),
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
  return { transport, log, started }
}

/** `connect` run on the test clock past the head start. */
const connectPastHeadStart = (dual: Transport["Type"], host: string) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.exit(dual.connect({ host, port: 1 })))
    yield* TestClock.adjust("500 millis")
    return yield* Fiber.join(fiber)
  })

/** Lets the fallback's dial (a fiber of its own) run: until `done`, at most 100 turns of the event loop. */
const until = (done: () => boolean) =>
  Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))).pipe(
    Effect.repeat({ until: done, times: 100 })
  )

const noHandlers: ConnectionHandlers = { onData: () => {}, onDrain: () => {}, onClose: () => {} }

describe("Dual: TCP and uTP side by side", () => {
  it.scoped("a peer that answers over TCP gets TCP; uTP is not tried", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["a"] })
      const utp = fake("utp", { reachable: ["a"] })
      const dual = Dual.make(tcp.transport, utp.transport)
      expect((yield* dual.connect({ host: "a", port: 1 })).transport).toBe("tcp")
      expect(utp.log).toEqual([])
    }))

  it.scoped("with prefer utp, a peer that answers over uTP gets uTP; TCP is not tried", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["a"] })
      const utp = fake("utp", { reachable: ["a"] })
      const dual = Dual.make(tcp.transport, utp.transport, { prefer: "utp" })
      expect((yield* dual.connect({ host: "a", port: 1 })).transport).toBe("utp")
      expect(tcp.log).toEqual([])
    }))

  it.scoped("TCP refused: uTP at once, without waiting for the head start, and remembered for the next dial", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: [] })
      const utp = fake("utp", { reachable: ["b"] })
      const dual = Dual.make(tcp.transport, utp.transport)
      // No clock adjustment: on the test clock a wait for the head start would never end.
      expect((yield* dual.connect({ host: "b", port: 1 })).transport).toBe("utp")
      // Known now: uTP first, TCP not tried again (it would only be after the head start).
      expect((yield* dual.connect({ host: "b", port: 1 })).transport).toBe("utp")
      expect(tcp.log).toEqual(["connect b"])
      expect(utp.log).toEqual(["connect b", "connect b"])
    }))

  it.scoped("TCP silent: uTP after the head start wins, and the TCP attempt is abandoned", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: [], silent: ["c"] })
      const utp = fake("utp", { reachable: ["c"] })
      const exit = yield* connectPastHeadStart(Dual.make(tcp.transport, utp.transport), "c")
      expect(Exit.isSuccess(exit) && exit.value.transport).toBe("utp")
      expect(tcp.log).toEqual(["connect c", "abandoned c"])
    }))

  it.scoped("a peer reachable over neither fails with both reasons", () =>
    Effect.gen(function*() {
      const dual = Dual.make(fake("tcp", { reachable: [] }).transport, fake("utp", { reachable: [] }).transport)
      const exit = yield* Effect.exit(dual.connect({ host: "d", port: 1 }))
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("tcp: tcp refused; utp: utp refused")
    }))

  it.scoped("a peer that closes TCP before a byte: the connection moves to uTP, what was written sent again", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["e"] })
      const utp = fake("utp", { reachable: ["e"] })
      const dual = Dual.make(tcp.transport, utp.transport)
      const received: Array<string> = []
      const connection = yield* dual.connect({ host: "e", port: 1 })
      connection.start({ ...noHandlers, onData: (chunk) => received.push(chunk.join(",")), onClose: () => received.push("closed") })
      connection.write(Uint8Array.of(1, 2))
      connection.write(Uint8Array.of(3))
      tcp.started[0]!.onClose(undefined)
      yield* until(() => utp.log.length >= 3)
      // uTP dialled, the two writes replayed on it, and the caller's handlers moved there: no close seen.
      expect(utp.log).toEqual(["connect e", "write e 1,2", "write e 3"])
      expect(connection.transport).toBe("utp")
      utp.started[0]!.onData(Uint8Array.of(9))
      expect(received).toEqual(["9"])
      connection.write(Uint8Array.of(4))
      expect(utp.log.at(-1)).toBe("write e 4")
      // New handlers reach the transport too (it may hold bytes until its next start).
      connection.start(noHandlers)
      expect(utp.started.length).toBe(2)
      // uTP is what this peer gets first from now on.
      expect((yield* dual.connect({ host: "e", port: 1 })).transport).toBe("utp")
    }))

  it.scoped("no fallback once the peer has sent a byte, nor for a connection we closed", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["f"] })
      const utp = fake("utp", { reachable: ["f"] })
      const dual = Dual.make(tcp.transport, utp.transport)
      const closes: Array<string> = []
      const answered = yield* dual.connect({ host: "f", port: 1 })
      answered.start({ ...noHandlers, onClose: () => closes.push("answered") })
      tcp.started[0]!.onData(Uint8Array.of(1))
      tcp.started[0]!.onClose(undefined)
      const ours = yield* dual.connect({ host: "f", port: 1 })
      ours.start({ ...noHandlers, onClose: () => closes.push("ours") })
      ours.destroy()
      tcp.started[1]!.onClose(undefined)
      yield* until(() => closes.length >= 2)
      expect(closes).toEqual(["answered", "ours"])
      expect(utp.log).toEqual([])
    }))

  it.scoped("a peer that closes TCP before a byte and has no uTP: the close is reported", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["g"] })
      const utp = fake("utp", { reachable: [] })
      const dual = Dual.make(tcp.transport, utp.transport)
      const closes: Array<string> = []
      const connection = yield* dual.connect({ host: "g", port: 1 })
      connection.start({ ...noHandlers, onClose: () => closes.push("closed") })
      tcp.started[0]!.onClose(undefined)
      yield* until(() => closes.length >= 1)
      expect(utp.log).toEqual(["connect g"])
      expect(closes).toEqual(["closed"])
      expect((yield* dual.connect({ host: "g", port: 1 })).transport).toBe("tcp")
    }))

  it.scoped("a peer silent on TCP for 2 s: uTP dialled beside, and the connection moves there if it connects", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["h"] })
      const utp = fake("utp", { reachable: ["h"] })
      const dual = Dual.make(tcp.transport, utp.transport)
      const connection = yield* dual.connect({ host: "h", port: 1 })
      const closes: Array<string> = []
      connection.start({ ...noHandlers, onClose: () => closes.push("closed") })
      connection.write(Uint8Array.of(5))
      yield* TestClock.adjust("1999 millis")
      expect(utp.log).toEqual([])
      yield* TestClock.adjust("1 millis")
      yield* until(() => utp.log.length >= 2)
      expect(utp.log).toEqual(["connect h", "write h 5"])
      expect(tcp.log).toContain("destroy h")
      expect(connection.transport).toBe("utp")
      // The TCP connection's close (it was destroyed) is not the connection's.
      tcp.started[0]!.onClose(undefined)
      expect(closes).toEqual([])
      // The peer closes the uTP one before a byte too: it refuses what we send, so TCP stays its first choice.
      utp.started[0]!.onClose(undefined)
      expect(closes).toEqual(["closed"])
      expect((yield* dual.connect({ host: "h", port: 1 })).transport).toBe("tcp")
    }))

  it.scoped("a peer silent on TCP without uTP keeps its TCP connection", () =>
    Effect.gen(function*() {
      const tcp = fake("tcp", { reachable: ["i"] })
      const utp = fake("utp", { reachable: [] })
      const dual = Dual.make(tcp.transport, utp.transport)
      const connection = yield* dual.connect({ host: "i", port: 1 })
      connection.start(noHandlers)
      yield* TestClock.adjust("2 seconds")
      yield* until(() => utp.log.length >= 1)
      yield* Effect.yieldNow()
      connection.write(Uint8Array.of(6))
      expect(utp.log).toEqual(["connect i"])
      expect(tcp.log).toEqual(["connect i", "write i 6"])
      expect(connection.transport).toBe("tcp")
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
