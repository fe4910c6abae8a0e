import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Datagram, type Endpoint } from "../Datagram.js"
import type { Method } from "./Method.js"
import { PortMapError } from "./PortMapError.js"
import { noRejects, type PortMapRejects } from "./rejects.js"
import {
  addPortMappingArgs,
  decodeSearchAnswer,
  decodeSoapAnswer,
  deletePortMappingArgs,
  encodeSearch,
  findWanService,
  IGD_DEVICES,
  soapRequest,
  UPNP_ONLY_PERMANENT_LEASES,
  type WanService
} from "./upnp.js"

export interface UpnpOptions {
  /** Where M-SEARCH goes: 239.255.255.250:1900, or a fake IGD's address in tests. */
  readonly ssdp: Endpoint
  /** How long to collect SSDP answers. */
  readonly searchWait: Duration.Duration
  /** Each HTTP request's limit. */
  readonly httpTimeout: Duration.Duration
  /** Our LAN address: where the mappings point. */
  readonly local: string
  /** Shown in the router's mapping table. */
  readonly description: string
  /** Where misdirected, malformed and oversized answers are counted. */
  readonly rejects?: PortMapRejects
}

/** The most SSDP answers looked at, and device descriptions fetched, per search. */
const MAX_LOCATIONS = 4
/** A device description larger than this is refused (real ones are a few KiB). */
const MAX_DESCRIPTION = 64 * 1024
const MAX_SOAP_ANSWER = 16 * 1024

const network = (cause: { readonly message: string }) => new PortMapError({ reason: "Network", detail: cause.message, cause })

/** The body of an answer, read up to `cap` bytes (past that, counted in `rejects` and cut off). */
const bodyOf = (response: HttpClientResponse.HttpClientResponse, cap: number, what: string, rejects: PortMapRejects) =>
  response.stream.pipe(
    Stream.mapError(network),
    Stream.runFoldEffect("", (text, chunk) =>
      text.length + chunk.length > cap
        ? Effect.suspend(() => {
          rejects.oversized++
          return Effect.fail(new PortMapError({ reason: "BadAnswer", detail: `${what} is larger than ${cap / 1024} KiB` }))
        })
        : Effect.succeed(text + Buffer.from(chunk).toString("utf8")))
  )

/**
 * The SSDP answers' device description URLs: M-SEARCH for each IGD device type, then whatever answers come within
 * `searchWait`. An answer whose LOCATION names a host other than the one that answered is ignored and counted, as is
 * one that cannot be read.
 */
const search = (options: UpnpOptions, rejects: PortMapRejects): Effect.Effect<Array<string>, PortMapError, Datagram> =>
  Effect.scoped(Effect.gen(function*() {
    const locations: Array<string> = []
    const socket = yield* (yield* Datagram).bind({ family: "ipv4" }, (bytes, from) => {
      if (locations.length >= MAX_LOCATIONS) return
      const answer = decodeSearchAnswer(bytes)
      if (typeof answer === "string") {
        rejects.ssdpMalformed++
        return
      }
      const url = URL.canParse(answer.location) ? new URL(answer.location) : undefined
      if (url === undefined || url.hostname !== from.host) {
        rejects.ssdpMisdirected++
        return
      }
      if (!locations.includes(url.href)) locations.push(url.href)
    }).pipe(Effect.mapError(network))
    const mx = Math.max(1, Math.round(Duration.toSeconds(options.searchWait)))
    for (const device of IGD_DEVICES) {
      yield* socket.send(encodeSearch(device, mx, options.ssdp), options.ssdp).pipe(Effect.mapError(network))
    }
    yield* Effect.sleep(options.searchWait)
    return locations
  }))

