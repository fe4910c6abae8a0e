import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { Datagram, type Endpoint } from "../Datagram.js"
import { Gateway, type Route } from "./Gateway.js"
import type { Granted, Method, MethodName } from "./Method.js"
import { GATEWAY_PORT, type MapProtocol } from "./pmp.js"
import { natPmp, pcp, type Retransmit } from "./pmpClient.js"
import { PortMapError } from "./PortMapError.js"
import { noRejects, type PortMapRejects } from "./rejects.js"
import { SSDP_GROUP } from "./upnp.js"
import { upnp } from "./upnpClient.js"

export interface PortMapperConfig {
  /** The methods tried, in order. NAT-PMP is tried only where PCP is refused as an unknown version. */
  readonly methods: ReadonlyArray<MethodName>
  /** The gateway's NAT-PMP/PCP port (5351; a fake gateway's in tests). */
  readonly gatewayPort: number
  /** Where SSDP searches go (239.255.255.250:1900; a fake IGD's address in tests). */
  readonly ssdp: Endpoint
  /** The lease asked for, in seconds. */
  readonly lease: number
  /** NAT-PMP/PCP retransmissions: 250 ms doubling, 4 sends (3.75 s for a silent gateway). */
  readonly retransmit: Retransmit
  /** How long SSDP answers are collected. */
  readonly searchWait: Duration.Duration
  readonly httpTimeout: Duration.Duration
  /** When a granted mapping is renewed, from its lifetime in seconds (0: permanent). */
  readonly renewAfter: (lifetime: number) => Duration.Duration
  /**
   * When a gateway is looked for again after none mapped our port, or a renewal failed. Not at all when there is no
   * default gateway: that is one debug line and done.
   */
  readonly retry: Schedule.Schedule<unknown>
  /** How long deleting the mappings may hold up exit. */
  readonly unmapTimeout: Duration.Duration
  /** Shown in the router's table of mappings (UPnP). */
  readonly description: string
}

/** Half the lifetime (RFC 6886 section 3.3 suggests renewing at half); a permanent mapping is checked hourly. */
export const renewAfter = (lifetime: number): Duration.Duration =>
  lifetime === 0 ? Duration.hours(1) : Duration.seconds(Math.max(30, Math.floor(lifetime / 2)))

/** Look again every 30 minutes: a router switched on later, or one that lost our mapping. */
export const retrySchedule: Schedule.Schedule<unknown> = Schedule.spaced(Duration.minutes(30))

export const defaultPortMapperConfig: PortMapperConfig = {
  methods: ["pcp", "natpmp", "upnp"],
  gatewayPort: GATEWAY_PORT,
  ssdp: SSDP_GROUP,
  lease: 3600,
  retransmit: { initial: Duration.millis(250), attempts: 4 },
  searchWait: Duration.seconds(2),
  httpTimeout: Duration.seconds(5),
  renewAfter,
  retry: retrySchedule,
  unmapTimeout: Duration.seconds(2),
  description: "bt"
}

export interface MappedPort {
  readonly protocol: MapProtocol
  readonly internalPort: number
  readonly externalPort: number
  /** Seconds granted; 0 for permanent. */
  readonly lifetime: number
}

export interface PortMapStatus {
  /** off: not asked to; searching; mapped; unavailable: no gateway mapped our port (see `error`). */
  readonly state: "off" | "searching" | "mapped" | "unavailable"
  readonly method?: MethodName
  readonly externalAddress?: string
  readonly ports: ReadonlyArray<MappedPort>
  readonly error?: string
}

/**
 * Opens our listening port on the router in front of us (PCP, NAT-PMP or UPnP IGD), keeps the lease renewed, and
 * deletes the mappings when the scope closes.
 */
export class PortMapper extends Context.Tag("bt/PortMapper")<PortMapper, {
  /** Maps `port` for TCP and UDP in the background until the scope closes, then deletes the mappings. */
  readonly map: (port: number) => Effect.Effect<void, never, Scope.Scope>
  readonly status: Effect.Effect<PortMapStatus>
  /** What was thrown away: answers from others than the gateway, misdirected SSDP answers, oversized bodies. */
  readonly rejected: Effect.Effect<Readonly<PortMapRejects>>
}>() {}

interface Current {
  readonly method: Method
  readonly ports: ReadonlyArray<MappedPort>
}

