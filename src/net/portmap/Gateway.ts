import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** The router in front of us and our address on the link to it. */
export interface Route {
  /** The default gateway's IPv4 address. */
  readonly gateway: string
  /** Our IPv4 address on the interface that reaches it: where mappings point. */
  readonly local: string
}

/**
 * Where the default gateway is: a platform piece (Linux reads /proc/net/route; see `NodeGateway`). None when there is
 * no default route.
 */
export class Gateway extends Context.Tag("bt/Gateway")<Gateway, {
  readonly route: Effect.Effect<Option.Option<Route>>
}>() {}

/** A fixed route, for tests (a fake gateway on 127.0.0.1) and for users who name their router. */
export const layerFixed = (route: Route): Layer.Layer<Gateway> =>
  Layer.succeed(Gateway, Gateway.of({ route: Effect.succeed(Option.some(route)) }))

/** No gateway at all. */
export const layerNone: Layer.Layer<Gateway> = Layer.succeed(Gateway, Gateway.of({ route: Effect.succeedNone }))

/**
 * The default IPv4 route in the text of Linux's /proc/net/route: the interface and gateway of the up, gatewayed
 * route to 0.0.0.0/0 with the lowest metric. Addresses there are hex in host (little-endian) byte order.
 */
export const parseProcNetRoute = (text: string): { readonly iface: string; readonly gateway: string } | undefined => {
  let best: { iface: string; gateway: string; metric: number } | undefined
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 8) continue
    const [iface, destination, gateway, flags, , , metric, mask] = fields as [string, string, string, string, string, string, string, string]
    const up = (parseInt(flags, 16) & 0x3) === 0x3
    if (!up || destination !== "00000000" || mask !== "00000000" || !/^[0-9A-Fa-f]{8}$/.test(gateway)) continue
    const value = parseInt(gateway, 16)
    if (value === 0) continue
    const address = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24].join(".")
    const m = Number(metric)
    if (best === undefined || m < best.metric) best = { iface, gateway: address, metric: m }
  }
  return best === undefined ? undefined : { iface: best.iface, gateway: best.gateway }
}
