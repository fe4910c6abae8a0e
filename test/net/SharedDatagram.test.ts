import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { Datagram, type Endpoint } from "../../src/net/Datagram.js"
import * as MemoryDatagram from "../../src/net/MemoryDatagram.js"
import * as SharedDatagram from "../../src/net/SharedDatagram.js"

const isD = (bytes: Uint8Array) => bytes[0] === 0x64
const isU = (bytes: Uint8Array) => bytes[0] === 0x41

const collect = () => {
  const got: Array<string> = []
  return { got, onMessage: (bytes: Uint8Array) => got.push(Buffer.from(bytes).toString()) }
}

describe("SharedDatagram: binds to one address share a socket, split by packet shape", () => {
  it.live("each bind gets the datagrams it claims; the catch-all gets the rest; the socket closes with the last", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryDatagram.makeMemory()
      const shared = yield* SharedDatagram.make.pipe(Effect.provideService(Datagram, inner))
      const dht = collect()
      const utp = collect()
      const rest = collect()
      const at = { family: "ipv4" as const, host: "10.9.0.1", port: 6881 }
      const first = yield* Scope.make()
      const second = yield* Scope.make()
      const dhtSocket = yield* shared.bind({ ...at, accepts: isD }, dht.onMessage).pipe(Scope.extend(first))
      const utpSocket = yield* shared.bind({ ...at, accepts: isU }, utp.onMessage).pipe(Scope.extend(second))
      yield* shared.bind(at, rest.onMessage).pipe(Scope.extend(second))
      expect(utpSocket.local).toEqual(dhtSocket.local)

      const sender = yield* inner.bind({ family: "ipv4", host: "10.9.0.2", port: 1 }, () => {})
      const to: Endpoint = dhtSocket.local
      for (const text of ["d1:ae", "A-utp", "?other", "d2:bbe"]) yield* sender.send(Buffer.from(text), to)
      // Delivered on later turns of the event loop.
      yield* Effect.sleep("20 millis")
      expect(dht.got).toEqual(["d1:ae", "d2:bbe"])
      expect(utp.got).toEqual(["A-utp"])
      expect(rest.got).toEqual(["?other"])

      // A second catch-all cannot share: the address is in use.
      const clash = yield* shared.bind(at, () => {}).pipe(Effect.scoped, Effect.exit)
      expect(Exit.isFailure(clash)).toBe(true)

      // Still bound while one bind holds it; free once the last lets go.
      yield* Scope.close(second, Exit.void)
      expect(Exit.isFailure(yield* inner.bind(at, () => {}).pipe(Effect.scoped, Effect.exit))).toBe(true)
      yield* Scope.close(first, Exit.void)
      expect(Exit.isSuccess(yield* inner.bind(at, () => {}).pipe(Effect.scoped, Effect.exit))).toBe(true)
    }).pipe(Effect.scoped))

  it.live("binds to port 0 get sockets of their own", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryDatagram.makeMemory()
      const shared = yield* SharedDatagram.make.pipe(Effect.provideService(Datagram, inner))
      const a = yield* shared.bind({ family: "ipv4", host: "10.9.0.1", accepts: isD }, () => {})
      const b = yield* shared.bind({ family: "ipv4", host: "10.9.0.1", accepts: isU }, () => {})
      expect(a.local.port).not.toBe(b.local.port)
    }).pipe(Effect.scoped))
})
