import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { randomBytes } from "node:crypto"
import { Datagram, type Endpoint } from "../Datagram.js"
import type { Method } from "./Method.js"
import {
  decodePcpMapAnswer,
  decodePmpAnswer,
  encodePcpMapRequest,
  encodePmpExternalRequest,
  encodePmpMapRequest,
  type MapProtocol,
  PCP_RESULT,
  type PcpMapAnswer,
  type PmpAnswer,
  PMP_RESULT
} from "./pmp.js"
import { PortMapError } from "./PortMapError.js"
import { noRejects, type PortMapRejects } from "./rejects.js"

export interface Retransmit {
  /** The first wait for an answer; each retransmission doubles it (RFC 6886 section 3.1 starts at 250 ms). */
  readonly initial: Duration.Duration
  /** Sends in all, so a silent gateway costs initial * (2^attempts - 1). */
  readonly attempts: number
}

/**
 * One request/answer exchange with the gateway over a fresh UDP socket: sends `request`, retransmitting on the
 * doubling schedule, until `accept` takes an answer that came from the gateway's address and port (anything from
 * anyone else is ignored, and counted in `rejects`).
 */
const exchange = <A>(
  gateway: Endpoint,
  request: Uint8Array,
  accept: (bytes: Uint8Array) => A | undefined,
  retransmit: Retransmit,
  what: string,
  rejects: PortMapRejects
): Effect.Effect<A, PortMapError, Datagram> =>
  Effect.scoped(Effect.gen(function*() {
    const answers = yield* Queue.sliding<A>(4)
    const socket = yield* (yield* Datagram).bind({ family: "ipv4" }, (bytes, from) => {
      if (from.host !== gateway.host || from.port !== gateway.port) {
        rejects.notFromGateway++
        return
      }
      const answer = accept(bytes)
      if (answer !== undefined) Queue.unsafeOffer(answers, answer)
    }).pipe(Effect.mapError((cause) => new PortMapError({ reason: "Network", detail: cause.message, cause })))
    for (let attempt = 0; attempt < retransmit.attempts; attempt++) {
      yield* socket.send(request, gateway).pipe(
        Effect.mapError((cause) => new PortMapError({ reason: "Network", detail: cause.message, cause }))
      )
      const answer = yield* Queue.take(answers).pipe(Effect.timeoutOption(Duration.times(retransmit.initial, 2 ** attempt)))
      if (Option.isSome(answer)) return answer.value
    }
    return yield* new PortMapError({ reason: "Timeout", detail: `the gateway ${gateway.host} did not answer ${what}` })
  }))

const refused = (protocol: string, table: Record<number, string>, result: number, what: string) =>
  new PortMapError({
    reason: "Refused",
    code: result,
    detail: `the gateway refused ${what} over ${protocol}: ${table[result] ?? `result ${result}`}`
  })

/** NAT-PMP (RFC 6886) to `gateway`. */
export const natPmp = (
  gateway: Endpoint,
  retransmit: Retransmit,
  rejects: PortMapRejects = noRejects()
): Effect.Effect<Method, never, Datagram> =>
  Effect.map(Datagram, (datagram) => {
    const run = <A>(request: Uint8Array, accept: (a: PmpAnswer) => A | undefined, what: string) =>
      exchange(gateway, request, (bytes) => {
        const answer = decodePmpAnswer(bytes)
        return typeof answer === "string" ? undefined : accept(answer)
      }, retransmit, what, rejects).pipe(Effect.provideService(Datagram, datagram))
    const mapOnce = (protocol: MapProtocol, internalPort: number, externalPort: number, lifetime: number) =>
      run(
        encodePmpMapRequest({ protocol, internalPort, externalPort, lifetime }),
        (a) =>
          a.kind === "error" && a.opcode === (protocol === "udp" ? 1 : 2)
            ? a
            : a.kind === "map" && a.protocol === protocol && a.internalPort === internalPort
            ? a
            : undefined,
        `a ${protocol.toUpperCase()} mapping`
      ).pipe(
        Effect.flatMap((a) =>
          a.result !== 0 || a.kind !== "map"
            ? Effect.fail(refused("NAT-PMP", PMP_RESULT, a.result, `a ${protocol.toUpperCase()} mapping`))
            : Effect.succeed({ externalPort: a.externalPort, lifetime: a.lifetime })
        )
      )
    return {
      name: "natpmp",
      map: mapOnce,
      unmap: (protocol, internalPort) => Effect.asVoid(mapOnce(protocol, internalPort, 0, 0)),
      externalAddress: run(
        encodePmpExternalRequest(),
        (a) => (a.kind === "external" || (a.kind === "error" && a.opcode === 0) ? a : undefined),
        "for its external address"
      ).pipe(
        Effect.flatMap((a) =>
          a.result !== 0 || a.kind !== "external"
            ? Effect.fail(refused("NAT-PMP", PMP_RESULT, a.result, "its external address"))
            : Effect.succeed(a.address)
        )
      )
    } satisfies Method
  })

/**
 * PCP (RFC 6887) to `gateway`, from our address `client`. A gateway that speaks only NAT-PMP answers with a
 * version-0 packet: that fails with reason "Refused" and code 1 (unsupported version), so the caller falls back.
 */
export const pcp = (
  gateway: Endpoint,
  client: string,
  retransmit: Retransmit,
  rejects: PortMapRejects = noRejects()
): Effect.Effect<Method, never, Datagram> =>
  Effect.map(Datagram, (datagram) => {
    // One nonce per mapping, kept for its renewals and its delete.
    const nonces = new Map<string, Uint8Array>()
    const nonceOf = (protocol: MapProtocol, internalPort: number) => {
      const key = `${protocol}/${internalPort}`
      let nonce = nonces.get(key)
      if (nonce === undefined) nonces.set(key, nonce = new Uint8Array(randomBytes(12)))
      return nonce
    }
    const mapOnce = (protocol: MapProtocol, internalPort: number, externalPort: number, lifetime: number) => {
      const nonce = nonceOf(protocol, internalPort)
      const what = `a ${protocol.toUpperCase()} mapping`
      return exchange<PcpMapAnswer | "pmp">(
        gateway,
        encodePcpMapRequest({ protocol, internalPort, externalPort, lifetime, client, nonce }),
        (bytes) => {
          if (bytes[0] === 0) return "pmp"
          const answer = decodePcpMapAnswer(bytes)
          if (typeof answer === "string") return undefined
          if (answer.result !== 0) return answer
          return Buffer.from(answer.nonce).equals(nonce) && answer.internalPort === internalPort ? answer : undefined
        },
        retransmit,
        what,
        rejects
      ).pipe(
        Effect.provideService(Datagram, datagram),
        Effect.flatMap((a) =>
          a === "pmp"
            ? Effect.fail(refused("PCP", PCP_RESULT, 1, what))
            : a.result !== 0
            ? Effect.fail(refused("PCP", PCP_RESULT, a.result, what))
            : Effect.succeed({ externalPort: a.externalPort, lifetime: a.lifetime, externalAddress: a.externalAddress })
        )
      )
    }
    const self: Method = {
      name: "pcp",
      map: mapOnce,
      unmap: (protocol, internalPort) => Effect.asVoid(mapOnce(protocol, internalPort, 0, 0)),
      // PCP has no query for the address alone: a MAP answer carries it (the caller keeps it).
      externalAddress: Effect.fail(new PortMapError({ reason: "BadAnswer", detail: "PCP tells the external address only with a mapping" }))
    }
    return self
  })