/** UPnP IGD: search, read the first description with a WAN connection service, and map through it. */
export const upnp = (options: UpnpOptions): Effect.Effect<Method, PortMapError, Datagram | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const rejects = options.rejects ?? noRejects()
    const client = yield* HttpClient.HttpClient
    const timed = <A>(effect: Effect.Effect<A, PortMapError>, what: string) =>
      effect.pipe(Effect.timeoutFail({
        duration: options.httpTimeout,
        onTimeout: () => new PortMapError({ reason: "Timeout", detail: `${what} took longer than ${Duration.format(options.httpTimeout)}` })
      }))

    const describe = (location: string): Effect.Effect<WanService, PortMapError> =>
      timed(
        Effect.scoped(client.get(location).pipe(
          Effect.mapError(network),
          Effect.flatMap((response) =>
            response.status === 200
              ? bodyOf(response, MAX_DESCRIPTION, `the device description at ${location}`, rejects)
              : Effect.fail(new PortMapError({ reason: "BadAnswer", detail: `${location} answered HTTP ${response.status}` }))
          )
        )),
        `fetching ${location}`
      ).pipe(
        Effect.flatMap((xml) => {
          const found = findWanService(xml, location)
          return typeof found === "string"
            ? Effect.fail(new PortMapError({ reason: "BadAnswer", detail: `${location}: ${found}` }))
            : Effect.succeed(found)
        })
      )

    const locations = yield* search(options, rejects)
    if (locations.length === 0) {
      return yield* new PortMapError({ reason: "Timeout", detail: "no UPnP gateway answered the SSDP search" })
    }
    const service = yield* Effect.firstSuccessOf(locations.map(describe))

    const call = (action: string, args: ReadonlyArray<readonly [string, string | number]>) => {
      const { body, soapAction } = soapRequest(service.serviceType, action, args)
      const request = HttpClientRequest.post(service.controlUrl).pipe(
        HttpClientRequest.setHeader("SOAPAction", soapAction),
        HttpClientRequest.bodyText(body, "text/xml; charset=\"utf-8\"")
      )
      return timed(
        Effect.scoped(client.execute(request).pipe(
          Effect.mapError(network),
          Effect.flatMap((response) => bodyOf(response, MAX_SOAP_ANSWER, `the answer to ${action}`, rejects))
        )),
        action
      ).pipe(
        Effect.flatMap((xml) => {
          const answer = decodeSoapAnswer(xml, action)
          if (typeof answer === "string") return Effect.fail(new PortMapError({ reason: "BadAnswer", detail: answer }))
          if (answer.kind === "fault") {
            return Effect.fail(
              new PortMapError({
                reason: "Refused",
                ...(answer.code === undefined ? {} : { code: answer.code }),
                detail: `the gateway refused ${action}: ${answer.code ?? "?"} ${answer.description}`.trim()
              })
            )
          }
          return Effect.succeed(answer.values)
        })
      )
    }

    const add = (protocol: "tcp" | "udp", internalPort: number, externalPort: number, lease: number) =>
      call("AddPortMapping", addPortMappingArgs({
        protocol,
        internalPort,
        externalPort: externalPort === 0 ? internalPort : externalPort,
        internalClient: options.local,
        description: options.description,
        lease
      })).pipe(Effect.as({ externalPort: externalPort === 0 ? internalPort : externalPort, lifetime: lease }))

    return {
      name: "upnp",
      map: (protocol, internalPort, externalPort, lease) =>
        add(protocol, internalPort, externalPort, lease).pipe(
          // Some routers take only permanent mappings (UPnP error 725): ask for one, and delete it on exit.
          Effect.catchIf(
            (error) => error.code === UPNP_ONLY_PERMANENT_LEASES && lease !== 0,
            () => add(protocol, internalPort, externalPort, 0)
          )
        ),
      unmap: (protocol, _internalPort, externalPort) =>
        Effect.asVoid(call("DeletePortMapping", deletePortMappingArgs(protocol, externalPort))),
      externalAddress: call("GetExternalIPAddress", []).pipe(
        Effect.flatMap((values) => {
          const address = values.get("NewExternalIPAddress")
          return address === undefined || address === ""
            ? Effect.fail(new PortMapError({ reason: "BadAnswer", detail: "GetExternalIPAddress gave no address" }))
            : Effect.succeed(address)
        })
      )
    } satisfies Method
  })