export const make = (
  options: Partial<PortMapperConfig> = {}
): Effect.Effect<PortMapper["Type"], never, Gateway | Datagram | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const config = { ...defaultPortMapperConfig, ...options }
    const context = yield* Effect.context<Gateway | Datagram | HttpClient.HttpClient>()
    const status = yield* Ref.make<PortMapStatus>({ state: "off", ports: [] })
    const current = yield* Ref.make<Option.Option<Current>>(Option.none())
    const rejects = noRejects()

    /** The first method that maps the TCP port, with that grant. */
    const discover = (route: Route, port: number): Effect.Effect<readonly [Method, Granted], PortMapError> => {
      const gateway = { host: route.gateway, port: config.gatewayPort }
      const attempt = (method: Method) =>
        Effect.map(method.map("tcp", port, port, config.lease), (granted) => [method, granted] as const)
      const viaUpnp = Effect.flatMap(
        upnp({
          ssdp: config.ssdp,
          searchWait: config.searchWait,
          httpTimeout: config.httpTimeout,
          local: route.local,
          description: config.description,
          rejects
        }),
        attempt
      )
      const viaPmp = Effect.flatMap(natPmp(gateway, config.retransmit, rejects), attempt)
      const viaPcp = Effect.flatMap(pcp(gateway, route.local, config.retransmit, rejects), attempt).pipe(
        // A NAT-PMP-only gateway answers PCP with "unsupported version": speak NAT-PMP to it.
        Effect.catchIf(
          (error) => error.reason === "Refused" && error.code === 1 && config.methods.includes("natpmp"),
          () => viaPmp
        )
      )
      const tries = [
        ...(config.methods.includes("pcp") ? [viaPcp] : config.methods.includes("natpmp") ? [viaPmp] : []),
        ...(config.methods.includes("upnp") ? [viaUpnp] : [])
      ]
      if (tries.length === 0) return Effect.fail(new PortMapError({ reason: "NoGateway", detail: "no method enabled" }))
      // Each failure is kept: the last one is what the status shows.
      return Effect.firstSuccessOf(tries).pipe(Effect.provide(context))
    }

    const unmapAll = Effect.flatMap(Ref.getAndSet(current, Option.none()), (held) =>
      Option.match(held, {
        onNone: () => Effect.void,
        onSome: ({ method, ports }) =>
          Effect.forEach(ports, (p) =>
            method.unmap(p.protocol, p.internalPort, p.externalPort).pipe(
              Effect.catchAll((error) => Effect.logDebug(`could not delete the ${p.protocol} mapping: ${error.message}`))
            ), { discard: true }).pipe(
              // Runs as a finalizer (uninterruptible): made interruptible so that the timeout can cut it short.
              Effect.interruptible,
              Effect.timeout(config.unmapTimeout),
              Effect.ignore
            )
      }))

    const fail = (error: PortMapError) =>
      Effect.zipRight(
        Ref.set(status, { state: "unavailable", ports: [], error: error.message }),
        Effect.logDebug(error.message)
      )

    /** Find a gateway, map, renew until a renewal fails. Returns "stop" when there is no gateway at all. */
    const cycle = (port: number): Effect.Effect<"stop" | "again"> =>
      Effect.gen(function*() {
        const route = yield* Effect.provide(Effect.flatMap(Gateway, (g) => g.route), context)
        if (Option.isNone(route)) {
          yield* fail(new PortMapError({ reason: "NoGateway", detail: "no default gateway, so no port mapping" }))
          return "stop" as const
        }
        yield* Ref.update(status, (s) => ({ ...s, state: "searching" as const }))
        const found = yield* Effect.either(discover(route.value, port))
        if (found._tag === "Left") {
          yield* fail(found.left)
          return "again" as const
        }
        const [method, tcp] = found.right
        const grant = (protocol: MapProtocol, g: Granted): MappedPort => ({
          protocol,
          internalPort: port,
          externalPort: g.externalPort,
          lifetime: g.lifetime
        })
        const ports: Array<MappedPort> = [grant("tcp", tcp)]
        const udp = yield* Effect.either(method.map("udp", port, tcp.externalPort, config.lease))
        if (udp._tag === "Right") ports.push(grant("udp", udp.right))
        else yield* Effect.logDebug(`UDP port not mapped: ${udp.left.message}`)
        const external = tcp.externalAddress ??
          Option.getOrUndefined(yield* Effect.option(method.externalAddress))
        yield* Ref.set(current, Option.some({ method, ports }))
        const publish = (list: ReadonlyArray<MappedPort>) =>
          Ref.set(status, {
            state: "mapped",
            method: method.name,
            ports: list,
            ...(external === undefined ? {} : { externalAddress: external })
          })
        yield* publish(ports)
        yield* Effect.logDebug(`mapped port ${port} through ${method.name}${external === undefined ? "" : ` (${external})`}`)

        // Renew each mapping before its lease runs out, until the gateway stops answering.
        let held: ReadonlyArray<MappedPort> = ports
        while (true) {
          yield* Effect.sleep(config.renewAfter(Math.min(...held.map((p) => p.lifetime))))
          const renewed = yield* Effect.either(Effect.forEach(held, (p) =>
            Effect.map(method.map(p.protocol, p.internalPort, p.externalPort, config.lease), (g) => ({
              protocol: p.protocol,
              internalPort: p.internalPort,
              externalPort: g.externalPort,
              lifetime: g.lifetime
            }))))
          if (renewed._tag === "Left") {
            yield* Ref.set(current, Option.none())
            yield* fail(renewed.left)
            return "again" as const
          }
          held = renewed.right
          yield* Ref.set(current, Option.some({ method, ports: held }))
          yield* publish(held)
        }
      })

    return PortMapper.of({
      status: Ref.get(status),
      rejected: Effect.sync(() => ({ ...rejects })),
      map: (port) =>
        cycle(port).pipe(
          Effect.repeat({ schedule: config.retry, while: (result) => result === "again" }),
          Effect.annotateLogs("module", "portmap"),
          Effect.onExit(() => unmapAll),
          Effect.forkScoped,
          Effect.asVoid
        )
    })
  })

export const layerConfig = (
  config: Partial<PortMapperConfig> = {}
): Layer.Layer<PortMapper, never, Gateway | Datagram | HttpClient.HttpClient> => Layer.effect(PortMapper, make(config))

export const layer = layerConfig()

/** No port mapping (`--no-port-mapping`, tests): the status stays "off". */
export const layerOff: Layer.Layer<PortMapper> = Layer.succeed(
  PortMapper,
  PortMapper.of({
    map: () => Effect.void,
    status: Effect.succeed({ state: "off", ports: [] }),
    rejected: Effect.sync(noRejects)
  })
)
